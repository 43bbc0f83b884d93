//go:build !aegis_runner

// Until the runner builds, aegis-mcp refuses to start rather than run
// without one. backend.go (build tag aegis_runner) is the real wiring: once
// the runner builds, delete this file and the aegis_runner build lines of
// backend.go, real_test.go and mcpserver/aegisbackend/backend.go.

package main

import (
	"errors"
	"io"

	"github.com/aegisdev/aegis/mcpserver"
)

// openBackend reports that this build has no runner.
func openBackend(policyPath, auditLog string, stderr io.Writer) (mcpserver.Backend, error) {
	return nil, errors.New("aegis-mcp: the runner is not wired into this build yet")
}

package main

import (
	"errors"
	"io"

	"github.com/aegisdev/aegis/mcpserver"
)

// openBackend connects the server to the policy engine and the runner.
func openBackend(policyPath, auditLog string, stderr io.Writer) (mcpserver.Backend, error) {
	return nil, errors.New("aegis-mcp: the runner is not wired into this build yet")
}

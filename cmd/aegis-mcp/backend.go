package main

import (
	"io"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/aegisbackend"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
)

// openBackend connects the server to the policy engine and the runner.
func openBackend(policyPath, auditLog string, stderr io.Writer) (mcpserver.Backend, error) {
	p, err := mcppolicy.LoadPolicy(policyPath, auditLog, stderr)
	if err != nil {
		return nil, err
	}
	return aegisbackend.New(p, auditLog), nil
}

package main

import (
	"log/slog"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/aegisbackend"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
)

// openBackend connects the server to the policy engine and the runner.
func openBackend(policyPath, auditLog string, logger *slog.Logger) (mcpserver.Backend, error) {
	p, err := mcppolicy.LoadPolicy(policyPath, auditLog, logger)
	if err != nil {
		return nil, err
	}
	return aegisbackend.New(p, auditLog), nil
}

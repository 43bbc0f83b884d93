// Package aegisbackend implements mcpserver.Backend with the policy engine
// and the run pipeline (package runner), so aegis-mcp runs a script exactly
// as `aegis run` does. The read-only half comes from package mcppolicy.
//
// A Backend is one MCP session (one aegis-mcp process, one stdio
// connection) and keeps the session's runner.Ledger: the leakage budget of
// [runtime].max_secret_dependent_aborts is counted over the session's runs
// in memory, in addition to the audit log, so that neither moving the log
// aside during the session nor starting a new session over the same log
// resets it, and concurrent tools/call requests cannot overdraw it.
package aegisbackend

import (
	"context"
	"time"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// explainTimeout bounds the DNS lookups of an aegis_explain about a URL.
const explainTimeout = 10 * time.Second

// Backend runs scripts with the runner under one loaded policy.
type Backend struct {
	policy   *policy.Policy
	auditLog string
	summary  mcpserver.PolicySummary
	ledger   *runner.Ledger
}

// New returns a Backend for a loaded policy. auditLog "" keeps the
// runner's default (.aegis/audit.jsonl next to the policy).
func New(p *policy.Policy, auditLog string) *Backend {
	return &Backend{policy: p, auditLog: auditLog, summary: mcppolicy.Summary(p), ledger: runner.NewLedger()}
}

// Run implements mcpserver.Backend.
func (b *Backend) Run(ctx context.Context, req mcpserver.RunRequest) mcpserver.RunResult {
	res := runner.Run(ctx, runner.Options{
		Policy:   b.policy,
		AuditLog: b.auditLog,
		Confirm:  req.Confirm,
		Ledger:   b.ledger,
	}, runner.Request{
		Script:   []byte(req.Script),
		Filename: req.Filename,
		TaskID:   req.TaskID,
		Inputs:   req.Inputs,
	})
	return mcpserver.RunResult{
		ExitKind: res.ExitKind, ExitCode: res.ExitCode,
		Stdout: res.Stdout, Error: res.Error, Calls: res.Calls,
	}
}

// PolicySummary implements mcpserver.Backend.
func (b *Backend) PolicySummary() mcpserver.PolicySummary { return b.summary }

// ToolRouting implements mcpserver.Backend.
func (b *Backend) ToolRouting() []mcpserver.ToolRecord { return mcppolicy.Routing(b.policy) }

// Explain implements mcpserver.Backend.
func (b *Backend) Explain(capability string, target []string) (mcpserver.ExplainResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), explainTimeout)
	defer cancel()
	return mcppolicy.Explain(ctx, b.policy, capability, target)
}

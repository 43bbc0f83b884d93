package mcpserver

import "context"

// Backend is everything the MCP server needs from the rest of Aegis. The
// server owns the protocol, the tool surface and user approval; the backend
// owns policy decisions and script execution. Keeping the interface this
// small lets the whole server be tested against a fake (package mcptest)
// and wired to the real runner by a thin adapter.
type Backend interface {
	// Run executes one Starlark script under the policy, exactly as
	// `aegis run` would. Cancelling ctx must stop the script promptly.
	// req.Confirm answers requires_approval prompts; it is never nil.
	Run(ctx context.Context, req RunRequest) RunResult
	// PolicySummary describes the effective policy; it must not change
	// for the lifetime of the backend (tool annotations are derived from it).
	PolicySummary() PolicySummary
	// Explain returns the policy's decision for one capability call. An
	// error means the question itself was malformed (for example an
	// unknown capability) and its text should teach the fix.
	Explain(capability string, target []string) (ExplainResult, error)
	// ToolRouting returns the policy's [tools.X] records in a stable order.
	ToolRouting() []ToolRecord
}

// ConfirmFunc asks whether one requires_approval call may go ahead.
// target is a short human summary of the call ("write /abs/path (12
// bytes)"). A false answer with a nil error is a denial.
type ConfirmFunc func(ctx context.Context, capability, target string) (bool, error)

// RunRequest mirrors runner.Request plus the approval callback that the
// server chooses per call (elicitation, auto-allow or auto-deny).
type RunRequest struct {
	Script   string
	Filename string            // shown in error positions, e.g. "aegis_run.star"
	TaskID   string            // recorded in the audit log
	Inputs   map[string]string // public string globals predeclared for the script
	Confirm  ConfirmFunc
}

// Exit kinds reported by a run. They match runner.Result.ExitKind; the
// server passes unknown kinds through untouched.
const (
	ExitOK               = "ok"
	ExitScriptError      = "script_error"
	ExitPolicyDenied     = "policy_denied"
	ExitVerifierRejected = "verifier_rejected"
	ExitConfirmDenied    = "confirm_denied"
	ExitIOError          = "io_error"
	ExitLimit            = "limit"
	ExitFlowDenied       = "flow_denied"
)

// RunResult mirrors runner.Result. Stdout and Error are already redacted
// by the runner: a local-only value never appears in them.
type RunResult struct {
	ExitKind string
	ExitCode int
	Stdout   string
	Error    string
	Calls    int
}

// PolicySummary describes the effective policy: aegis_policy returns a
// compact form of it by default and all of it on request, and host-config
// derives the host's permissions from it.
type PolicySummary struct {
	Source           string     `json:"source"`              // policy file path, or "secure-defaults"
	Name             string     `json:"name"`                // the policy's name key, may be empty
	Description      string     `json:"description"`         // the policy's description key, may be empty
	Capabilities     []string   `json:"capabilities"`        // enabled capabilities, sorted
	RequiresApproval []string   `json:"requires_approval"`   // capabilities that need a human yes
	Rules            []RuleList `json:"rules,omitempty"`     // the non-empty list keys of the effective policy, in schema order
	Limits           []Limit    `json:"limits,omitempty"`    // the [runtime] limits in effect
	Effective        any        `json:"effective,omitempty"` // the effective policy with provenance (`aegis policy show --json`), a JSON object
}

// RuleList is one list key of the effective policy, without provenance.
type RuleList struct {
	Key     string   `json:"key"` // as the docs write it: "[filesystem].read_allow"
	Entries []string `json:"entries"`
}

// Limit is one [runtime] limit in effect.
type Limit struct {
	Key   string `json:"key"` // "max_seconds"
	Value any    `json:"value"`
}

// ExplainResult is one policy decision with its reason.
type ExplainResult struct {
	Capability string   `json:"capability"`
	Target     []string `json:"target"`
	Allowed    bool     `json:"allowed"`
	Rule       string   `json:"rule"`    // the rule that decided, e.g. `[filesystem].deny "**/.env"`
	Section    string   `json:"section"` // the policy section of that rule
	Reason     string   `json:"reason"`
	Hint       string   `json:"hint"` // for a denial: how to allow it
}

// ToolRecord is one [tools.X] routing record of the policy.
type ToolRecord struct {
	Name          string   `json:"name"`
	Capabilities  []string `json:"capabilities"`
	BackendURL    string   `json:"backend_url"`
	BackendMethod string   `json:"backend_method"`
	Description   string   `json:"description"`
	Allowed       bool     `json:"allowed"` // every listed capability is enabled
	Reason        string   `json:"reason"`  // why not, when Allowed is false
}

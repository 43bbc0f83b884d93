// Package builtins is everything an Aegis script can do to the world: the
// predeclared modules fs, net, env and subprocess (capabilities, checked
// against the policy at every call) and json, base64, hex, hmac, sha256,
// struct, time and math (pure helpers). The capability modules are built
// from the policy's capability table (capabilities.go). Each builtin is an
// entry of Rules, which states its label rule; coverage tests check that
// every member of every module has one, and that the capability modules are
// exactly the table.
//
// A capability call follows one protocol (call.go), in this order:
//
//	count      [runtime] call limits (max_total_calls, max_calls_per_capability)
//	decide     policy.Decide on the target: denied -> *policy.DeniedError
//	flow       labelled inputs or pc reaching a public target -> *starlark.FlowError
//	budget     a source whose result would be labelled: Host.Gate (the
//	           leakage budget) -> *BudgetError before anything is read
//	confirm    requires_approval -> Host.Confirm: refused -> *ConfirmDeniedError
//	audit      an audit.Event: "denied" at whichever step refused, else
//	           "allowed", appended before the effect (never an unrecorded act)
//	effect     builtins/effect performs it on what the policy vetted; a
//	           failure appends a second, "errored" event
//
// Labels. Sources (a local_only_read file, a local_only_vars variable, a
// local_only_hosts response, a local_only_commands output, the output of any
// command whose argv names a local-only path, the names in a local-only
// directory) give their results the principal's label. Sinks (fs.write,
// fs.delete, every net verb, subprocess.exec) accept labelled data, or a
// labelled pc, only when the target is local-only too: the local-only zone
// (paths both local_only_read and write_allow), a local_only_hosts host, a
// local_only_commands command. Everything a builtin reports (error messages,
// audit targets) that depends on labelled data is labelled or redacted.
//
// The invariant: no builtin returns, prints, logs or sends a labelled value
// without its label, and no labelled value reaches a public target.
package builtins

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// Host is the per-run state the capability builtins share: the policy, where
// audit events go, how to ask for approval and the call counters. Make one
// per run; its builtins must run on that run's thread only.
type Host struct {
	Ctx      context.Context
	Policy   *policy.Policy
	Registry *labels.Registry // interns principal names into label bits for this run
	Audit    audit.Sink       // nil: no audit
	TaskID   string

	// Confirm asks a human to approve a requires_approval call; nil denies.
	// target is redacted when it depends on labelled data.
	Confirm func(ctx context.Context, capability, target string) (bool, error)

	// Environ is the process environment ("NAME=value", os.Environ()): what
	// env.read reads and what a command's environment is filtered from.
	Environ []string

	// Jail, when non-nil, confines a command ([subprocess].sandbox, see
	// runner/jail.go) before it runs: it sets c.Jail, and may replace
	// c.Path with what a version manager's shim resolves to. labelled says
	// whether the command's output will carry a label (it then gets no
	// network and writes only inside the local-only zone); when it will
	// not, the jail must hide local-only files. An error stops the call.
	Jail func(c *effect.Command, labelled bool) error

	HTTPTimeout    time.Duration // per request; 0 = DefaultHTTPTimeout
	CommandTimeout time.Duration // per command; 0 = DefaultCommandTimeout

	MaxResponseBytes int64 // net.* body cap
	MaxCommandOutput int64 // subprocess stdout/stderr cap, each
	MaxReadBytes     int64 // fs.read cap
	MaxMemoryMB      int64 // [runtime].max_memory_mb, for the message of a host charge past it (memory.go)

	MaxTotalCalls         int64                       // [runtime].max_total_calls; 0 = none
	MaxCallsPerCapability map[policy.Capability]int64 // [runtime].max_calls_per_capability

	// Gate, when set, is asked before every read of a local-only source
	// (the leakage budget, see SourceGate); nil admits every read.
	Gate SourceGate

	mu    sync.Mutex
	total int64
	per   map[policy.Capability]int64
	calls int64 // capability calls attempted outside local-only-dependent code
}

// Calls returns the number of capability calls the script attempted while
// its pc was public. Calls made inside code that runs only depending on
// local-only data are not counted: how many there were is local-only too,
// and the count is shown to whoever ran the script. (They still count
// against the call limits and are all in the audit log.)
func (h *Host) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int(h.calls)
}

// SourceGate is the leakage budget as the builtins see it (the runner's
// budget, docs/ifc-model.md "The leakage budget"). Both methods are called on
// the run's thread.
type SourceGate interface {
	// Admit is asked before anything is read from a source whose result
	// would carry principals. labelled says the read is decided by
	// local-only data (the call runs under a labelled pc, or its target was
	// computed from local-only data): a principal the run has not read yet
	// must then be refused with a *starlark.FlowError, since which
	// principals a run has read must not depend on local-only data. A *BudgetError refuses a
	// principal whose budget is spent; any other error is a failure to
	// read the ledger.
	Admit(principals []string, labelled bool) error
	// Effect is asked before every capability call made under a public pc.
	// After a local-only read such calls are public progress that an abort
	// decided by local-only data would reveal; a *BudgetError refuses the
	// call when that could exceed the budget.
	Effect() error
	// Release charges a release of local-only data ([declassify]) bits to
	// every one of principals, at once, after the source was admitted and
	// before the result is computed. A *BudgetError (with Release set)
	// refuses it when the bits would not fit what [runtime].max_leak_bits
	// leaves after every charge and every run's reservation; any other
	// error is a failure to read the ledger.
	Release(principals []string, bits int64) error
}

// Default caps when a policy sets none.
const (
	DefaultMaxResponseBytes = 10 << 20
	DefaultMaxCommandOutput = 10 << 20
	DefaultMaxReadBytes     = 64 << 20
)

// Modules returns the predeclared names a script sees.
func (h *Host) Modules() starlark.StringDict {
	d := starlark.StringDict{
		"declassify": module("declassify", h.declassifyMembers()),
		"json":       jsonModule(),
		"base64":     module("base64", base64Members()),
		"hex":        module("hex", hexMembers()),
		"hmac":       module("hmac", hmacMembers()),
		"sha256":     sha256Builtin(),
		"time":       timeModule(),
		"math":       mathModule(),
		"struct":     starlark.NewLabelAwareBuiltin("struct", structMake),
	}
	for _, name := range policy.CapabilityModules() {
		d[name] = h.capabilityModule(name)
	}
	return d
}

// ModuleNames returns the names Modules predeclares, sorted: what a script
// can use without import (errors and help texts name them from here).
func ModuleNames() []string {
	return slices.Sorted(maps.Keys((&Host{}).Modules()))
}

func module(name string, members starlark.StringDict) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: name, Members: members}
}

// label returns the label of a principal name ("" is public).
func (h *Host) label(principal string) labels.Label {
	if principal == "" {
		return labels.Public
	}
	return h.Registry.Principal(principal)
}

// sourceLabel is the label a local-only decision gives what the call reads:
// every principal the policy named (a command's output may carry the
// command's and the files' its argv names).
func (h *Host) sourceLabel(d policy.Decision, fallback string) labels.Label {
	if !d.LocalOnly {
		return labels.Public
	}
	l := h.principals(d.Principals)
	if l == labels.Public {
		l = h.label(fallback)
	}
	return l
}

// principals joins the labels of principal names.
func (h *Host) principals(names []string) labels.Label {
	var l labels.Label
	for _, n := range names {
		l |= h.label(n)
	}
	return l
}

func orDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

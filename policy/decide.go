package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aegisdev/aegis/internal/quote"
)

// Decision is the answer of the gate for one call: allowed or not, the rule
// that decided, and why in words an operator can act on.
type Decision struct {
	Allowed    bool       `json:"allowed"`
	Capability Capability `json:"capability"`
	Target     string     `json:"target"`

	// Rule is the entry that decided, as written ("**/.env"); Section is its
	// list ("[filesystem].deny"); Source where it came from
	// ("preset secure-defaults", "aegis.toml:12"). All three are empty when
	// the call was denied because nothing allowed it.
	Rule    string `json:"rule,omitempty"`
	Section string `json:"section,omitempty"`
	Source  string `json:"source,omitempty"`

	// Reason is one sentence naming the target and the rule. Hint, for a
	// denial, says how to allow the call.
	Reason string `json:"reason"`
	Hint   string `json:"hint,omitempty"`

	// LocalOnly is set when the result carries local-only data; Principals
	// are the labels (labels.File("secrets/**"), labels.Cmd("pass"), ...)
	// the interpreter must attach to it. Principal is the first of them.
	LocalOnly  bool     `json:"local_only,omitempty"`
	Principal  string   `json:"principal,omitempty"`
	Principals []string `json:"principals,omitempty"`

	// Addr is the vetted address of a network decision: the HTTP layer must
	// dial exactly it, so DNS cannot change between check and connect.
	Addr netip.AddrPort `json:"addr,omitzero"`

	// ResolvedPath is the real path of a filesystem target, or the real
	// path of the program for subprocess.exec. The builtin must act on it,
	// not on the spelling the script gave.
	ResolvedPath string `json:"resolved_path,omitempty"`

	// Traversed names the principals of the local_only_read paths that
	// resolving a filesystem target examined (a component inside one, a
	// symlink there, a ".." out of one): "zone/x/../../public.txt" resolves,
	// or not, depending on what zone/x is, and a script can shape that (what
	// it wrote in the local-only zone). The decision, and every outcome of
	// the effect (its result, its error, whether it happened), depend on
	// what is there: the caller labels them all with these principals.
	Traversed []string `json:"traversed,omitempty"`
	// Steered is the part of Traversed that the resolution reached only
	// because of what another local-only path held (a symlink there, a
	// ".." out of it): unlike the rest, which of these were examined is not
	// decided by the spelling alone. Decisive names the local-only paths
	// whose contents so turned the resolution. When both are empty the
	// resolution went where the spelling alone leads, and the decision
	// (allowed or not, by which rule) depends on the spelling alone; the
	// effect's outcome still depends on everything in Traversed.
	Steered  []string `json:"steered,omitempty"`
	Decisive []string `json:"decisive,omitempty"`

	// RequiresApproval is set on an allowed decision whose capability is in
	// requires_approval.
	RequiresApproval bool `json:"requires_approval,omitempty"`

	// PreApproved is the [subprocess].approve_prefixes entry that answers
	// the approval question of a subprocess.exec decision that requires
	// approval: the caller need not ask.
	PreApproved *Entry `json:"pre_approved,omitempty"`
	// SuggestedPrefix, on a subprocess.exec decision that requires approval
	// and is not pre-approved, is the approve_prefixes entry that would
	// cover it ("go test"): what to tell an operator who wants it unasked.
	SuggestedPrefix string `json:"suggested_prefix,omitempty"`

	// Bits is, for a release ([declassify], DecideRelease), what each
	// release is charged to every principal (count: with its default
	// maximum).
	Bits int64 `json:"bits,omitempty"`
}

// Err returns nil for an allowed decision and its Denial otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return d.Denial()
}

// Denial is the *DeniedError of a decision: its capability, target, rule,
// reason and hint.
func (d Decision) Denial() *DeniedError {
	return &DeniedError{Capability: d.Capability, Target: d.Target, Rule: d.Rule, Section: d.Section, Reason: d.Reason, Hint: d.Hint}
}

func (d Decision) String() string {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	s := verdict + ": " + d.Reason
	if d.Hint != "" {
		s += "\nhint: " + d.Hint
	}
	return s
}

// addPrincipal records a label on the decision, once.
func (d *Decision) addPrincipal(name string) {
	for _, n := range d.Principals {
		if n == name {
			return
		}
	}
	d.LocalOnly = true
	d.Principals = append(d.Principals, name)
	if d.Principal == "" {
		d.Principal = name
	}
}

// by records the rule that decided.
func (d *Decision) by(e Entry, section string) {
	d.Rule, d.Section, d.Source = e.Value, section, e.From.String()
}

// Decide is the gate: may a script use capability c on target? The target
// is a path for fs.*, a URL for net.*, a variable name for env.read and the
// whole argv for subprocess.exec. Decide never panics; a malformed target is
// a denial that says what is malformed.
//
// Network decisions resolve the host with the policy's Resolver, bounded by
// [network].timeout_seconds; use DecideContext to pass a context.
func (p *Policy) Decide(c Capability, target ...string) Decision {
	if !c.IsNet() {
		// Only network decisions block; the others need no deadline.
		return p.DecideContext(context.Background(), c, target...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p.netTimeoutSeconds)*time.Second)
	defer cancel()
	return p.DecideContext(ctx, c, target...)
}

// DecideContext is Decide with a context bounding DNS resolution.
func (p *Policy) DecideContext(ctx context.Context, c Capability, target ...string) (d Decision) {
	defer func() {
		// Fail closed: a bug in a matcher must deny, never allow. The fuzz
		// targets treat this reason as a failure.
		if r := recover(); r != nil {
			d = Decision{Capability: c, Target: strings.Join(target, " "),
				Reason: fmt.Sprintf("%s denied: %s: %v", c, internalErrorReason, r)}
		}
	}()
	d = p.decide(ctx, c, target)
	if d.Allowed && p.approval[c] {
		d.RequiresApproval = true
		if c == SubprocessExec {
			if d.PreApproved = p.preApproval(target, d.ResolvedPath); d.PreApproved == nil {
				d.SuggestedPrefix = suggestPrefix(d.Rule, target)
			}
		}
	}
	return d
}

// internalErrorReason marks a decision that hit a bug; it is always a denial.
const internalErrorReason = "internal error in the policy engine"

func (p *Policy) decide(ctx context.Context, c Capability, target []string) Decision {
	info := c.info()
	if info == nil {
		return Decision{Capability: c, Target: strings.Join(target, " "),
			Reason: fmt.Sprintf("unknown capability %q", c), Hint: capabilityHint(string(c))}
	}
	if why := info.targetCountProblem(target); why != "" {
		return Decision{Capability: c, Target: strings.Join(target, " "),
			Reason: fmt.Sprintf("%s denied: %s", c, why), Hint: info.Target.hint()}
	}
	switch info.Section {
	case SectionFilesystem:
		return p.decideFS(c, target[0])
	case SectionNetwork:
		return p.decideNet(ctx, c, target[0])
	case SectionEnvironment:
		return p.decideEnv(target[0])
	case SectionSubprocess:
		return p.decideExec(target)
	}
	// A table entry whose section has no rules here: deny, loudly.
	return Decision{Capability: c, Target: strings.Join(target, " "),
		Reason: fmt.Sprintf("%s denied: %s: no rules for [%s]", c, internalErrorReason, info.Section)}
}

// targetCountProblem says what is wrong with the number of targets given
// for the capability, or "": one target, or for subprocess.exec the whole
// argv (whose emptiness decideExec reports).
func (i *CapabilityInfo) targetCountProblem(target []string) string {
	switch {
	case i.Target == TargetArgv:
		return ""
	case len(target) == 0:
		return "no target given"
	case len(target) > 1:
		return fmt.Sprintf("it takes one target, got %d", len(target))
	}
	return ""
}

// shown renders a target for a message: quoted, and cut if huge (at a
// rune boundary).
func shown(s string) string {
	if p, cut := quote.Prefix(s, 200); cut {
		s = p + "..."
	}
	return strconv.Quote(s)
}

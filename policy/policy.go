package policy

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies
// it; tests and the HTTP layer inject fakes with WithResolver.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is a loaded, validated and compiled policy. It is immutable after
// load and safe for concurrent use.
type Policy struct {
	path     string // absolute policy file path, "" for presets and LoadBytes
	name     string
	root     string // canonical
	home     string // canonical, "" when unknown
	auditLog string // canonical
	spec     *spec  // the effective (merged) layer, for Describe

	fsDeny, fsRead, fsLocal, fsWrite, fsDelete []pathRule

	// The allow lists of each fs capability (its Grants keys in the
	// capability table), local-only first (see allowLists).
	fsAllow map[Capability][]*[]pathRule

	netAllow                    map[Capability][]hostRule
	netLocal, netDeny           []hostRule
	denyIPs                     []ipRule
	netTimeoutSeconds           int64
	envAllow, envLocal, envDeny []nameRule
	cmdAllow, cmdLocal, cmdDeny []cmdRule
	denyArgs                    []argRule
	approvePrefixes             []approveRule
	sandbox, network            string

	protected []string // real paths no subprocess argument may name

	caps     []Capability
	approval map[Capability]bool
	runtime  RuntimeLimits
	tools    map[string]ToolRecord
	releases []releaseRule // [declassify]
	// transcript is the real path of [runtime].transcript, "" when unset.
	transcript string

	resolver Resolver
	lookPath func(string) (string, error)
}

// Path returns the absolute path of the policy file, or "" for a preset or
// a policy loaded from bytes.
func (p *Policy) Path() string { return p.path }

// Root returns the canonical directory relative patterns and relative
// targets are anchored at.
func (p *Policy) Root() string { return p.root }

// Name returns the policy's name: its name key, or the preset's name.
func (p *Policy) Name() string { return p.name }

// AuditLog returns the canonical audit log path the loader guarded.
func (p *Policy) AuditLog() string { return p.auditLog }

// Sandbox returns the [subprocess].sandbox mode ("auto" when unset).
func (p *Policy) Sandbox() string { return p.sandbox }

// NetTimeoutSeconds returns [network].timeout_seconds (default 30).
func (p *Policy) NetTimeoutSeconds() int64 { return p.netTimeoutSeconds }

// Capabilities returns the enabled capabilities, in display order. A
// capability is enabled when a section grants something for it; the set is
// what a tool record or a static check may rely on. Decide still judges
// every target.
func (p *Policy) Capabilities() []Capability {
	out := make([]Capability, len(p.caps))
	copy(out, p.caps)
	return out
}

// Enabled reports whether c is among Capabilities.
func (p *Policy) Enabled(c Capability) bool {
	for _, k := range p.caps {
		if k == c {
			return true
		}
	}
	return false
}

// RequiresApproval reports whether calls to c must be confirmed by the
// operator (requires_approval) before they run.
func (p *Policy) RequiresApproval(c Capability) bool { return p.approval[c] }

// Runtime returns the [runtime] limits, with defaults for unset keys.
func (p *Policy) Runtime() RuntimeLimits {
	r := p.runtime
	r.MaxCallsPerCapability = make(map[Capability]int64, len(p.runtime.MaxCallsPerCapability))
	for k, v := range p.runtime.MaxCallsPerCapability {
		r.MaxCallsPerCapability[k] = v
	}
	return r
}

func defaultResolver() Resolver { return net.DefaultResolver }

func defaultLookPath(name string) (string, error) { return exec.LookPath(name) }

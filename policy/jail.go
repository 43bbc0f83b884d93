package policy

import (
	"strings"

	"github.com/aegisdev/aegis/internal/subpath"
)

// The jail's view of a policy: what a subprocess jail (runner/jail.go)
// needs to confine a command, by access class, in the policy's own
// anchoring (the patterns' literal directory parts, already canonical), so
// that no caller re-parses entries or re-implements anchoring.

// Sandbox modes ([subprocess].sandbox).
const (
	SandboxAuto     = "auto"     // bwrap when it works here, else Landlock, else none (with a warning)
	SandboxBwrap    = "bwrap"    // bubblewrap, or the run fails
	SandboxLandlock = "landlock" // Landlock, or the run fails
	SandboxNone     = "none"     // no jail: allowed programs see the whole machine
)

// sandboxModes are the accepted [subprocess].sandbox values.
var sandboxModes = [...]string{SandboxAuto, SandboxBwrap, SandboxLandlock, SandboxNone}

// Network stances of a jailed command ([subprocess].network).
const (
	NetworkNone = "none" // a network namespace of its own: loopback only, nothing reaches the host's
	NetworkHost = "host" // the host's network, unfiltered: deny_ips and the host lists do not apply
)

var networkModes = [...]string{NetworkNone, NetworkHost}

// sandboxRank orders modes for merging: a file cannot replace an inherited
// mode with a weaker one.
func sandboxRank(mode string) int {
	switch mode {
	case SandboxNone:
		return 0
	case SandboxAuto:
		return 1
	}
	return 2
}

// Area is a place named by a path pattern, as the jail sees it: every path
// the pattern matches is Root or lies under it. Whole says the pattern
// matches Root and everything under it ("dir/**", or any literal deny
// entry); otherwise Match tells which paths at or under Root it matches
// (for a literal pattern, Root alone).
type Area struct {
	Root  string
	Whole bool
	rule  *pathRule
}

// Match reports whether the clean absolute path p is matched by the
// pattern the area comes from (for a Whole area: p is Root or under it).
func (a Area) Match(p string) bool {
	if a.Whole {
		return subpath.Within(p, a.Root)
	}
	return a.rule != nil && a.rule.match(p)
}

// JailView is a policy's paths by access class and its network stance.
// Read, Write and LocalOnly over-approximate (a jail binds whole
// directories); Zone under-approximates (a labelled command may write there,
// so everything in it must be local-only).
type JailView struct {
	Sandbox string // [subprocess].sandbox ("auto" when unset)
	Network string // [subprocess].network ("none" when unset)

	Read      []Area // read_allow
	Write     []Area // write_allow and delete_allow
	LocalOnly []Area // local_only_read: hidden from commands whose output is public
	Deny      []Area // [filesystem].deny: hidden from every command
	// Zone holds the directories and files that are both writable and
	// entirely local-only (a literal or "dir/**" local_only_read entry
	// overlapping a write or delete entry; the deeper of the two).
	Zone []string
	// Protected are the policy file and the audit log the policy guards:
	// never writable, and the audit log never visible.
	Protected []string
	Home      string // canonical home directory, "" when unknown
}

// Jail returns the policy's view for a subprocess jail.
func (p *Policy) Jail() JailView {
	v := JailView{Sandbox: p.sandbox, Network: p.network, Home: p.home}
	areas := func(rules ...[]pathRule) []Area {
		var out []Area
		for _, rs := range rules {
			for i := range rs {
				out = append(out, rs[i].area())
			}
		}
		return out
	}
	v.Read = areas(p.fsRead)
	v.Write = areas(p.fsWrite, p.fsDelete)
	v.LocalOnly = areas(p.fsLocal)
	v.Deny = areas(p.fsDeny)
	v.Protected = append([]string(nil), p.protected...)
	for _, l := range v.LocalOnly {
		if !l.Whole {
			continue
		}
		for _, w := range v.Write {
			switch {
			case subpath.Within(w.Root, l.Root):
				v.Zone = append(v.Zone, w.Root)
			case subpath.Within(l.Root, w.Root):
				v.Zone = append(v.Zone, l.Root)
			}
		}
	}
	return v
}

// area is the rule as the jail sees it: the literal part of its anchored
// glob, cut at the last '/' before the first wildcard.
func (r *pathRule) area() Area {
	a := Area{rule: r}
	switch {
	case r.literal:
		// A literal pattern matches exactly its path, and for a tree (deny,
		// "dir/**") everything below.
		a.Root, a.Whole = unescapeGlob(r.glob), r.tree
	default:
		a.Root = r.prefix
		if a.Root == "" {
			a.Root = "/"
		}
		a.Root = unescapeGlob(a.Root)
	}
	return a
}

// unescapeGlob undoes escapeGlob on a literal pattern part.
func unescapeGlob(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// alwaysJailed reports whether every command runs in a jail: the sandbox is
// named explicitly, so a run where it cannot be set up fails instead of
// running unjailed ("auto" may fall back to none).
func (p *Policy) alwaysJailed() bool {
	return p.sandbox == SandboxBwrap || p.sandbox == SandboxLandlock
}

// Network returns the [subprocess].network stance ("none" when unset).
func (p *Policy) Network() string { return p.network }

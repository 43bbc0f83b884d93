package runner

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/policy"
)

// newJail prepares [subprocess].sandbox = "bwrap": it checks that bwrap can
// create a jail here (failing the run rather than running unjailed) and
// returns the builtins.Host.Jail function. A command sees the system's
// binaries and libraries, the directories the policy's path lists name
// (read-only for read lists, read-write for write and delete lists) and the
// network only if the policy allows some host.
//
// Two refinements keep local-only files from escaping through a command's
// side effects, which no label can follow:
//   - a command whose output is public does not see local_only_read paths
//     at all (they are hidden), so it cannot copy them anywhere;
//   - a command whose output is labelled (it reads local-only files, or is
//     a local-only command) may write only inside the local-only zone; the
//     other writable paths are bound read-only.
func newJail(p *policy.Policy) (func(labelled bool) []string, error) {
	bwrap, err := effect.BwrapPath()
	if err != nil {
		return nil, err
	}
	public, labelled := jailSpecs(p)
	return func(isLabelled bool) []string {
		if isLabelled {
			return effect.BwrapPrefix(bwrap, labelled)
		}
		return effect.BwrapPrefix(bwrap, public)
	}, nil
}

// jailSpecs derives the two jails from the policy's path lists.
func jailSpecs(p *policy.Policy) (public, labelled effect.BwrapSpec) {
	d := p.Describe()
	home, _ := os.UserHomeDir()
	prefixes := func(key string) []string {
		var out []string
		for _, l := range d.Lists {
			if l.Key != key {
				continue
			}
			for _, e := range l.Entries {
				if strings.HasPrefix(e.Value, "!") {
					continue
				}
				out = append(out, staticPrefix(e.Value, p.Root(), home))
			}
		}
		return out
	}
	read := prefixes("[filesystem].read_allow")
	local := prefixes("[filesystem].local_only_read")
	write := append(prefixes("[filesystem].write_allow"), prefixes("[filesystem].delete_allow")...)
	shareNet := false
	for _, l := range d.Lists {
		if (strings.HasPrefix(l.Key, "[network].http_") || l.Key == "[network].local_only_hosts") && len(l.Entries) > 0 {
			shareNet = true
		}
	}

	public = effect.BwrapSpec{ReadOnly: append(read, local...), ReadWrite: write, ShareNet: shareNet, Dir: p.Root(), Hide: local}

	// The zone is where a write prefix and a local-only prefix overlap: the
	// deeper of the two.
	var zone []string
	for _, w := range write {
		for _, l := range local {
			switch {
			case under(w, l):
				zone = append(zone, w)
			case under(l, w):
				zone = append(zone, l)
			}
		}
	}
	labelled = effect.BwrapSpec{ReadOnly: append(append(read, local...), write...), ReadWrite: zone, ShareNet: shareNet, Dir: p.Root()}
	return public, labelled
}

// under reports whether path p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// staticPrefix is the directory a path pattern cannot match outside of:
// the pattern anchored as the policy anchors it (~ at home, relative at the
// root, a bare name anywhere under the root), cut before its first wildcard.
func staticPrefix(pattern, root, home string) string {
	switch {
	case pattern == "~" || strings.HasPrefix(pattern, "~/"):
		if home == "" {
			return root
		}
		pattern = filepath.Join(home, strings.TrimPrefix(pattern, "~"))
	case filepath.IsAbs(pattern):
	case !strings.Contains(pattern, "/"):
		return root
	default:
		pattern = filepath.Join(root, pattern)
	}
	if i := strings.IndexAny(pattern, "*?[{"); i >= 0 {
		pattern = pattern[:i]
		if j := strings.LastIndexByte(pattern, '/'); j >= 0 {
			pattern = pattern[:j]
		}
	}
	if pattern == "" {
		return "/"
	}
	return filepath.Clean(pattern)
}

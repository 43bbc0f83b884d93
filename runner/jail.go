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
// network only if the policy allows some host. A command whose output is
// public additionally has the local_only_read paths hidden, so it cannot
// copy local-only files into its unlabelled output.
func newJail(p *policy.Policy) (func(labelled bool) []string, error) {
	bwrap, err := effect.BwrapPath()
	if err != nil {
		return nil, err
	}
	spec, hide := jailSpec(p)
	return func(labelled bool) []string {
		s := spec
		if !labelled {
			s.Hide = hide
		}
		return effect.BwrapPrefix(bwrap, s)
	}, nil
}

// jailSpec derives the jail from the policy's path lists.
func jailSpec(p *policy.Policy) (spec effect.BwrapSpec, hide []string) {
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
	spec.ReadOnly = append(prefixes("[filesystem].read_allow"), prefixes("[filesystem].local_only_read")...)
	spec.ReadWrite = append(prefixes("[filesystem].write_allow"), prefixes("[filesystem].delete_allow")...)
	spec.Dir = p.Root()
	for _, l := range d.Lists {
		if strings.HasPrefix(l.Key, "[network].http_") || l.Key == "[network].local_only_hosts" {
			if len(l.Entries) > 0 {
				spec.ShareNet = true
			}
		}
	}
	return spec, prefixes("[filesystem].local_only_read")
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

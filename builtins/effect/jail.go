package effect

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/internal/subpath"
)

// A jail confines one command to the paths a policy grants. Two mechanisms
// carry the same JailSpec out: bubblewrap (bwrap.go: namespaces and a
// mount tree built from nothing) and Landlock (landlock_linux.go: access
// rules on the host's tree, plus the namespaces the kernel lets an
// unprivileged process create). In both:
//
//   - every capability is dropped (as root too) and no_new_privs is set, so
//     a setuid binary or file capability grants nothing;
//   - root is mapped to an unprivileged uid in a user namespace, where the
//     kernel allows one;
//   - the command gets a pid namespace (its background children die with
//     it) and dies with its parent;
//   - Network false means a network namespace of its own (and, under
//     Landlock, no TCP connect or bind);
//   - Hide paths are absent: a directory becomes empty, a file disappears
//     from its directory (which then takes no new entries, see carve).

// JailSpec is what a jailed command may see. Paths are absolute and clean.
type JailSpec struct {
	ReadOnly  []string // trees visible read-only
	ReadWrite []string // trees visible read-write
	// Hide lists paths that must not exist inside the jail, even within a
	// tree above (local-only files for a public command, the audit log).
	Hide []string
	// Frozen lists paths kept read-only even inside a read-write tree (the
	// policy file): they cannot be modified, renamed or removed.
	Frozen  []string
	Network bool // keep the host's network (only with [subprocess].network = "host")
	// Labelled says the command's output is local-only: it may change no
	// file's mode, owner, times or extended attributes (Landlock governs
	// none of these, and a public file's mtime is public).
	Labelled bool
	Dir      string // working directory; created empty if no tree holds it
}

// seccompRules are what a jail's seccomp filter (seccomp_linux.go) refuses.
type seccompRules struct {
	NoUnixSockets bool `json:"nounix"`    // socket(AF_UNIX, …) and io_uring
	NoSockets     bool `json:"nosock"`    // every socket(), and io_uring
	NoSetattr     bool `json:"nosetattr"` // mode, owner, times, extended attributes
}

func (r seccompRules) any() bool { return r.NoUnixSockets || r.NoSockets || r.NoSetattr }

// bwrapSeccomp: bwrap always gives a command without the network a network
// namespace of its own, and its read-only mounts refuse attribute changes
// outside the writable trees; a command with local-only output changes
// none inside them either.
func (s JailSpec) bwrapSeccomp() seccompRules {
	return seccompRules{NoUnixSockets: !s.Network, NoSetattr: s.Labelled}
}

// landlockSeccomp: Landlock governs no attribute change, and the command
// owns what its user owns (as root, the system's files), so none is
// allowed; without a network namespace (hostNetNS) Landlock would keep
// only TCP from the network, so a command without it opens no socket.
func (s JailSpec) landlockSeccomp(hostNetNS bool) seccompRules {
	return seccompRules{NoUnixSockets: !s.Network, NoSockets: !s.Network && hostNetNS, NoSetattr: true}
}

// seccompFD is the descriptor bwrap reads the filter from: the first of
// exec.Cmd's ExtraFiles.
const seccompFD = 3

// systemPaths are visible read-only so that ordinary binaries and their
// libraries run; none of them holds user data.
var systemPaths = [...]string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/ssl/certs", "/etc/ca-certificates", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
	"/etc/localtime", "/etc/os-release", "/etc/mime.types",
}

// IsSystemPath reports whether p lies in a tree every jail shows.
func IsSystemPath(p string) bool { return covered(p, systemPaths[:]) }

// jailUID is the uid (and gid) root becomes inside a jail: nobody.
const jailUID = 65534

// maxCarveEntries bounds the entries re-created when a file is hidden from
// its directory; a larger directory is hidden whole instead.
const maxCarveEntries = 4096

// node is one point of a jail's mount plan.
type node struct {
	path   string
	mode   access // for a tree or a frozen path
	hidden bool   // the path is absent
	carve  bool   // the directory directly holds a hidden file
}

type access int

const (
	accessNone access = iota
	accessRO
	accessRW
)

// plan turns a spec into the ordered points both mechanisms render: trees
// by mode, carved directories, hidden paths, frozen paths, parents first.
// A point under a hidden directory is dropped (it is hidden too). Paths
// that do not exist are dropped: there is nothing to show or hide.
func (s JailSpec) plan() []node {
	byPath := map[string]*node{}
	get := func(p string) *node {
		p = filepath.Clean(p)
		n := byPath[p]
		if n == nil {
			n = &node{path: p}
			byPath[p] = n
		}
		return n
	}
	for _, p := range clean(s.ReadOnly) {
		if n := get(p); n.mode < accessRO {
			n.mode = accessRO
		}
	}
	for _, p := range clean(s.ReadWrite) {
		get(p).mode = accessRW
	}
	for _, p := range clean(s.Frozen) {
		if mode := modeAt(byPath, p); mode != accessNone {
			get(p).mode = accessRO
		}
	}
	for _, p := range clean(s.Hide) {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if modeAt(byPath, p) == accessNone && !treeBelow(byPath, p) {
			continue // not visible anyway
		}
		n := get(p)
		n.hidden = true
		if !fi.IsDir() && p != "/" {
			get(filepath.Dir(p)).carve = true
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return pathLess(paths[i], paths[j]) })
	var out []node
	var hiddenDirs []string
	for _, p := range paths {
		n := byPath[p]
		if covered(p, hiddenDirs) {
			continue
		}
		if n.hidden {
			if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
				hiddenDirs = append(hiddenDirs, p)
				out = append(out, *n)
			}
			// A hidden file is left out of its parent's carve.
			continue
		}
		if n.carve {
			if modeAt(byPath, p) == accessNone {
				n.carve = false // its directory is not visible: nothing to carve
			} else if ents, err := os.ReadDir(p); err != nil || len(ents) > maxCarveEntries {
				n.carve, n.hidden = false, true
				hiddenDirs = append(hiddenDirs, p)
				out = append(out, *n)
				continue
			}
		}
		if _, err := os.Lstat(p); err != nil && !n.carve {
			continue
		}
		if n.mode == accessNone && !n.carve {
			continue
		}
		out = append(out, *n)
	}
	return out
}

// modeAt is the access the deepest tree at or above p grants.
func modeAt(byPath map[string]*node, p string) access {
	for {
		if n := byPath[p]; n != nil && n.mode != accessNone {
			return n.mode
		}
		if p == "/" || p == "." || p == "" {
			return accessNone
		}
		p = filepath.Dir(p)
	}
}

// treeBelow reports whether some tree lies strictly under p.
func treeBelow(byPath map[string]*node, p string) bool {
	for q, n := range byPath {
		if n.mode != accessNone && q != p && covered(q, []string{p}) {
			return true
		}
	}
	return false
}

// pathLess orders paths so that a directory precedes everything under it.
func pathLess(a, b string) bool {
	return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
}

// clean drops relative and empty paths and cleans the rest.
func clean(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		out = append(out, filepath.Clean(p))
	}
	return out
}

// covered reports whether p is one of dirs or lies under one of them.
func covered(p string, dirs []string) bool {
	for _, d := range dirs {
		if subpath.Within(p, d) {
			return true
		}
	}
	return false
}

// carveEntries lists what a carved directory shows: its entries except the
// hidden ones.
func carveEntries(dir string, hidden map[string]bool) []os.DirEntry {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := ents[:0]
	for _, e := range ents {
		if !hidden[filepath.Join(dir, e.Name())] {
			out = append(out, e)
		}
	}
	return out
}

// hiddenSet is the spec's Hide list as a set.
func (s JailSpec) hiddenSet() map[string]bool {
	m := make(map[string]bool, len(s.Hide))
	for _, p := range clean(s.Hide) {
		m[p] = true
	}
	return m
}

package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/aegisdev/aegis/labels"
)

// Path patterns and path resolution.
//
// A pattern is translated once, at load, into an absolute glob:
//
//	~ or ~/x         the home directory, or x under it
//	/abs/...         as written
//	./x              x under the policy root (explicitly anchored)
//	name (no "/")    under the root at any depth: <root>/**/name
//	a/b, **/x        under the root: <root>/a/b, <root>/**/x
//	dir/             the directory and everything in it: dir/**
//
// In [filesystem].deny only, a bare name or a pattern starting with "**/"
// matches at any depth anywhere on the filesystem (/**/name), and every deny
// pattern also covers everything below what it matches: a secret does not
// stop being one because it sits outside the project or inside a denied
// directory.
//
// The literal directory part of a pattern has its symlinks resolved, so a
// pattern and a target are compared in the same, real, spelling.
//
// Glob syntax is doublestar's: '*' matches any run of characters within one
// path segment (never '/'; it does match a leading '.'), '?' one character,
// '**' as a whole segment any number of segments (zero included), [abc] and
// [!abc] classes, {a,b} alternatives, and '\' escapes. Matching is
// case-sensitive, except on systems whose file systems usually are not
// (macOS, Windows: foldCase), where patterns and paths are compared in
// lower case: there "SECRETS/token" opens secrets/token, so a rule for one
// must cover the other.

// foldCase is set where file names are matched case-insensitively by the
// usual file system (APFS and HFS+ by default, NTFS). It is read when a
// policy is compiled; tests set it to check the folded matching anywhere.
var foldCase = runtime.GOOS == "darwin" || runtime.GOOS == "ios" || runtime.GOOS == "windows"

// fold returns s as path matching compares it.
func fold(s string) string {
	if foldCase {
		return strings.ToLower(s)
	}
	return s
}

// maxPathLen bounds a target before any work is done on it.
const maxPathLen = 4096

// maxLinks bounds symlink expansion, as the kernel does (ELOOP).
const maxLinks = 40

// pathRule is one compiled path pattern.
type pathRule struct {
	entry   Entry
	key     string   // "[filesystem].deny"
	glob    string   // absolute doublestar pattern
	literal bool     // glob has no metacharacter: compare strings
	tree    bool     // also match everything below (deny)
	prefix  string   // every match starts with this
	needles []string // every match contains these
	fold    bool     // glob, prefix and needles are in lower case: fold the path too
	quoted  string   // the entry, quoted, and its source: precomputed for
	from    string   // the reason of the hot path
}

// compilePathRule translates e for list key. anywhere selects the deny-list
// reading of bare and "**/" patterns.
func compilePathRule(e Entry, key, root, home string, deny bool, canon *canonicalizer) (pathRule, error) {
	v := e.Value
	if v == "~" || strings.HasPrefix(v, "~/") {
		if home == "" {
			return pathRule{}, errors.New("\"~\" cannot be expanded: there is no home directory (set $HOME)")
		}
		v = home + v[1:]
	}
	dirOnly := len(v) > 1 && strings.HasSuffix(v, "/")
	if !path.IsAbs(v) {
		explicit := strings.HasPrefix(v, "./") || v == "."
		for strings.HasPrefix(v, "./") {
			v = v[2:]
		}
		trimmed := strings.TrimSuffix(v, "/")
		bare := !strings.Contains(trimmed, "/")
		switch {
		case v == "." || v == "":
			v = root
		case deny && !explicit && (bare || strings.HasPrefix(v, "**/")):
			v = "/**/" + strings.TrimPrefix(v, "**/")
		case bare && !explicit:
			v = root + "/**/" + v
		default:
			v = root + "/" + v
		}
	}
	v = path.Clean(v)
	if dirOnly && !strings.HasSuffix(v, "/**") {
		v += "/**"
	}
	v = fold(canon.prefix(v))
	r := pathRule{entry: e, key: key, tree: deny, fold: foldCase, quoted: strconv.Quote(e.Value), from: e.From.String()}
	if deny && strings.HasSuffix(v, "/**") {
		// Already a tree; the extra suffix would change nothing.
		r.tree = false
	}
	if i := strings.IndexAny(v, "*?[{\\"); i < 0 {
		r.literal = true
		r.glob = v
		r.prefix = v
		return r, nil
	}
	if r.tree {
		v += "/**"
		r.tree = false
	}
	if dir, ok := strings.CutSuffix(v, "/**"); ok && dir != "" && !strings.ContainsAny(dir, "*?[{\\") {
		// "dir/**", the commonest pattern: a string comparison does.
		r.literal, r.tree, r.glob, r.prefix = true, true, dir, dir
		return r, nil
	}
	if !doublestar.ValidatePattern(v) {
		return pathRule{}, fmt.Errorf("%q is not a valid glob once anchored (%s)", e.Value, v)
	}
	r.glob = v
	lit := v[:strings.IndexAny(v, "*?[{\\")]
	r.prefix = lit[:strings.LastIndexByte(lit, '/')+1]
	if r.prefix != "/" {
		// "dir/**" also matches "dir" itself, which lacks the final '/'.
		r.prefix = strings.TrimSuffix(r.prefix, "/")
	} else {
		r.prefix = ""
	}
	r.needles = needlesOf(v[len(lit):])
	return r, nil
}

// needlesOf returns literal runs that every path matching the glob tail
// must contain: each literal run of a segment matches itself exactly. They
// let most rules reject a path with a substring search instead of a glob
// match.
func needlesOf(tail string) []string {
	var out []string
	segs := strings.Split(tail, "/")
	for i := len(segs) - 1; i >= 0 && len(out) < 2; i-- {
		seg := segs[i]
		if strings.ContainsAny(seg, "[{\\") {
			continue
		}
		best := ""
		for _, run := range strings.FieldsFunc(seg, func(r rune) bool { return r == '*' || r == '?' }) {
			if len(run) > len(best) {
				best = run
			}
		}
		if len(best) >= 2 {
			out = append(out, best)
		}
	}
	return out
}

// canonicalizer resolves the literal directory parts of a policy's globs
// when it is compiled, looking each directory up once: the secure-defaults
// preset alone names some forty paths under a handful of directories, and
// each used to be resolved from "/" afresh. A directory it has resolved is
// canonical, so a path under it is resolved from there (realPath's trusted
// prefix), which gives what resolving it from "/" gives.
type canonicalizer struct {
	dirs map[string]string // clean absolute path -> its real path
}

// newCanonicalizer returns a canonicalizer that knows dirs (canonical
// already: the policy root and the home directory, which compile resolved).
func newCanonicalizer(dirs ...string) *canonicalizer {
	c := &canonicalizer{dirs: map[string]string{"/": "/"}}
	for _, d := range dirs {
		if d != "" {
			c.dirs[d] = d
		}
	}
	return c
}

// real is realPath(p, "") for a clean absolute path p.
func (c *canonicalizer) real(p string) (string, error) {
	if r, ok := c.dirs[p]; ok {
		return r, nil
	}
	parent := path.Dir(p)
	if parent == p {
		return realPath(p, "")
	}
	pr, err := c.real(parent)
	if err != nil {
		return "", err
	}
	r, err := realPath(path.Join(pr, path.Base(p)), pr)
	if err != nil {
		return "", err
	}
	c.dirs[p] = r
	return r, nil
}

// prefix resolves the symlinks of the literal directory part of an
// absolute glob and re-escapes it.
func (c *canonicalizer) prefix(glob string) string {
	i := strings.IndexAny(glob, "*?[{\\")
	if i < 0 {
		real, err := c.real(glob)
		if err != nil {
			return glob
		}
		return escapeGlob(real)
	}
	dir := glob[:strings.LastIndexByte(glob[:i], '/')]
	if dir == "" {
		return glob
	}
	real, err := c.real(dir)
	if err != nil || real == dir {
		return glob
	}
	if real == "/" {
		real = ""
	}
	return escapeGlob(real) + glob[len(dir):]
}

func escapeGlob(s string) string {
	if !strings.ContainsAny(s, "*?[{\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("*?[{\\", s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// match reports whether the absolute, clean path p matches the rule.
func (r *pathRule) match(p string) bool {
	if r.fold {
		p = strings.ToLower(p)
	}
	if !strings.HasPrefix(p, r.prefix) {
		return false
	}
	if r.literal {
		if p == r.glob {
			return true
		}
		if !r.tree {
			return false
		}
		if r.glob == "/" {
			return true
		}
		return len(p) > len(r.glob) && p[len(r.glob)] == '/'
	}
	for _, n := range r.needles {
		if !strings.Contains(p, n) {
			return false
		}
	}
	return doublestar.MatchUnvalidated(r.glob, p)
}

// firstPathMatch returns the first rule in rules matching p.
func firstPathMatch(rules []pathRule, p string) *pathRule {
	for i := range rules {
		if rules[i].match(p) {
			return &rules[i]
		}
	}
	return nil
}

// realPath returns the absolute path the kernel would reach for the
// absolute path p: components are walked in order, each symlink is replaced
// by its target, and ".." is applied after the symlinks before it are
// followed (so "link/.." is the parent of the link's target, as open(2)
// sees it). A component that does not exist (or cannot be examined) is
// taken literally, so a path to a file about to be created resolves through
// its deepest existing ancestor, and a dangling symlink resolves to where a
// write through it would land. A ".." after a component that does not exist
// or is not a directory fails, as it does in the kernel (ENOENT, ENOTDIR):
// "missing/../x" does not name x.
//
// trusted, if non-empty, is a canonical directory whose own components are
// not re-examined when p lies under it: the policy root, canonicalised at
// load. Its ancestors belong to the operator, not to the agent.
func realPath(p, trusted string) (string, error) {
	return resolvePath(p, trusted, nil)
}

// resolveWatch observes a resolution (resolvePath).
type resolveWatch struct {
	// examine is called with every path the resolution looks up (each
	// component, each symlink it reads) and reports whether that path is
	// local-only. steered says whether the resolution got there only
	// because of what a local-only path held: it followed a symlink found
	// at one, or applied ".." or "." after one (which works only if it is a
	// directory). Before that point the spelling alone decides which paths
	// are looked up, and where the resolution ends.
	examine func(path string, steered bool) bool
	// steer is called with the local-only path whose contents steered the
	// resolution, each time that happens.
	steer func(path string)
}

// resolvePath is realPath, observed by w (nil: not observed).
func resolvePath(p, trusted string, w *resolveWatch) (string, error) {
	resolved, rest := "/", p
	if trusted != "" && trusted != "/" {
		if p == trusted {
			return p, nil
		}
		if strings.HasPrefix(p, trusted) && p[len(trusted)] == '/' {
			resolved, rest = trusted, p[len(trusted)+1:]
		}
	}
	// What resolved is: a directory, or not (missing, a file, unreadable).
	// Only a directory has a "..".
	isDir, why := true, ""
	local, steered := false, false // resolved is local-only; see resolveWatch
	// turn: the next step depends on what resolved holds.
	turn := func() {
		if local {
			steered = true
			if w != nil {
				w.steer(resolved)
			}
		}
	}
	links := 0
	for rest != "" {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		switch c {
		case "", ".":
			if c == "." {
				turn()
				if !isDir {
					return "", &ResolveError{Path: resolved, Why: why}
				}
			}
			continue
		case "..":
			turn()
			if !isDir {
				return "", &ResolveError{Path: resolved, Why: why}
			}
			resolved = path.Dir(resolved)
			local = false // an ancestor was looked up on the way down
			continue
		}
		next := resolved + "/" + c
		if resolved == "/" {
			next = "/" + c
		}
		local = w != nil && w.examine(next, steered)
		fi, err := os.Lstat(next)
		switch {
		case err != nil:
			resolved, isDir, why = next, false, "it does not exist"
			if !errors.Is(err, fs.ErrNotExist) {
				why = "it cannot be examined"
			}
			continue
		case fi.Mode()&os.ModeSymlink == 0:
			resolved, isDir, why = next, fi.IsDir(), "it is not a directory"
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("too many levels of symbolic links at %s", next)
		}
		if local {
			// Where the link leads is what the local-only path holds.
			steered = true
			if w != nil {
				w.steer(next)
			}
		}
		target, err := os.Readlink(next)
		if err != nil {
			resolved, isDir, why = next, false, "it cannot be examined"
			continue
		}
		if path.IsAbs(target) {
			resolved, isDir = "/", true
		}
		if rest == "" {
			rest = target
		} else {
			rest = target + "/" + rest
		}
	}
	return resolved, nil
}

// ResolveError: a path that names nothing, because it goes on (with ".."
// or ".") from a component that is not a directory.
type ResolveError struct {
	Path string // the component
	Why  string // "it does not exist", "it is not a directory"
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("the path goes on from %s, but %s", e.Path, e.Why)
}

// resolveTarget turns a script's path argument into the clean absolute path
// as spelled and the real path the kernel would reach.
func (p *Policy) resolveTarget(t string) (spelled, real string, err error) {
	spelled, real, _, err = p.resolveTargetVia(t, false)
	return spelled, real, err
}

// traversal is what resolving a target looked up that is local-only
// (Decision.Traversed, Steered, Decisive): the principals of every
// local_only_read path examined, of those examined only because of what
// another local-only path held, and of the local-only paths whose contents
// turned the resolution.
type traversal struct {
	all, steered, decisive []string
}

// addTraversal records on d what one resolution of its targets examined
// (Traversed, Steered, Decisive), once each.
func (d *Decision) addTraversal(tr traversal) {
	for _, pr := range tr.all {
		d.Traversed = appendNew(d.Traversed, pr)
	}
	for _, pr := range tr.steered {
		d.Steered = appendNew(d.Steered, pr)
	}
	for _, pr := range tr.decisive {
		d.Decisive = appendNew(d.Decisive, pr)
	}
}

// steeredBy is addTraversal for a subprocess.exec decision, which resolves
// the program and the path arguments: it records a resolution only when
// what a local-only path holds turned it (a symlink in the zone, a ".." out
// of it). Then whether the call is allowed, and the real path its reason
// names, depend on local-only data, and the caller must label them. A
// resolution the spelling alone leads ends inside the zone, where the
// decision's file principals already label the program's output.
func (d *Decision) steeredBy(tr traversal) {
	if len(tr.decisive) > 0 {
		d.addTraversal(tr)
	}
}

// anchor returns the absolute path a script's path argument spells, not
// cleaned (the kernel applies ".." after the symlinks before it): "~" is the
// home directory, a relative path is under the project root.
func (p *Policy) anchor(t string) (string, error) {
	if err := checkTargetString(t); err != nil {
		return "", err
	}
	abs := t
	if t == "~" || strings.HasPrefix(t, "~/") {
		if p.home == "" {
			return "", errors.New("\"~\" cannot be expanded: there is no home directory")
		}
		abs = p.home + t[1:]
	} else if !path.IsAbs(t) {
		abs = p.root + "/" + t
	}
	return abs, nil
}

// resolveTargetVia is resolveTarget that also returns, when via is set, the
// local-only paths the resolution examined: what the path resolves to, and
// whether it resolves at all, depends on what is there.
func (p *Policy) resolveTargetVia(t string, via bool) (spelled, real string, tr traversal, err error) {
	abs, err := p.anchor(t)
	if err != nil {
		return "", "", tr, err
	}
	spelled = path.Clean(abs)
	var w *resolveWatch
	if via && len(p.fsLocal) > 0 {
		add := func(list *[]string, pr string) {
			if !contains(*list, pr) {
				*list = append(*list, pr)
			}
		}
		w = &resolveWatch{
			examine: func(x string, steered bool) bool {
				r := firstPathMatch(p.fsLocal, x)
				if r == nil {
					return false
				}
				pr := labels.File(r.entry.Value)
				add(&tr.all, pr)
				if steered {
					add(&tr.steered, pr)
				}
				return true
			},
			steer: func(x string) {
				if r := firstPathMatch(p.fsLocal, x); r != nil {
					add(&tr.decisive, labels.File(r.entry.Value))
				}
			},
		}
	}
	real, err = resolvePath(abs, p.root, w)
	if err != nil {
		return "", "", tr, err
	}
	return spelled, real, tr, nil
}

func checkTargetString(t string) error {
	switch {
	case t == "":
		return errors.New("empty path")
	case len(t) > maxPathLen:
		return fmt.Errorf("path is %d bytes long, over the %d-byte limit", len(t), maxPathLen)
	case strings.IndexByte(t, 0) >= 0:
		return errors.New("path contains a NUL byte")
	}
	return nil
}

package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
	"github.com/bmatcuk/doublestar/v4"
)

// File metadata and directory walks: fs.stat, fs.is_dir, fs.is_file (under
// the fs.exists capability: they tell what is at a path, not what is in
// it) and fs.walk, fs.glob (under fs.list, once for the directory the walk
// starts from). The metadata builtins describe what the path leads to, as
// the policy resolved it (a symlink the policy followed included, as for
// fs.read); a walk never enters a symlink.
//
// A walk is one call: one decision, one audit record, one place in the
// count of public calls. Below its root it enters a subdirectory only when
// fs.list allows that subdirectory and listing it brings no principal the
// root's listing did not already carry. So a walk of the project from a
// public root skips the local-only zone (list or walk the zone itself to
// see it), and a walk of the zone stays inside the zone's label. Which
// subdirectories are entered is then decided by names the result's label
// already covers and by the (public) policy, and the walk makes no
// decision, first read or audit record that could differ with local-only
// data the result does not carry.

// fsStat: fs.stat(path) -> struct(kind, size, mode, mtime) or None when
// nothing is at path.
func (h *Host) fsStat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	info, ok, err := h.statPath(thread, b, args, kwargs)
	if err != nil || !ok {
		return starlark.None, err
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"kind":  starlark.String(info.Kind),
		"size":  starlark.MakeInt64(info.Size),
		"mode":  starlark.MakeInt(int(info.Perm)),
		"mtime": starlark.MakeInt64(info.ModTime.Unix()),
	}), nil
}

// fsIsDir: fs.is_dir(path) -> bool; False when nothing is there.
func (h *Host) fsIsDir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	info, ok, err := h.statPath(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok && info.Kind == "dir"), nil
}

// fsIsFile: fs.is_file(path) -> bool; True for a regular file only.
func (h *Host) fsIsFile(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	info, ok, err := h.statPath(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok && info.Kind == "file"), nil
}

// statPath is the call fs.exists and the three metadata builtins share:
// fs.exists's decision and labels (what is at a local-only path is
// local-only).
func (h *Host) statPath(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (effect.Info, bool, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return effect.Info{}, false, err
	}
	pl := argLabel(thread, args, 0, "path")
	c, src, err := h.beginSource(thread, policy.FSExists, path, pl, labels.File(path))
	if err != nil {
		return effect.Info{}, false, err
	}
	thread.SetResultLabel(c.targetLabel | src)
	if err := c.allow(); err != nil {
		return effect.Info{}, false, err
	}
	info, ok, err := effect.Stat(h.ctx(), resolved(c.decision, path))
	if err != nil {
		return effect.Info{}, false, c.failed(err, src, fsErrReason(err))
	}
	return info, ok, nil
}

// fsWalk: fs.walk(dir, dirs=False) -> sorted list of the regular files
// below dir (and, with dirs=True, the directories), each spelled as dir
// joined with its path below dir, ready for fs.read.
func (h *Host) fsWalk(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	var dirs bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dir", &dir, "dirs?", &dirs); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "dir") | argLabel(thread, args, 1, "dirs")
	return h.walk(thread, dir, pl, false, 0, func(rel, kind string) bool {
		return kind == "file" || (dirs && kind == "dir")
	})
}

// fsGlob: fs.glob(pattern) -> sorted list of the regular files matching a
// doublestar pattern ("src/**/*.py"); the walk starts at the pattern's
// longest directory without a wildcard, and finds nothing (no error) when
// that directory does not exist.
func (h *Host) fsGlob(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pattern string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "pattern")
	if !doublestar.ValidatePattern(pattern) {
		return nil, starlark.ExactLabelError(fmt.Errorf("%s: %q is not a valid pattern (a '[' without its ']'?)", b.Name(), pattern), pl)
	}
	root, rest := doublestar.SplitPattern(pattern)
	// Only "**" matches across a "/": without it, no match is deeper than
	// the pattern's own components (braces included: "{a,b/c}" adds its
	// "/" to the count).
	depth := 0
	if !strings.Contains(rest, "**") {
		depth = strings.Count(rest, "/") + 1
	}
	return h.walk(thread, root, pl, true, depth, func(rel, kind string) bool {
		if kind != "file" {
			return false
		}
		ok, _ := doublestar.Match(rest, rel)
		return ok
	})
}

// walk lists the tree below dir (see the comment at the top of the file)
// and returns the entries keep chooses, spelled from dir. With missingOK, a
// dir that does not exist is an empty tree (glob), not an error (walk).
// With depth > 0 it lists no entry more than depth components below dir.
func (h *Host) walk(thread *starlark.Thread, dir string, pl labels.Label, missingOK bool, depth int, keep func(rel, kind string) bool) (starlark.Value, error) {
	c, src, err := h.beginSource(thread, policy.FSList, dir, pl, labels.File(dir))
	if err != nil {
		return nil, err
	}
	if err := c.allow(); err != nil {
		return nil, err
	}
	held := src | c.targetLabel
	ch := h.newCharger(thread, held)
	defer ch.stop()
	root := resolved(c.decision, dir)
	// The listings charge the names; each path returned is longer by its
	// directory and by how dir is spelled (pre), which is charged too.
	pre := int64(len(spellBelow(dir, "")))
	var out []string
	stack := []string{""} // directories to list, relative to root
	for len(stack) > 0 {
		rel := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		abs := joinRel(root, rel)
		entries, err := effect.ReadDirEntries(h.ctx(), abs, ch.charge)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && (rel != "" || missingOK && errors.Is(err, fs.ErrNotExist)) {
				continue // gone, or unreadable, since its parent was listed
			}
			return nil, c.failed(err, held, fsErrReason(err))
		}
		var longer int64
		for _, e := range entries {
			r := e.Name
			if rel != "" {
				r = rel + "/" + e.Name
			}
			if keep(r, e.Kind) {
				out = append(out, r)
				longer += pre + int64(len(r)-len(e.Name))
			}
			if e.Kind == "dir" && (depth == 0 || strings.Count(r, "/")+1 < depth) && h.mayEnter(joinRel(root, r), held) {
				stack = append(stack, r)
			}
		}
		if err := ch.charge(longer); err != nil {
			return nil, c.failed(err, held, fsErrReason(err))
		}
	}
	sort.Strings(out)
	for i, r := range out {
		out[i] = spellBelow(dir, r)
	}
	thread.SetResultLabel(c.targetLabel)
	return stringsLabeled(out, held, held), nil
}

// mayEnter reports whether a walk holding the labels held may list the
// directory abs: fs.list allows it, and its listing carries nothing more.
func (h *Host) mayEnter(abs string, held labels.Label) bool {
	d := h.Policy.Decide(policy.FSList, abs)
	if !d.Allowed {
		return false
	}
	l := h.sourceLabel(d, abs) | h.principals(d.Traversed)
	return l&^held == 0
}

// joinRel joins an absolute clean directory and a slash-separated relative
// path ("" is the directory itself).
func joinRel(root, rel string) string {
	switch {
	case rel == "":
		return root
	case strings.HasSuffix(root, "/"):
		return root + rel
	}
	return root + "/" + rel
}

// spellBelow spells the path rel below dir as the script spelled dir, so
// that the result goes back to fs.read unchanged (and resolves the same
// way: no cleaning of dir).
func spellBelow(dir, rel string) string {
	switch {
	case dir == "." || dir == "./" || dir == "":
		return rel
	case strings.HasSuffix(dir, "/"):
		return dir + rel
	}
	return dir + "/" + rel
}

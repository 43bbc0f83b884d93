package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// resolved is the path the policy vetted (symlinks resolved), falling back
// to the script's path if the policy reported none.
func resolved(d policy.Decision, path string) string {
	if d.ResolvedPath != "" {
		return d.ResolvedPath
	}
	return path
}

// fsErrReason is the public summary of a file-system error, for the audit
// log: it never quotes the path.
func fsErrReason(err error) string {
	var (
		pe  *fs.PathError
		nr  *effect.NotRegularError
		sl  *effect.SymlinkError
		ab  *effect.AbandonedError
		lim *LimitError
	)
	switch {
	case errors.As(err, &lim):
		return "[runtime]." + lim.Limit
	case errors.As(err, &nr):
		return "not a regular file: " + nr.Kind
	case errors.As(err, &sl):
		return "a symbolic link appeared in the path after the policy checked it"
	case errors.As(err, &ab):
		return "abandoned: the run was stopped"
	case errors.As(err, &pe):
		var tl *effect.TooLargeError
		if errors.As(pe.Err, &tl) {
			return tl.Error()
		}
		return pe.Op + ": " + pe.Err.Error()
	}
	return "failed"
}

// ctx is the context effects are abandoned with.
func (h *Host) ctx() context.Context {
	if h.Ctx == nil {
		return context.Background()
	}
	return h.Ctx
}

// fsRead: fs.read(path) -> str. A local_only_read file (the local-only zone
// included) reads back labelled with its principal.
func (h *Host) fsRead(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "path")
	c, src, err := h.beginSource(thread, policy.FSRead, path, pl, labels.File(path))
	if err != nil {
		return nil, err
	}
	// Which file was read, and what it holds, both flow into the result
	// (and what the path passed through on the way: c.targetLabel).
	thread.SetResultLabel(c.targetLabel | src)
	if err := c.allow(); err != nil {
		return nil, err
	}
	ch := h.newCharger(thread, c.targetLabel|src)
	data, err := effect.ReadFile(h.ctx(), resolved(c.decision, path), orDefault(h.MaxReadBytes, DefaultMaxReadBytes), ch.charge)
	ch.stop()
	if err != nil {
		return nil, c.failed(err, src, fsErrReason(err))
	}
	return starlark.String(data), nil
}

// fsWrite: fs.write(path, content) -> None. Labelled path, content or pc
// may only go into the local-only zone.
func (h *Host) fsWrite(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var content starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "content", &content); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "path")
	cl := argLabel(thread, args, 1, "content") | starlark.DeepLabel(content)
	c, err := h.begin(thread, policy.FSWrite, path, pl, cl)
	if err != nil {
		return nil, err
	}
	if err := c.decide(path); err != nil {
		return nil, err
	}
	if err := c.flow(flowParts(thread.PC(), pathPart(pl, c.targetLabel), part{cl, "content"}), path); err != nil {
		return nil, err
	}
	if err := c.entries(resolved(c.decision, path), pl, true); err != nil {
		return nil, err
	}
	// The content is looked at only now: the steps above depend on its
	// label, not on its type (see call.exact).
	var data []byte
	switch v := content.(type) {
	case starlark.String:
		data = []byte(v)
	case starlark.Bytes:
		data = []byte(v)
	default:
		return nil, fmt.Errorf("%s: content must be a string or bytes, not %s (use json.encode for data)", b.Name(), content.Type())
	}
	if err := c.confirm(); err != nil {
		return nil, err
	}
	if err := c.allow(); err != nil {
		return nil, err
	}
	if err := effect.WriteFile(h.ctx(), resolved(c.decision, path), data); err != nil {
		return nil, c.failed(err, labels.Public, fsErrReason(err))
	}
	return starlark.None, nil
}

// entries stops a write or delete that local-only data chooses (the pc it
// runs under, the inputs of its path, or the contents of a local-only place
// that turned its resolution) from changing a directory whose entries a
// public call shows: the names fs.list, fs.walk and fs.glob list there,
// and its mtime in fs.stat, would tell the data. The flow step has let the
// data into the zone (local_only_read and write_allow); here each
// directory the effect changes must be local-only too, or out of reach of
// every fs.* call (denied to fs.exists, whose allow lists include all the
// others'): the file's own directory (an entry added, replaced by a rename,
// or removed) and, for a write that creates missing directories, each of
// those and the existing directory the first of them is made in. Whether a
// directory exists is looked at only when it is one of those two kinds.
func (c *call) entries(real string, pathLabel labels.Label, creates bool) error {
	turned := c.h.principals(c.decision.Steered) | c.h.principals(c.decision.Decisive)
	if c.thread.PC()|pathLabel|turned == labels.Public {
		return nil
	}
	for dir := path.Dir(real); ; dir = path.Dir(dir) {
		if d := c.h.Policy.Decide(policy.FSExists, dir); d.Allowed && !d.LocalOnly {
			reason := fmt.Sprintf("local-only data chooses whether or where it happens (the condition it runs under, or its path), "+
				"and it would change the entries of %s, a directory outside [filesystem].local_only_read whose names "+
				"fs.list, fs.walk or fs.stat show publicly; write only inside a local-only directory that already exists "+
				"(create it first, before the condition and from a public path)", dir)
			if err := c.record(audit.Denied, audit.KindFlow, "", "", c.public(reason)); err != nil {
				return err
			}
			return c.exact(&starlark.FlowError{Sink: string(c.cap), Reason: reason}, labels.Public)
		}
		if !creates || path.Dir(dir) == dir {
			return nil
		}
		if ok, err := effect.Exists(c.h.ctx(), dir); ok || err != nil {
			// It exists (or the write will fail on it): nothing is
			// created above it.
			return nil
		}
	}
}

// fsDelete: fs.delete(path) -> None (a file or an empty directory).
func (h *Host) fsDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "path")
	c, err := h.begin(thread, policy.FSDelete, path, pl, labels.Public)
	if err != nil {
		return nil, err
	}
	if err := c.decide(path); err != nil {
		return nil, err
	}
	if err := c.flow(flowParts(thread.PC(), pathPart(pl, c.targetLabel)), path); err != nil {
		return nil, err
	}
	if err := c.entries(resolved(c.decision, path), pl, false); err != nil {
		return nil, err
	}
	if err := c.confirm(); err != nil {
		return nil, err
	}
	if err := c.allow(); err != nil {
		return nil, err
	}
	if err := effect.Remove(h.ctx(), resolved(c.decision, path)); err != nil {
		return nil, c.failed(err, labels.Public, fsErrReason(err))
	}
	return starlark.None, nil
}

// fsList: fs.list(dir) -> sorted list of entry names. The names in a
// local-only directory are labelled, and so is the list's length.
func (h *Host) fsList(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dir", &dir); err != nil {
		return nil, err
	}
	pl := argLabel(thread, args, 0, "dir")
	c, src, err := h.beginSource(thread, policy.FSList, dir, pl, labels.File(dir))
	if err != nil {
		return nil, err
	}
	if err := c.allow(); err != nil {
		return nil, err
	}
	ch := h.newCharger(thread, c.targetLabel|src)
	names, err := effect.ReadDir(h.ctx(), resolved(c.decision, dir), ch.charge)
	ch.stop()
	if err != nil {
		return nil, c.failed(err, src, fsErrReason(err))
	}
	sort.Strings(names)
	thread.SetResultLabel(c.targetLabel)
	return stringsLabeled(names, src, src|c.targetLabel), nil
}

// stringsLabeled is a list of the strings ss, each labelled elem, the list
// itself (its length) labelled list.
func stringsLabeled(ss []string, elem, list labels.Label) *starlark.List {
	elems := make([]starlark.Value, len(ss))
	for i, s := range ss {
		elems[i] = starlark.String(s)
	}
	var elemLabels []labels.Label
	if elem != labels.Public {
		elemLabels = make([]labels.Label, len(ss))
		for i := range elemLabels {
			elemLabels[i] = elem
		}
	}
	return starlark.NewListLabeled(elems, elemLabels, list)
}

// fsExists: fs.exists(path) -> bool. Whether a local-only file exists is
// itself local-only (statPath).
func (h *Host) fsExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	_, ok, err := h.statPath(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok), nil
}

// argLabel is the label of argument i, given positionally or by name.
func argLabel(thread *starlark.Thread, args starlark.Tuple, i int, name string) labels.Label {
	if i < len(args) {
		return thread.ArgLabel(i)
	}
	return thread.KwargLabel(name)
}

// pathPart names the path among a sink's inputs: labelled because it was
// computed from local-only data, or because resolving it passed through a
// local-only place (the zone), whose contents decide where it leads.
func pathPart(argLabel, targetLabel labels.Label) part {
	if argLabel == labels.Public && targetLabel != labels.Public {
		return part{targetLabel, "path (it passes through a local-only place, whose contents decide where it leads)"}
	}
	return part{argLabel | targetLabel, "path"}
}

// part is one named input of a sink, for flow error messages.
type part struct {
	l    labels.Label
	name string
}

// flowParts names the labelled inputs of a sink (and a labelled pc) for a
// flow error message. It names parts, never values or labels.
func flowParts(pc labels.Label, parts ...part) string {
	var names []string
	for _, p := range parts {
		if p.l != labels.Public {
			names = append(names, p.name)
		}
	}
	if pc != labels.Public {
		names = append(names, "condition the call runs under")
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

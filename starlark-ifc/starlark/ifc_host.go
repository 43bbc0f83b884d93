// This file is an Aegis addition: the labelled entry points for hosts.

package starlark

import "github.com/aegisdev/aegis/starlark-ifc/syntax"

// ExecFileLabeled is ExecFileOptions with labels: predeclared values may be
// Labeled (the interpreter unwraps them), and the globals come back with the
// label of each: its reference label joined with its deep label (everything
// inside it), the label a host must respect to use the value as a whole.
// A nil opts means syntax.LegacyFileOptions(). On an evaluation error the
// globals computed so far are returned with the error, as upstream.
func ExecFileLabeled(thread *Thread, filename string, src interface{}, predeclared StringDict, opts *syntax.FileOptions) (StringDict, map[string]Label, error) {
	if opts == nil {
		opts = syntax.LegacyFileOptions()
	}
	_, prog, err := SourceProgramOptions(opts, filename, src, predeclared.Has)
	if err != nil {
		return nil, nil, err
	}
	// Predeclared values may hold labels made elsewhere (another thread):
	// the monitor must know before it skips deep walks.
	for _, v := range predeclared {
		thread.ifc.noteLabel(foreignLabel(v))
	}
	toplevel := makeToplevelFunction(prog, predeclared)
	_, err = Call(thread, toplevel, nil, nil)
	m := toplevel.module
	globals := make(StringDict, len(m.globals))
	labels := make(map[string]Label, len(m.globals))
	for i, id := range prog.compiled.Globals {
		if v := m.globals[i]; v != nil {
			globals[id.Name] = v
			labels[id.Name] = m.globalLabels[i] | DeepLabel(v)
		}
	}
	globals.Freeze()
	return globals, labels, err
}

// CallLabeled is Call with labels: fn, the arguments and the keyword
// argument values may be Labeled (they are unwrapped, and the callee sees
// their labels), and the result comes back with its label: the reference
// label joined with its deep label. A Starlark function called this way runs
// under the pc of fn's label.
func CallLabeled(thread *Thread, fn Value, args Tuple, kwargs []Tuple) (Value, Label, error) {
	t := &thread.ifc
	f, fl := unlabel(fn)
	t.noteLabel(fl | foreignLabel(f))
	var args2 Tuple
	var pos []Label
	if len(args) > 0 {
		args2 = make(Tuple, len(args))
		pos = make([]Label, len(args))
		for i, a := range args {
			args2[i], pos[i] = unlabel(a)
			t.noteLabel(pos[i] | foreignLabel(args2[i]))
		}
	}
	var kwargs2 []Tuple
	var kv []Label
	if len(kwargs) > 0 {
		kwargs2 = make([]Tuple, len(kwargs))
		kv = make([]Label, 2*len(kwargs))
		for j, pair := range kwargs {
			var v Value
			v, kv[2*j+1] = unlabel(pair[1])
			t.noteLabel(kv[2*j+1] | foreignLabel(v))
			kwargs2[j] = Tuple{pair[0], v}
		}
	}
	t.pending = pendingCall{fn: f, pc: fl, pos: pos, kv: kv}
	t.ret = Public
	z, err := Call(thread, f, args2, kwargs2)
	l := t.ret
	t.pending = pendingCall{}
	if err != nil {
		return nil, ErrorLabel(err), err
	}
	return z, l | DeepLabel(z), nil
}

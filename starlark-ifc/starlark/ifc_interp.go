// This file is an Aegis addition: the helpers the interpreter loop
// (interp.go) calls to keep labels. The loop itself only copies and joins
// labels; anything longer lives here.
//
// Per frame the interpreter keeps:
//   - llocals, lstack: a label per local slot and per operand-stack slot,
//     carved from the thread's label arena (no allocation per call);
//   - pcl: the pc label, the join of the labels of the branch conditions the
//     current instruction depends on, starting at the base pc of the call
//     (caller pc ⊔ label of the function value);
//   - regions: the open implicit-flow regions, each ending at the immediate
//     post-dominator (ipdom) of the branch that opened it; nextIPD caches the
//     innermost ipdom, so the only per-instruction cost is one compare;
//   - iters: for each active iterator, the label of the iteration (its
//     length and order) and how to find the label of each element.

package starlark

import (
	"fmt"
	"slices"

	"github.com/aegisdev/aegis/starlark-ifc/internal/compile"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// ifcMode selects how interpret keeps labels: the loop is compiled once per
// mode, from one source. The two modes have types of different sizes, so
// the compiler instantiates interpret separately for each (it shares one
// instance only between types of the same shape), and in each instance
// `labelled` is a constant: the blocks under `if labelled` vanish from the
// plain one, as does every join with the pc, which is the constant Public
// there.
//
// ifcPlain runs while no label has entered the thread. Every label the
// thread can reach is then Public, and so is every slot of the frame
// labels (frameLabels): the plain instance stores no label (it would store
// Public into Public), opens no region, and skips the label work that only
// matters for labelled data. A label enters a thread only through an
// instruction that runs code or takes a host value: CALL (the callee, a
// builtin's result, the elements of a host *args or **kwargs), LOAD, and
// ATTR, INDEX, SLICE, UNPACK and ITERJMP over a host value (a Labeled
// value, or a container holding labels: fromHost), PREDECLARED and
// UNIVERSAL (a Labeled value), and the step limit's OnMaxSteps callback.
// (Other instructions run host code only through a Value's methods, which
// are given no thread.) After each of these the plain instance checks
// whether one has (TestLabelEntryLeavesThePlainLoop,
// TestHostValuesHoldingLabels, TestSpreadHostValuesAreUnwrapped and
// TestLabelEntryFromOnMaxStepsLeavesThePlainLoop cover each); if so it
// stores the label just brought in and returns, and ifcLabelled resumes the
// frame at the next instruction with exact state: the operand and local
// labels (that one, and Public everywhere else), no region open, and the
// iterators' label state (ifcThread.iters), which both modes keep. A new
// instruction that can let a label in needs the same exit.
type ifcMode interface{ ifcPlain | ifcLabelled }

type (
	ifcPlain    uint16
	ifcLabelled uint8
)

const ifcLabelledSize = 1 // unsafe.Sizeof(ifcLabelled(0))

// ifcFrame is the state of a frame that CallInternal shares with interpret:
// what the loop starts or resumes from, what the frame's deferred cleanup
// needs (the active iterators), and the labels its epilogue gives an error.
type ifcFrame struct {
	fr              *frame
	locals, stack   []Value
	llocals, lstack []Label
	iterstack       []Iterator
	pc              uint32
	sp              int
	pcl, errl       Label
	regions         []ifcRegion // open implicit-flow regions, innermost last
	nextIPD         uint32      // ipdom of the innermost region
}

// ifcRegion is an open implicit-flow region of a frame.
type ifcRegion struct {
	ipdom uint32 // the region closes when execution reaches this address
	saved Label  // pc label before the region opened
	floor int    // lowest operand-stack depth inside the region
}

// frameLabels returns n zeroed labels from the thread's LIFO arena. Frames
// that are still running keep slices of an outgrown backing array, which
// stays valid for them. Until a label enters the thread, every label ever
// stored in the arena is Public, so the slots are zero already.
func (t *ifcThread) frameLabels(n int) []Label {
	base := len(t.larena)
	if cap(t.larena)-base < n {
		na := make([]Label, base, 2*cap(t.larena)+n+64)
		copy(na, t.larena)
		t.larena = na
	}
	t.larena = t.larena[:base+n]
	s := t.larena[base : base+n : base+n]
	if t.sawLabel {
		clear(s)
	}
	return s
}

// ifcEnter finds the labels the caller handed to fn: the CALL's (in
// thread.pending, which fn consumes when its prologue is done, see
// ifcConsumed), or, for a call from Go code (a builtin calling back into
// Starlark), the builtin's J for the pc and every argument, in *own. A call
// from the host runs under Public unless CallLabeled said otherwise.
func (thread *Thread) ifcEnter(fn *Function, own *pendingCall) (p *pendingCall, callback bool) {
	t := &thread.ifc
	if t.pending.fn == Value(fn) {
		return &t.pending, false
	}
	if t.b.active {
		// Go code calls fn back. It may hold fn from another thread, with
		// labels no walk of this one has seen (a default, a closure cell,
		// a global): note them, or the plain mode runs fn without them.
		// Its module is walked once per run (as for a call from the host);
		// fn itself each time while the thread has seen no label.
		if !slices.Contains(t.runModules, fn.module) {
			t.noteForeign(fn)
			t.runModules = append(t.runModules, fn.module)
		} else if !t.sawLabel {
			t.walk.reset()
			t.noteLabel(t.walk.deep(fn))
			t.walk.reset()
		}
		j := thread.callLabel()
		own.pc, own.varLab, own.kwVarLab, own.shape = j, j, j, j
		return own, true
	}
	return own, false
}

// bindArgLabels gives each parameter the label of the argument setArgs bound
// to it (replaying setArgs, which has already succeeded), or the label of the
// defaults. A parameter bound by an argument written out at the call site
// binds to it whatever the data; any other (bound from *args or **kwargs, or
// left to its default) was chosen by the call's shape, and so was the length
// of *args and the key set of **kwargs: they also get the shape label.
func (t *ifcThread) bindArgLabels(llocals []Label, locals []Value, fn *Function, args Tuple, kwargs []Tuple, p *pendingCall) {
	t.noteLabel(fn.dlab)
	if fn.dlab == Public && p.all() == Public {
		return
	}
	nparams := fn.NumParams()
	if nparams == 0 {
		return
	}
	var kwdict *Dict
	if fn.HasKwargs() {
		nparams--
		kwdict, _ = locals[nparams].(*Dict)
		if kwdict != nil {
			kwdict.ht.slab |= p.shape
		}
	}
	if fn.HasVarargs() {
		nparams--
		l := p.shape
		for i := nparams - fn.NumKwonlyParams(); i < len(args); i++ {
			l |= p.argLabel(i)
		}
		llocals[nparams] = l
	}
	nonkwonly := nparams - fn.NumKwonlyParams()
	n := min(len(args), nonkwonly)
	for i := range n {
		llocals[i] = p.argLabel(i)
	}
	static := make([]bool, nparams) // bound by an argument written at the call site
	for i := range min(n, len(p.pos)) {
		static[i] = true
	}
	bound := make([]bool, nparams)
	params := fn.funcode.Locals[:nparams]
	nkv := len(p.kv) / 2
	for j, pair := range kwargs {
		k, _ := pair[0].(String)
		if i := findParam(params, string(k)); i >= 0 {
			llocals[i] = p.kwLabel(j) // the name chose the parameter
			bound[i] = true
			static[i] = j < nkv
		} else if kwdict != nil {
			if e, _ := kwdict.ht.lookupEntry(k); e != nil {
				e.klab |= p.kwNameLabel(j)
				e.vlab |= p.kwValueLabel(j)
				kwdict.ht.slab |= p.kwNameLabel(j)
			}
		}
	}
	for i := max(n, nparams-len(fn.defaults)); i < nparams; i++ {
		if !bound[i] {
			llocals[i] = fn.dlab
		}
	}
	if p.shape != Public {
		for i := range nparams {
			if !static[i] {
				llocals[i] |= p.shape
			}
		}
	}
}

// ifcFrameExit labels the error a frame fails with (errl: the operands of the
// failing instruction; pcl: the pc there), and folds the result or error label
// of a callback into the calling builtin's accumulator.
func (thread *Thread) ifcFrameExit(err error, errl, pcl Label, callback bool) {
	t := &thread.ifc
	if callback && t.b.jMoves {
		t.b.jDone = false // the callback may have written labels into the builtin's inputs
	}
	if err == nil {
		if callback {
			t.b.acc |= t.ret
		}
		return
	}
	l := errl | pcl
	if e, ok := err.(*EvalError); ok {
		e.Label |= l
		l = e.Label
	} else {
		t.errLabel = l
		t.errPC = pcl
		l |= errChainLabel(err)
	}
	if callback {
		t.b.acc |= l
	}
}

// ifcLabelEvalError fills in the label fields of a new EvalError.
func (thread *Thread) ifcLabelEvalError(e *EvalError, err error) {
	t := &thread.ifc
	e.Label = t.errLabel | errChainLabel(err)
	e.PC = t.errPC
	e.HighAt = t.highAt
	t.errLabel, t.errPC = Public, Public
	thread.typeCancel(e, err)
}

// --- implicit flows ---

// ifcPush opens (or widens) the implicit-flow region of the branch the
// frame is at, taken on a condition labelled c that does not flow to pcl, and
// applies the hybrid static upgrade: every variable the region may assign,
// every comprehension accumulator it may append to and every container it
// visibly mutates through a variable is raised to the new pc before either
// path runs, so that the path not taken leaves the same labels behind.
func (thread *Thread) ifcPush(fn *Function, fs *ifcFrame, c, pcl Label) Label {
	at, llocals, locals, stack := fs.fr.pc, fs.llocals, fs.locals, fs.stack
	br := branchAt(fn.funcode, at)
	newpc := pcl | c
	if pcl == Public {
		thread.noteHigh()
	}
	if br == nil {
		// Not a branch the analysis knows (cannot happen for compiled
		// code): keep the pc raised until the function returns.
		br = &compile.Branch{PC: at, IPDom: compile.ExitPC}
	}
	for _, i := range br.Locals {
		llocals[i] |= newpc
		if cl, ok := locals[i].(*cell); ok {
			cl.l |= newpc
		}
	}
	if gl := fn.module.globalLabels; len(br.Globals) > 0 {
		for _, g := range br.Globals {
			gl[g] |= newpc
		}
	}
	for _, a := range br.Accs {
		if a >= 0 && a < len(stack) {
			upgradeContainer(stack[a], newpc, pcl)
		}
	}
	for _, i := range br.MutLocals {
		v := locals[i]
		if cl, ok := v.(*cell); ok {
			upgradeContainer(cl.v, newpc|cl.l, pcl)
		} else {
			upgradeContainer(v, newpc|llocals[i], pcl)
		}
	}
	for _, g := range br.MutGlobals {
		upgradeContainer(fn.module.globals[g], newpc|fn.module.globalLabels[g], pcl)
	}
	for _, i := range br.MutFree {
		if cl, ok := fn.freevars[i].(*cell); ok {
			upgradeContainer(cl.v, newpc|cl.l, pcl)
		}
	}
	fs.nextIPD = br.IPDom
	if n := len(fs.regions); n > 0 && fs.regions[n-1].ipdom == br.IPDom {
		// The same region again (a loop re-testing its condition, or a
		// break/continue whose region is the loop's): widen it.
		fs.regions[n-1].floor = min(fs.regions[n-1].floor, br.Floor)
		return newpc
	}
	fs.regions = append(fs.regions, ifcRegion{ipdom: br.IPDom, saved: pcl, floor: br.Floor})
	return newpc
}

// upgradeContainer raises the structure label of the container v by l before
// a region that may mutate it runs. The raise is itself a write under the
// enclosing pc, so it is made only when that pc flows to the container's
// structure label; otherwise the mutation will be stopped by
// no-sensitive-upgrade when it happens.
func upgradeContainer(v Value, l, outer Label) {
	if s, ok := structureOf(v); ok && outer&^s == 0 {
		RaiseStructureLabel(v, l)
	}
}

// ifcPop closes the frame's regions that end at pc. The operand-stack slots a region
// may have written hold path-dependent values (x or y, a if c else b): they
// get the region's pc.
func (fs *ifcFrame) ifcPop(pc uint32, pcl Label, lstack []Label, sp int) Label {
	regions := fs.regions
	for n := len(regions); n > 0 && regions[n-1].ipdom == pc; n-- {
		r := regions[n-1]
		for i := max(r.floor, 0); i < sp; i++ {
			lstack[i] |= pcl
		}
		pcl = r.saved
		regions = regions[:n-1]
	}
	next := compile.ExitPC
	if n := len(regions); n > 0 {
		next = regions[n-1].ipdom
	}
	fs.regions, fs.nextIPD = regions, next
	return pcl
}

// truthLabel is the label of x's truth value: for a container, its length.
func (t *ifcThread) truthLabel(x Value, l Label) Label {
	switch x := x.(type) {
	case Bool, NoneType, Int, Float, String, Bytes, Tuple, *Function, *Builtin, rangeValue:
		return l
	case *List:
		return l | x.slab
	case *Dict:
		return l | x.ht.slab
	case *Set:
		return l | x.ht.slab
	}
	return l | t.deepLabel(x)
}

// --- calls ---

// ifcPrepareCall hands the labels of a CALL's function and arguments to the
// callee (see pendingCall). It runs before the CALL pops its operands; the
// slices it takes of lstack stay valid until the callee returns, because the
// caller's operand stack above sp is not touched meanwhile. It returns the
// label of an error the CALL itself reports (about its operands).
func (thread *Thread) ifcPrepareCall(op compile.Opcode, arg uint32, stack []Value, lstack []Label, sp int, pcl Label) Label {
	t := &thread.ifc
	top := sp
	var kwLab, varLab, shape Label
	if op == compile.CALL_KW || op == compile.CALL_VAR_KW {
		top--
		kwLab = lstack[top] | t.contentsLabel(stack[top])
		shape |= lstack[top] | t.lengthLabel(stack[top])
	}
	if op == compile.CALL_VAR || op == compile.CALL_VAR_KW {
		top--
		varLab = lstack[top] | t.contentsLabel(stack[top])
		shape |= lstack[top] | t.lengthLabel(stack[top])
	}
	nkv := int(arg & 0xff)
	npos := int(arg >> 8)
	kvBase := top - 2*nkv
	posBase := kvBase - npos
	fnIdx := posBase - 1
	errl := pcl | varLab | kwLab
	for _, l := range lstack[fnIdx:top] {
		errl |= l
	}
	t.pending = pendingCall{
		fn:       stack[fnIdx],
		pc:       pcl | lstack[fnIdx],
		pos:      lstack[posBase:kvBase:kvBase],
		varLab:   varLab | pcl,
		kv:       lstack[kvBase:top:top],
		kwVarLab: kwLab | pcl,
		shape:    shape | pcl,
	}
	return errl
}

// lengthLabel is the label of what an iterable spread by *args or **kwargs
// decides about a call's shape beyond its reference label: how many
// elements it yields and, for a mapping, which keys (the structure label,
// which a dict raises by every key's label).
func (t *ifcThread) lengthLabel(x Value) Label {
	if !t.sawLabel {
		return Public
	}
	switch x := x.(type) {
	case Tuple, rangeValue, String, Bytes:
		return Public
	case *List:
		return x.slab
	case *Dict:
		return x.ht.slab
	case *Set:
		return x.ht.slab
	}
	return t.deepLabel(x)
}

// contentsLabel is the label of the elements an iterable yields, beyond its
// reference label: used for *args and **kwargs, whose elements are not
// labelled one by one.
func (t *ifcThread) contentsLabel(x Value) Label {
	if !t.sawLabel {
		return Public
	}
	switch x := x.(type) {
	case Tuple:
		return Public
	case *List:
		return x.slab | x.elabAll()
	case *Dict:
		return x.ht.labelsAll()
	case *Set:
		return x.ht.labelsAll()
	}
	return t.deepLabel(x)
}

// isCore reports whether x is of a type this package defines. What any
// other value hands out (an attribute, an index, a slice, its elements or
// items) comes from the host: see fromHost.
func isCore(x Value) bool {
	switch x.(type) {
	case String, *List, *Dict, Tuple, Int, NoneType, Bool, Float, Bytes, *Set, rangeValue,
		stringElems, stringCodepoints, bytesIterable, *Function, *Builtin:
		return true
	}
	return false
}

// fromHost unwraps v, a value the host value x handed out, which may be
// Labeled, and returns its label. A container v may also hold labels that
// no walk has seen (a list made by NewListLabeled): they enter the thread
// here, as those of LOAD's values and of builtins' results do, so that
// the plain mode hands over and SeenLabel counts them. A ChildVisitor's
// children were walked when it entered the thread (a struct's fields, a
// module's members), so what it hands out is not walked again: reading a
// struct's list field in a loop costs no walk of the list.
func (t *ifcThread) fromHost(x, v Value) (Value, Label) {
	v, l := unlabel(v)
	if _, cv := x.(ChildVisitor); !cv && !isAtomic(v) {
		if b, ok := v.(*Builtin); !ok || b.recv != nil {
			t.noteLabel(foreignLabel(v))
		}
	}
	t.noteLabel(l)
	return v, l
}

// unlabelArgs unwraps the elements a CALL took from a host iterable spread
// by *args (fromHost) and returns the join of their labels, which the CALL
// adds to the label of every argument from *args. A Labeled bound to a
// parameter would keep its label only through deep walks, which a thread
// that has seen no label does not make.
func (t *ifcThread) unlabelArgs(src Value, elems []Value) Label {
	var l Label
	for i, v := range elems {
		var vl Label
		elems[i], vl = t.fromHost(src, v)
		l |= vl
	}
	return l
}

// unlabelItems is unlabelArgs for the items a CALL took from a host
// mapping spread by **kwargs: the names and the values. The items are the
// host's own, so a pair that holds a Labeled is copied, not changed.
func (t *ifcThread) unlabelItems(src Value, items []Tuple) ([]Tuple, Label) {
	var l Label
	cloned := false
	for i, kv := range items {
		_, kok := kv[0].(Labeled)
		_, vok := kv[1].(Labeled)
		k, kl := t.fromHost(src, kv[0])
		v, vl := t.fromHost(src, kv[1])
		l |= kl | vl
		if kok || vok {
			if !cloned {
				items, cloned = slices.Clone(items), true
			}
			items[i] = Tuple{k, v}
		}
	}
	return items, l
}

// ifcCallResult returns the label of what the callee of a CALL returned.
func (thread *Thread) ifcCallResult() Label {
	t := &thread.ifc
	t.pending.fn = nil // in case the callee never consumed it
	return t.ret
}

// --- indexing ---

// ifcIndex implements x[y] with labels; l is pc ⊔ ℓx ⊔ ℓy. Lists and dicts
// take a fast path that also finds the element's label; other types go
// through upstream's getIndex.
func (thread *Thread) ifcIndex(x, y Value, l Label) (Value, Label, error) {
	t := &thread.ifc
	switch x := x.(type) {
	case *List:
		l |= x.slab
		if i, err := AsInt32(y); err == nil {
			n := len(x.elems)
			if i < 0 {
				i += n
			}
			if 0 <= i && i < n {
				v, vl := unlabel(x.elems[i])
				if vl != Public {
					t.noteLabel(vl)
				}
				return v, l | x.elabAt(i) | vl, nil
			}
		}
		_, err := getIndex(x, y) // the same error as upstream
		return nil, l, err
	case *Dict:
		l |= x.ht.slab
		e, err := x.ht.lookupEntry(y)
		if err != nil {
			return nil, l, err
		}
		if e == nil {
			return nil, l, fmt.Errorf("key %v not in %s", y, x.Type())
		}
		v, vl := unlabel(e.value)
		t.noteLabel(vl)
		return v, l | e.klab | e.vlab | vl, nil
	}
	z, err := getIndex(x, y)
	core := true
	switch x.(type) {
	case String, Bytes, Tuple, rangeValue, stringElems:
	default:
		core = false
		l |= t.deepLabel(x)
	}
	if err != nil {
		return nil, l, err
	}
	var zl Label
	if core {
		z, zl = unlabel(z)
		t.noteLabel(zl)
	} else {
		z, zl = t.fromHost(x, z)
	}
	return z, l | zl, nil
}

// ifcSetIndex implements x[y] = z with labels: no-sensitive-upgrade (the pc
// and the reference label of x must flow to x's structure label), then the
// element gets ℓz ⊔ pc ⊔ ℓx ⊔ ℓy and the structure label is raised by ℓy
// (which slot changed, and for a dict whether a key was added, depends on
// y). It returns the error and its label.
func (thread *Thread) ifcSetIndex(x, y, z Value, lx, ly, lz, pcl Label) (error, Label) {
	wpc := pcl | lx
	switch x := x.(type) {
	case *List:
		if wpc&^x.slab != 0 && !x.frozen {
			return &FlowError{Sink: "x[i] = v", Reason: nsuReason}, wpc | x.slab
		}
		if err := setIndex(x, y, z); err != nil {
			return err, wpc | ly | x.slab
		}
		i, _ := AsInt32(y)
		if i < 0 {
			i += len(x.elems)
		}
		x.slab |= ly
		x.setElemLabel(i, lz|wpc|ly)
		return nil, Public
	case *Dict:
		if wpc&^x.ht.slab != 0 && !x.ht.frozen {
			return &FlowError{Sink: "d[k] = v", Reason: nsuReason}, wpc | x.ht.slab
		}
		if err := thread.ifc.alloc(entryBytes); err != nil {
			return err, wpc | ly
		}
		if err := x.ht.insertL(y, z, ly|wpc, lz|wpc|ly); err != nil {
			return err, wpc | ly | x.ht.slab
		}
		return nil, Public
	}
	// A host type: its contents are invisible to the monitor, so it may
	// only receive public data under a public pc.
	if l := wpc | ly | lz | thread.ifc.deepLabel(z); l != Public {
		return &FlowError{Sink: "x[k] = v", Reason: "the container is a host value (" + x.Type() +
			") that cannot hold labelled data"}, l
	}
	return setIndex(x, y, z), Public
}

// ifcSetField implements x.name = y for host values, which cannot hold
// labelled data.
func (thread *Thread) ifcSetField(x Value, name string, y Value, l Label) (error, Label) {
	if l |= thread.ifc.deepLabel(y); l != Public {
		return &FlowError{Sink: "x." + name + " = v", Reason: "the object is a host value (" + x.Type() +
			") that cannot hold labelled data"}, l
	}
	return setField(x, name, y), Public
}

// --- operators ---

// isScalar reports whether D(x) is Public for every value of x's type.
func isScalar(x Value) bool {
	switch x.(type) {
	case NoneType, Bool, Int, Float, String, Bytes:
		return true
	}
	return false
}

// compareLabel is the label of x op y, given l = pc ⊔ ℓx ⊔ ℓy: comparing
// containers reads all of them.
func (t *ifcThread) compareLabel(x, y Value, l Label) Label {
	if isScalar(x) && isScalar(y) {
		return l
	}
	return l | t.deepLabel2(x, y)
}

// binaryLabel is the label of z = x op y, given l = pc ⊔ ℓx ⊔ ℓy. A new list,
// dict or set that z holds gets its element labels and a structure label.
func (t *ifcThread) binaryLabel(op syntax.Token, x, y, z Value, l Label) Label {
	if isScalar(x) && isScalar(y) {
		return l
	}
	switch z := z.(type) {
	case *List:
		// list + list, list * n, n * list
		xl, _ := x.(*List)
		yl, _ := y.(*List)
		z.slab |= l
		switch {
		case xl != nil && yl != nil:
			z.slab |= xl.slab | yl.slab
			if xl.elabs != nil || yl.elabs != nil {
				z.elabs = make([]Label, len(z.elems))
				copy(z.elabs, xl.elabs)
				copy(z.elabs[len(xl.elems):], yl.elabs)
			}
		case xl != nil || yl != nil:
			src := xl
			if src == nil {
				src = yl
			}
			z.slab |= src.slab
			if src.elabs != nil && len(src.elems) > 0 {
				z.elabs = make([]Label, len(z.elems))
				for i := range z.elabs {
					z.elabs[i] = src.elabs[i%len(src.elems)]
				}
			}
		}
		return l
	case *Dict:
		// dict | dict: addAll kept the entry labels and structure labels.
		z.ht.slab |= l
		return l
	case *Set:
		// set operators: the result's members depend on both sets.
		z.ht.slab |= l | t.contentsLabel(x) | t.contentsLabel(y)
		return l
	}
	if op == syntax.IN {
		switch y := y.(type) {
		case *Dict:
			return l | y.ht.slab | t.deepLabel(x)
		case *Set:
			return l | y.ht.slab | t.deepLabel(x)
		}
	}
	if op == syntax.PERCENT {
		if _, ok := x.(String); ok {
			return l | t.deepLabel(y)
		}
	}
	return l | t.deepLabel(x) | t.deepLabel(y)
}

// --- iteration ---

// ifcIter is the label state of an active iterator.
type ifcIter struct {
	lab   Label         // the iteration's label: reference and structure of the iterable, and pc
	list  *listIterator // element labels from a list
	keys  *keyIterator  // element (key) labels from a dict or set
	host  bool          // a host iterable: its elements may be Labeled
	src   Value         // the host iterable (fromHost)
	plain bool          // none of the above: elements have only the iteration's label
}

// iterInfo returns the label state for iterating x (labelled l ⊔ pc).
func (t *ifcThread) iterInfo(x Value, iter Iterator, l Label) ifcIter {
	switch x := x.(type) {
	case *List:
		li, _ := iter.(*listIterator)
		return ifcIter{lab: l | x.slab, list: li}
	case *Dict:
		ki, _ := iter.(*keyIterator)
		return ifcIter{lab: l | x.ht.slab, keys: ki}
	case *Set:
		ki, _ := iter.(*keyIterator)
		return ifcIter{lab: l | x.ht.slab, keys: ki}
	case Tuple, rangeValue, stringElems, stringCodepoints, bytesIterable:
		return ifcIter{lab: l, plain: true}
	}
	return ifcIter{lab: l | t.deepLabel(x), host: true, src: x}
}

// next advances iter into *p and returns the element's own label (beyond
// the iteration's label).
func (it *ifcIter) next(t *ifcThread, iter Iterator, p *Value) (bool, Label) {
	var el Label
	if it.keys != nil && it.keys.e != nil {
		el = it.keys.e.klab
	}
	if !iter.Next(p) {
		return false, Public
	}
	if it.list != nil && it.list.l.elabs != nil {
		el = it.list.l.elabs[it.list.i-1]
	}
	if it.host {
		el |= it.unlabelElem(t, p)
	}
	return true, el
}

// unlabelElem unwraps *p, an element of the host iterable (fromHost), and
// returns its label.
func (it *ifcIter) unlabelElem(t *ifcThread, p *Value) Label {
	var l Label
	*p, l = t.fromHost(it.src, *p)
	return l
}

// unpackLabels labels the n values UNPACK stored at stack[sp-1-i] (i-th
// element) from iterable x, whose label is l (⊔ pc).
func (t *ifcThread) unpackLabels(x Value, stack []Value, lstack []Label, sp, n int, l Label) {
	switch x := x.(type) {
	case *List:
		l |= x.slab
		for i := range n {
			lstack[sp-1-i] = l | x.elabAt(i)
		}
		return
	case *Dict, *Set:
		var ht *hashtable
		if d, ok := x.(*Dict); ok {
			ht = &d.ht
		} else {
			ht = &x.(*Set).ht
		}
		l |= ht.slab
		e := ht.head
		for i := range n {
			var el Label
			if e != nil {
				el = e.klab
				e = e.next
			}
			lstack[sp-1-i] = l | el
		}
		return
	case Tuple, rangeValue, stringElems, stringCodepoints, bytesIterable:
	default:
		l |= t.deepLabel(x)
		for i := range n {
			var vl Label
			stack[sp-1-i], vl = t.fromHost(x, stack[sp-1-i])
			lstack[sp-1-i] = l | vl
		}
		return
	}
	for i := range n {
		lstack[sp-1-i] = l
	}
}

// structLabel is the label of x's structure (its length), beyond its
// reference label: what UNPACK's count errors reveal.
func (t *ifcThread) structLabel(x Value) Label {
	switch x := x.(type) {
	case *List:
		return x.slab
	case *Dict:
		return x.ht.slab
	case *Set:
		return x.ht.slab
	case Tuple, rangeValue, stringElems, stringCodepoints, bytesIterable, String, Bytes:
		return Public
	}
	return t.deepLabel(x)
}

// sliceLabel is the label of x[lo:hi:step], given l = pc ⊔ the operand
// labels. A new list keeps the element labels (List.Slice) and gets l in its
// structure label.
func (t *ifcThread) sliceLabel(x, res Value, l Label) Label {
	switch res := res.(type) {
	case *List:
		res.slab |= l
		return l
	case String, Bytes, Tuple, rangeValue:
		return l
	}
	return l | t.deepLabel(x)
}

// --- list and hashtable label bookkeeping ---

// appendLabel records the label of the element just appended to l.
func (l *List) appendLabel(lab Label) {
	if l.elabs != nil {
		l.elabs = append(l.elabs, lab)
		return
	}
	if lab != Public {
		l.elabs = make([]Label, len(l.elems), cap(l.elems))
		l.elabs[len(l.elems)-1] = lab
	}
}

// setElemLabel sets the label of element i.
func (l *List) setElemLabel(i int, lab Label) {
	if l.elabs == nil {
		if lab == Public {
			return
		}
		l.elabs = make([]Label, len(l.elems))
	}
	l.elabs[i] = lab
}

// makeListLabels builds a fresh list's element labels from the operand
// labels of MAKELIST (nil when all are Public).
func makeListLabels(ls []Label) []Label {
	for _, x := range ls {
		if x != Public {
			return append([]Label(nil), ls...)
		}
	}
	return nil
}

// sliceLabels gives res, the slice l[start:end:step], l's structure label
// and the matching element labels.
func (l *List) sliceLabels(res *List, start, end, step int) Value {
	res.slab = l.slab
	if l.elabs == nil || len(res.elems) == 0 {
		return res
	}
	res.elabs = make([]Label, 0, len(res.elems))
	if step == 1 {
		res.elabs = append(res.elabs, l.elabs[start:end]...)
		return res
	}
	sign := signum(step)
	for i := start; signum(end-i) == sign; i += step {
		res.elabs = append(res.elabs, l.elabs[i])
	}
	return res
}

// lookupEntry finds the entry of key k (nil if absent), so that its labels
// can be read (hashtable.find).
func (ht *hashtable) lookupEntry(k Value) (*entry, error) {
	_, e, err := ht.find(k)
	return e, err
}

// ifcListExtend implements x.extend(y) and x += y with labels: the new
// elements keep their element labels joined with extra (the pc and y's
// reference label), and x's structure label is raised by extra and y's
// structure label, since x's length now depends on y's.
func ifcListExtend(x *List, y Iterable, extra Label) {
	old := len(x.elems)
	var ylabs []Label
	var ys Label
	switch y := y.(type) {
	case *List:
		ys = y.slab
		if y.elabs != nil {
			ylabs = append([]Label(nil), y.elabs...) // y may be x
		}
	case *Dict:
		ys = y.ht.slab
		ylabs = y.ht.keyLabels()
	case *Set:
		ys = y.ht.slab
		ylabs = y.ht.keyLabels()
	case Tuple, rangeValue, stringElems, stringCodepoints, bytesIterable:
	default:
		var w walker
		ys = w.deep(y)
	}
	listExtend(x, y)
	x.slab |= extra | ys
	if ylabs == nil && x.elabs == nil && extra == Public {
		return
	}
	if x.elabs == nil {
		x.elabs = make([]Label, old, cap(x.elems))
	}
	for i := old; i < len(x.elems); i++ {
		var l Label
		if i-old < len(ylabs) {
			l = ylabs[i-old]
		}
		x.elabs = append(x.elabs, l|extra)
	}
}

// keyLabels returns the key labels in order, or nil if all are Public.
func (ht *hashtable) keyLabels() []Label {
	var out []Label
	i := 0
	for e := ht.head; e != nil; e = e.next {
		if e.klab != Public && out == nil {
			out = make([]Label, ht.len)
		}
		if out != nil {
			out[i] = e.klab
		}
		i++
	}
	return out
}

// This file is an Aegis addition: how a call to Go code is labelled.
//
// Every call of a builtin (or of a host value implementing Callable) goes
// through callBuiltin, which installs a builtin context on the thread for
// the duration of the call (the state behind PC, ArgLabel, KwargLabel,
// CallLabel and SetResultLabel), runs the builtin under its label rule, and
// hands the result label back to the interpreter (or, when the builtin was
// called from other Go code, folds it into the calling builtin's context).

package starlark

// builtinCtx is the label context of the builtin call in progress.
type builtinCtx struct {
	pendingCall       // the call's labels; pc is the pc of the call ⊔ the callee's label
	active      bool  // a builtin call is in progress
	recv        Value // bound receiver, if any
	args        Tuple
	kwargs      []Tuple
	j           Label // CallLabel, once computed
	jDone       bool
	res         Label // labels declared with SetResultLabel
	acc         Label // result and error labels of callbacks into Starlark
	// jMoves: J is taken afresh after each callback into Starlark, which
	// may have written labels into the builtin's inputs (lst.append(secret)
	// in a callback given lst): true for host builtins. This package's
	// audited rules keep J across callbacks: what they make after a
	// callback comes from elements, which carry their own labels, or from
	// what the callbacks returned (acc).
	jMoves bool
}

// callLabel returns J for the builtin call in progress.
func (thread *Thread) callLabel() Label {
	t := &thread.ifc
	b := &t.b
	if !b.active {
		return Public
	}
	if !b.jDone {
		j := b.pc | b.all()
		if t.sawLabel {
			for _, a := range b.args {
				j |= t.deepLabel(a)
			}
			for _, kv := range b.kwargs {
				j |= t.deepLabel(kv[1])
			}
			if b.recv != nil {
				j |= t.deepLabel(b.recv)
			}
		}
		b.j, b.jDone = j, true
	}
	return b.j
}

// callInternal runs a callee for Call: Starlark functions label themselves
// in the interpreter; everything else gets a builtin context and a rule.
func (thread *Thread) callInternal(c Callable, args Tuple, kwargs []Tuple) (Value, error) {
	switch c := c.(type) {
	case *Function:
		return c.CallInternal(thread, args, kwargs)
	case *Builtin:
		// (Comparing the pointers is what comparing the interfaces
		// does, without the runtime call.)
		pb, _ := thread.ifc.pending.fn.(*Builtin)
		return thread.callBuiltin(c, c, c.recv, c.rule, pb == c, args, kwargs)
	default:
		return thread.callBuiltin(c, c, nil, nil, thread.ifc.pending.names(c), args, kwargs)
	}
}

// invoke runs the Go code of c, a builtin or host callable.
func (thread *Thread) invoke(c Callable, args Tuple, kwargs []Tuple) (Value, error) {
	if b, ok := c.(*Builtin); ok {
		fn := b.fn
		if b.rule != nil && b.rule.call != nil {
			fn = b.rule.call
		}
		return fn(thread, b, args, kwargs)
	}
	return c.CallInternal(thread, args, kwargs)
}

// callBuiltin runs callee, a builtin or host callable (c, the same value
// as a Callable), under its label rule. fromInterp says whether the
// interpreter's CALL made the call (thread.ifc.pending names callee).
func (thread *Thread) callBuiltin(callee Value, c Callable, recv Value, rule *builtinRule, fromInterp bool, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	// The context of a builtin that called this one from Go is saved (on
	// t.bsaved, which keeps a local copy from being zeroed on every call)
	// and restored; from the interpreter, there is none.
	nested := t.b.active
	if nested {
		t.bsaved = append(t.bsaved, t.b)
	}
	bc := &t.b
	if fromInterp {
		bc.pendingCall = t.pending
		t.pending.fn = nil
	} else {
		// Called from another builtin's Go code, its arguments derive
		// from that builtin's inputs; from the host, they are public.
		var j Label
		if nested {
			j = thread.callLabel()
		}
		bc.pendingCall = pendingCall{pc: j, varLab: j, kwVarLab: j, shape: j}
	}
	bc.fn, bc.active, bc.recv, bc.args, bc.kwargs = callee, true, recv, args, kwargs
	bc.j, bc.jDone, bc.res, bc.acc = Public, false, Public, Public
	bc.jMoves = rule == nil || rule.kind != RuleAudited && rule.kind != RuleSink
	if bc.pc != Public {
		thread.noteHigh()
	}

	var z Value
	var zl Label
	var err error
	kind := RuleUnclassified
	if rule != nil {
		kind = rule.kind
	}
	switch kind {
	case RuleAware, RuleAudited, RuleSink:
		z, err = thread.invoke(c, args, kwargs)
		b := &t.b
		zl = b.pc | b.res | b.acc
		if kind == RuleAware && err == nil && z != nil && !isAtomic(z) {
			// A host's label-aware builtin may build labelled containers
			// (NewListLabeled) without declaring a result label. Walked
			// even after the first label, so that SeenLabel misses none.
			t.noteLabel(foreignLabel(z))
		}
	case RuleShallow:
		if atomicArgs(recv, args, kwargs) {
			z, err = thread.invoke(c, args, kwargs)
			b := &t.b
			zl = b.pc | b.all() | b.res | b.acc
			if err == nil {
				// A string method's result is about as large as its
				// inputs, which exist already: count it afterwards.
				if t.allocLimit > 0 {
					err = t.chargeResult(z)
				}
			}
			break
		}
		fallthrough
	default:
		z, zl, err = thread.conservativeCall(c, args, kwargs)
		if err == nil && z != nil && !isAtomic(z) {
			// A host builtin may return a value holding labels made on
			// another thread (walked even after the first label, for
			// SeenLabel).
			t.noteLabel(foreignLabel(z))
		}
	}
	if z != nil {
		var vl Label
		z, vl = unlabel(z)
		zl |= vl
	}
	// The rules of this package label results by writing the context
	// directly, not through SetResultLabel (which notes the label): a label
	// one found (a Labeled element of a host iterable, say) enters the
	// thread here, so that the interpreter's plain mode hands over.
	t.noteLabel(zl)
	if _, ok := err.(*AllocLimitError); ok {
		// How much the builtin would allocate depends on all its inputs.
		zl |= thread.callLabel()
	}
	var el Label
	if err != nil {
		// An error may depend on anything the builtin looked at: its
		// arguments' types and values, keyword names, how many arguments
		// a *args supplied, the contents of containers. Unless the
		// builtin declared exactly what it depends on (ExactLabelError),
		// it gets J, which covers every input.
		if x, ok := err.(*exactError); ok {
			el = t.b.pc | t.b.shape | x.l
		} else {
			el = thread.callLabel()
		}
		el |= zl | errChainLabel(err)
		if nested {
			// Exactness holds for the builtin that declared it only.
			if x, ok := err.(*exactError); ok {
				err = &labelledError{x.err, el}
			}
		}
	}
	errPC := t.b.pc
	if nested {
		n := len(t.bsaved) - 1
		t.b, t.bsaved[n] = t.bsaved[n], builtinCtx{}
		t.bsaved = t.bsaved[:n]
	} else {
		// Keep no references to the call's values.
		bc.active, bc.fn, bc.recv, bc.args, bc.kwargs, bc.pos, bc.kv = false, nil, nil, nil, nil, nil, nil
	}

	if err != nil {
		t.noteLabel(el)
		if e, ok := err.(*EvalError); ok {
			e.Label |= el
		} else {
			t.errLabel = el
			t.errPC = errPC
		}
	}
	if fromInterp {
		t.ret = zl
	} else if nested {
		t.b.acc |= zl | el
	}
	return z, err
}

// atomicArgs reports whether every argument and the receiver of a builtin
// call is atomic.
func atomicArgs(recv Value, args Tuple, kwargs []Tuple) bool {
	if recv != nil && !isAtomic(recv) {
		return false
	}
	for _, a := range args {
		if !isAtomic(a) {
			return false
		}
	}
	for _, kv := range kwargs {
		if !isAtomic(kv[1]) {
			return false
		}
	}
	return true
}

// conservativeCall runs callee under the conservative rule (see NewBuiltin).
func (thread *Thread) conservativeCall(callee Callable, args Tuple, kwargs []Tuple) (Value, Label, error) {
	t := &thread.ifc
	b := &t.b
	var j Label
	if t.sawLabel || b.pc != Public {
		j = thread.callLabel()
		if j != Public && !thread.mayWriteArgs() {
			return nil, j, &FlowError{Sink: calleeName(b.fn), Reason: nsuReason}
		}
	}
	z, err := thread.invoke(callee, args, kwargs)
	b = &t.b
	if !b.jDone {
		j = thread.callLabel() // a callback ran: J now (jMoves)
	}
	zl := j | b.acc
	if zl != Public {
		t.walk.reset()
		for _, a := range b.args {
			t.raiseAll(a, zl)
		}
		for _, kv := range b.kwargs {
			t.raiseAll(kv[1], zl)
		}
		if b.recv != nil {
			t.raiseAll(b.recv, zl)
		}
		if z != nil {
			t.raiseAll(z, zl)
		}
		t.walk.reset()
	}
	return z, zl, err
}

// mayWriteArgs reports whether the builtin call in progress may write into
// every container reachable from its arguments and receiver under
// no-sensitive-upgrade: the pc of the call, joined with the labels of the
// references leading to a container, must flow to its structure label.
func (thread *Thread) mayWriteArgs() bool {
	t := &thread.ifc
	b := &t.b
	t.walk.reset()
	defer t.walk.reset()
	for i, a := range b.args {
		if !t.checkWritable(a, b.pc|b.argLabel(i)) {
			return false
		}
	}
	for j, kv := range b.kwargs {
		if !t.checkWritable(kv[1], b.pc|b.kwLabel(j)) {
			return false
		}
	}
	return b.recv == nil || t.checkWritable(b.recv, b.pc)
}

func calleeName(v Value) string {
	if c, ok := v.(Callable); ok {
		return c.Name()
	}
	return v.Type()
}

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
		return thread.callBuiltin(c, c.recv, c.rule, func() (Value, error) {
			fn := c.fn
			if c.rule != nil && c.rule.call != nil {
				fn = c.rule.call
			}
			return fn(thread, c, args, kwargs)
		}, args, kwargs)
	default:
		return thread.callBuiltin(c, nil, nil, func() (Value, error) {
			return c.CallInternal(thread, args, kwargs)
		}, args, kwargs)
	}
}

// callBuiltin runs call, a builtin or host callable, under its label rule.
func (thread *Thread) callBuiltin(callee Value, recv Value, rule *builtinRule, call func() (Value, error), args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	// The context of a builtin that called this one from Go is saved and
	// restored; from the interpreter, there is none.
	nested := t.b.active
	var saved builtinCtx
	if nested {
		saved = t.b
	}
	fromInterp := t.pending.fn == callee
	c := &t.b
	if fromInterp {
		c.pendingCall = t.pending
		t.pending.fn = nil
	} else {
		// Called from another builtin's Go code, its arguments derive
		// from that builtin's inputs; from the host, they are public.
		var j Label
		if nested {
			j = thread.callLabel()
		}
		c.pendingCall = pendingCall{pc: j, varLab: j, kwVarLab: j, shape: j}
	}
	c.fn, c.active, c.recv, c.args, c.kwargs = callee, true, recv, args, kwargs
	c.j, c.jDone, c.res, c.acc = Public, false, Public, Public
	if c.pc != Public {
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
		z, err = call()
		b := &t.b
		zl = b.pc | b.res | b.acc
		if kind == RuleAware && err == nil && z != nil && !isAtomic(z) {
			// A host's label-aware builtin may build labelled containers
			// (NewListLabeled) without declaring a result label. Walked
			// even after the first label, so that SeenLabel misses none.
			t.noteLabel(foreignLabel(z))
		}
	case RuleShallow:
		if thread.atomicCall() {
			z, err = call()
			b := &t.b
			zl = b.pc | b.all() | b.res | b.acc
			if err == nil {
				// A string method's result is about as large as its
				// inputs, which exist already: count it afterwards.
				err = t.chargeResult(z)
			}
			break
		}
		fallthrough
	default:
		z, zl, err = thread.conservativeCall(call)
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
		t.noteLabel(vl)
	}
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
		t.b = saved
	} else {
		// Keep no references to the call's values.
		c.active, c.fn, c.recv, c.args, c.kwargs, c.pos, c.kv = false, nil, nil, nil, nil, nil, nil
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

// atomicCall reports whether every argument and the receiver of the builtin
// call in progress is atomic.
func (thread *Thread) atomicCall() bool {
	b := &thread.ifc.b
	if b.recv != nil && !isAtomic(b.recv) {
		return false
	}
	for _, a := range b.args {
		if !isAtomic(a) {
			return false
		}
	}
	for _, kv := range b.kwargs {
		if !isAtomic(kv[1]) {
			return false
		}
	}
	return true
}

// conservativeCall runs call under the conservative rule (see NewBuiltin).
func (thread *Thread) conservativeCall(call func() (Value, error)) (Value, Label, error) {
	t := &thread.ifc
	b := &t.b
	var j Label
	if t.sawLabel || b.pc != Public {
		j = thread.callLabel()
		if j != Public && !thread.mayWriteArgs() {
			return nil, j, &FlowError{Sink: calleeName(b.fn), Reason: nsuReason}
		}
	}
	z, err := call()
	b = &t.b
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

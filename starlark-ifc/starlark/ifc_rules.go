// This file is an Aegis addition: the label rule of every core builtin.
//
// A rule either classifies a builtin (shallow, conservative) or replaces its
// Go function by a wrapper that runs upstream's implementation and labels
// the result through the builtin context (audited). Upstream's functions in
// library.go stay as they are. ifcClassifyBuiltins runs at the end of
// library.go's init, when Universe and the method tables exist; the coverage
// test (ifc_rules_test.go) fails on any core builtin left unclassified.

package starlark

import (
	"fmt"
)

// ifcClassifyBuiltins attaches the label rules to the core builtins.
func ifcClassifyBuiltins() {
	audit := func(b Value, kind LabelRule, fn BuiltinFunc) {
		b.(*Builtin).rule = &builtinRule{kind: kind, call: fn}
	}
	audit(Universe["print"], RuleSink, rulePrint)
	audit(Universe["fail"], RuleAudited, ruleFail)
	audit(Universe["len"], RuleAudited, ruleLen)
	audit(Universe["bool"], RuleAudited, ruleBool)
	audit(Universe["type"], RuleAudited, ruleType)

	audit(listMethods["append"], RuleAudited, ruleListAppend)
	audit(listMethods["clear"], RuleAudited, ruleListClear)
	audit(listMethods["extend"], RuleAudited, ruleListExtend)
	audit(listMethods["index"], RuleAudited, ruleListIndex)
	audit(listMethods["insert"], RuleAudited, ruleListInsert)
	audit(listMethods["pop"], RuleAudited, ruleListPop)
	audit(listMethods["remove"], RuleAudited, ruleListRemove)
}

// ctx returns the builtin context of the call in progress.
func (thread *Thread) ctx() *builtinCtx { return &thread.ifc.b }

// nsu checks that the builtin call in progress may write into container v.
func (thread *Thread) nsu(v Value, sink string) error {
	return thread.CheckWrite(v, Public, sink)
}

// --- sinks ---

// rulePrint: print is an output sink. Under a labelled pc it is stopped (the
// output itself would reveal the condition); otherwise each labelled argument
// (reference or deep label) is replaced by thread.PrintRedaction, or, when
// that is empty, the call is stopped.
func rulePrint(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if c.pc != Public {
		return nil, &FlowError{Sink: "print", Reason: "the output would reveal the outcome of a condition on labelled data"}
	}
	red := thread.PrintRedaction
	var out Tuple
	for i, a := range args {
		if c.argLabel(i)|t.deepLabel(a) == Public {
			continue
		}
		if red == "" {
			return nil, &FlowError{Sink: "print", Reason: fmt.Sprintf("argument %d holds labelled data", i+1)}
		}
		if out == nil {
			out = append(Tuple(nil), args...)
		}
		out[i] = String(red)
	}
	var kw []Tuple
	for j, kv := range kwargs {
		if c.kwLabel(j)|t.deepLabel(kv[1]) == Public {
			continue
		}
		if red == "" {
			return nil, &FlowError{Sink: "print", Reason: "a keyword argument holds labelled data"}
		}
		if kw == nil {
			kw = append([]Tuple(nil), kwargs...)
		}
		kw[j] = Tuple{kv[0], String(red)}
	}
	if out == nil {
		out = args
	}
	if kw == nil {
		kw = kwargs
	}
	return print(thread, b, out, kw)
}

// ruleFail: the error message is made of every argument.
func ruleFail(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	thread.ctx().res |= thread.callLabel()
	return fail(thread, b, args, kwargs)
}

// --- universal functions ---

// ruleLen: the length of a container is its structure label; the elements
// do not matter.
func ruleLen(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= c.all()
	if len(args) == 1 {
		c.res |= thread.ifc.structLabel(args[0])
	}
	return len_(thread, b, args, kwargs)
}

// ruleBool: the truth of a container is its length.
func ruleBool(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= c.all()
	if len(args) == 1 {
		c.res |= thread.ifc.truthLabel(args[0], Public)
	}
	return bool_(thread, b, args, kwargs)
}

// ruleType: the type of a value is not derived from its contents.
func ruleType(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= c.all()
	return type_(thread, b, args, kwargs)
}

// --- list methods ---
//
// The receiver's reference label is part of the call's pc (the bound method
// carries it), so "pc" below already includes it. Mutators are checked by
// no-sensitive-upgrade; new elements get ℓarg ⊔ pc.

func ruleListAppend(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.append"); err != nil {
		return nil, err
	}
	c.res |= recv.slab
	z, err := list_append(thread, b, args, kwargs)
	if err == nil {
		recv.appendLabel(c.pc | c.argLabel(0))
	}
	return z, err
}

func ruleListClear(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.clear"); err != nil {
		return nil, err
	}
	c.res |= recv.slab
	return list_clear(thread, b, args, kwargs)
}

func ruleListExtend(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	var iterable Iterable
	if err := unpackPositionalArgsNoEscape(b.Name(), args, kwargs, 1, &iterable); err != nil {
		return nil, err
	}
	if err := thread.nsu(recv, "list.extend"); err != nil {
		return nil, err
	}
	c.res |= recv.slab
	if err := recv.checkMutable("extend"); err != nil {
		return nil, nameErr(b, err)
	}
	ifcListExtend(recv, iterable, c.pc|c.argLabel(0))
	return None, nil
}

// ruleListIndex: the answer depends on comparisons with every element.
func ruleListIndex(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= thread.callLabel()
	return list_index(thread, b, args, kwargs)
}

func ruleListInsert(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.insert"); err != nil {
		return nil, err
	}
	c.res |= recv.slab
	z, err := list_insert(thread, b, args, kwargs)
	if err != nil {
		return z, err
	}
	// Where the element went depends on the index.
	il := c.argLabel(0)
	recv.slab |= il
	lab := c.pc | il | c.argLabel(1)
	if recv.elabs == nil && lab == Public {
		return z, nil
	}
	n := len(recv.elems) - 1 // length before the insertion
	index, _ := AsInt32(args[0])
	if index < 0 {
		index += n
	}
	if index >= n {
		index = n
	} else if index < 0 {
		index = 0
	}
	if recv.elabs == nil {
		recv.elabs = make([]Label, n, n+1)
	}
	recv.elabs = append(recv.elabs, 0)
	copy(recv.elabs[index+1:], recv.elabs[index:])
	recv.elabs[index] = lab
	return z, nil
}

func ruleListPop(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.pop"); err != nil {
		return nil, err
	}
	il := c.argLabel(0)
	c.res |= recv.slab | il
	n := len(recv.elems)
	i := n - 1
	if len(args) > 0 {
		var err error
		if i, err = AsInt32(args[0]); err != nil {
			i = -1 - n // let upstream report the error
		}
	}
	if i < 0 {
		i += n
	}
	var el Label
	if 0 <= i && i < n {
		el = recv.elabAt(i)
	}
	z, err := list_pop(thread, b, args, kwargs)
	if err != nil {
		return z, err
	}
	c.res |= el
	recv.slab |= il // which element went depends on the index
	if recv.elabs != nil {
		recv.elabs = append(recv.elabs[:i], recv.elabs[i+1:]...)
	}
	return z, nil
}

// ruleListRemove: which element goes depends on comparisons with every
// element.
func ruleListRemove(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.remove"); err != nil {
		return nil, err
	}
	j := thread.callLabel()
	c.res |= j
	idx := -1
	if recv.elabs != nil && len(args) == 1 {
		for i, elem := range recv.elems {
			if eq, err := Equal(elem, args[0]); err != nil {
				break
			} else if eq {
				idx = i
				break
			}
		}
	}
	z, err := list_remove(thread, b, args, kwargs)
	if err != nil {
		return z, err
	}
	if !recv.frozen {
		recv.slab |= j
	}
	if recv.elabs != nil && idx >= 0 {
		recv.elabs = append(recv.elabs[:idx], recv.elabs[idx+1:]...)
	}
	return z, nil
}

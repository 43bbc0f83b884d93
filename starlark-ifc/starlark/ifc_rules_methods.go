// This file is an Aegis addition: the label rules of the methods of strings,
// lists, dicts and sets (see ifc_rules.go).
//
// The receiver's reference label is part of the call's pc (the bound method
// carries it), so "pc" below already includes it. Mutators are checked by
// no-sensitive-upgrade; new elements get the argument's label ⊔ pc.

package starlark

import (
	"strings"
	"unicode/utf8"
)

// --- list methods ---

func ruleListAppend(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	recv := b.Receiver().(*List)
	if err := thread.nsu(recv, "list.append"); err != nil {
		return nil, err
	}
	c.res |= recv.slab
	if err := thread.ifc.alloc(valueBytes); err != nil {
		return nil, err
	}
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
	if err := thread.ifc.alloc(seqSize(iterable)); err != nil {
		return nil, err
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
	if err := thread.ifc.alloc(valueBytes); err != nil {
		return nil, err
	}
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

// --- string methods ---

// ruleJoin: the result reads every element of the iterable.
func ruleJoin(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	c.res |= c.all()
	for _, a := range args {
		c.res |= t.contentsLabel(a)
	}
	if t.allocLimit > 0 && len(args) == 1 {
		sep := int64(len(b.Receiver().(String)))
		if iter := Iterate(args[0]); iter != nil {
			var n, i int64
			var x Value
			for ; iter.Next(&x); i++ {
				if s, ok := x.(String); ok {
					n = addSize(n, int64(len(s)))
				}
				if i > 0 {
					n = addSize(n, sep)
				}
			}
			iter.Done()
			if err := t.fits(n); err != nil {
				return nil, err
			}
		}
	}
	z, err := string_join(thread, b, args, kwargs)
	if err == nil {
		err = t.chargeResult(z)
	}
	return z, err
}

// ruleFormat: each replacement field renders an argument with str or repr.
func ruleFormat(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	t.b.res |= thread.callLabel()
	if t.allocLimit > 0 {
		if err := t.fits(formatBound(string(b.Receiver().(String)), args, kwargs)); err != nil {
			return nil, err
		}
	}
	z, err := string_format(thread, b, args, kwargs)
	if err == nil {
		err = t.chargeResult(z)
	}
	return z, err
}

// formatBound bounds the size of format.format(*args, **kwargs).
func formatBound(format string, args Tuple, kwargs []Tuple) int64 {
	var sw sizeWalker
	var most int64
	for _, a := range args {
		most = max(most, sw.bound(a))
	}
	for _, kv := range kwargs {
		most = max(most, sw.bound(kv[1]))
	}
	n := addSize(int64(len(format)), mulSize(int64(strings.Count(format, "{")), most))
	return addSize(n, formatSpecBound(format, most))
}

// ruleReplace: shallow, with the size of the result checked first.
func ruleReplace(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	c.res |= c.all()
	if t.allocLimit > 0 && len(args) >= 2 {
		recv := string(b.Receiver().(String))
		old, ok1 := AsString(args[0])
		new, ok2 := AsString(args[1])
		if ok1 && ok2 {
			var k int64
			if old == "" {
				k = int64(utf8.RuneCountInString(recv)) + 1
			} else {
				k = int64(strings.Count(recv, old))
			}
			if len(args) == 3 {
				if n, ok := args[2].(Int); ok {
					if m, ok := n.Int64(); ok && m >= 0 {
						k = min(k, m)
					}
				}
			}
			if err := t.fits(addSize(int64(len(recv)), mulSize(k, int64(len(new))))); err != nil {
				return nil, err
			}
		}
	}
	z, err := string_replace(thread, b, args, kwargs)
	if err == nil {
		err = t.chargeResult(z)
	}
	return z, err
}

// ruleSplit (split, rsplit, splitlines): how many parts there are depends on
// the string, so the new list's structure carries the shallow label.
func ruleSplit(fn BuiltinFunc) BuiltinFunc {
	return func(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
		t := &thread.ifc
		c := &t.b
		z, err := fn(thread, b, args, kwargs)
		if l, ok := z.(*List); ok && err == nil {
			l.slab |= c.pc | c.all()
			err = t.chargeResult(l)
		} else {
			c.res |= c.all()
		}
		return z, err
	}
}

// --- dict methods ---

// ruleDictGet: the answer depends on the key set and on the entry found.
// It is upstream's dict_get with a lookup that also finds the labels.
func ruleDictGet(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	d := b.Receiver().(*Dict)
	c.res |= c.all() | d.ht.slab
	var key, dflt Value
	if err := unpackPositionalArgsNoEscape(b.Name(), args, kwargs, 1, &key, &dflt); err != nil {
		return nil, err
	}
	if e, err := d.ht.lookupEntry(key); err != nil {
		return nil, nameErr(b, err)
	} else if e != nil {
		c.res |= e.klab | e.vlab
		return e.value, nil
	} else if dflt != nil {
		return dflt, nil
	}
	return None, nil
}

// ruleDictView (keys, values, items): a new list with the entries' labels
// and the dict's structure.
func ruleDictView(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	d := b.Receiver().(*Dict)
	c.res |= c.all()
	if err := t.fits(seqSize(d)); err != nil {
		return nil, err
	}
	z, err := b.fn(thread, b, args, kwargs)
	l, ok := z.(*List)
	if !ok || err != nil {
		return z, err
	}
	l.slab |= c.pc | d.ht.slab
	if len(l.elems) == int(d.ht.len) {
		var comps [][]Label
		if b.Name() == "items" {
			comps = make([][]Label, 0, len(l.elems))
			for e := d.ht.head; e != nil; e = e.next {
				comps = append(comps, []Label{e.klab, e.vlab})
			}
			defer l.setComponents(comps, true)
		}
		i := 0
		for e := d.ht.head; e != nil; e = e.next {
			var x Label
			switch b.Name() {
			case "keys":
				x = e.klab
			case "values":
				x = e.vlab
			default:
				x = e.klab | e.vlab
			}
			l.setElemLabel(i, x)
			i++
		}
	}
	return l, t.chargeResult(l)
}

func ruleDictClear(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	d := b.Receiver().(*Dict)
	if err := thread.nsu(d, "dict.clear"); err != nil {
		return nil, err
	}
	thread.ctx().res |= d.ht.slab
	return dict_clear(thread, b, args, kwargs)
}

// ruleDictPop: which entry goes depends on the key.
func ruleDictPop(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	d := b.Receiver().(*Dict)
	if err := thread.nsu(d, "dict.pop"); err != nil {
		return nil, err
	}
	c.res |= c.all() | d.ht.slab
	if len(args) >= 1 {
		if e, _ := d.ht.lookupEntry(args[0]); e != nil {
			c.res |= e.klab | e.vlab
		}
	}
	z, err := dict_pop(thread, b, args, kwargs)
	if !d.ht.frozen {
		d.ht.slab |= c.pc | c.argLabel(0)
	}
	return z, err
}

func ruleDictPopitem(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	d := b.Receiver().(*Dict)
	if err := thread.nsu(d, "dict.popitem"); err != nil {
		return nil, err
	}
	c.res |= d.ht.slab
	if e := d.ht.head; e != nil {
		c.res |= e.klab | e.vlab
	}
	return dict_popitem(thread, b, args, kwargs)
}

// ruleDictSetdefault: whether it inserts depends on the key set and the
// key; the structure label takes the key's label on every call, so that it
// does not depend on which happened.
func ruleDictSetdefault(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	d := b.Receiver().(*Dict)
	if err := thread.nsu(d, "dict.setdefault"); err != nil {
		return nil, err
	}
	c.res |= c.all() | d.ht.slab
	var had bool
	if len(args) >= 1 {
		if e, _ := d.ht.lookupEntry(args[0]); e != nil {
			c.res |= e.klab | e.vlab
			had = true
		}
	}
	if err := t.alloc(entryBytes); err != nil {
		return nil, err
	}
	z, err := dict_setdefault(thread, b, args, kwargs)
	if err != nil || d.ht.frozen {
		return z, err
	}
	d.ht.slab |= c.pc | c.argLabel(0)
	if !had {
		if e, _ := d.ht.lookupEntry(args[0]); e != nil {
			e.klab |= c.pc | c.argLabel(0)
			e.vlab = c.pc | c.argLabel(1)
		}
	}
	return z, nil
}

func ruleDictUpdate(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	d := b.Receiver().(*Dict)
	if err := thread.nsu(d, "dict.update"); err != nil {
		return nil, err
	}
	c.res |= d.ht.slab
	if err := t.expandFits(args); err != nil {
		return nil, err
	}
	snap := snapshotEntries(args)
	z, err := dict_update(thread, b, args, kwargs)
	if !d.ht.frozen {
		// Also after an error: some entries may have been written.
		t.labelUpdate(d, args, snap, kwargs, c.pc)
	}
	if err != nil {
		c.res |= thread.callLabel()
		return z, err
	}
	return z, t.alloc(mulSize(int64(len(kwargs)), entryBytes))
}

// --- set methods ---

// ruleSetAdd: whether the set grows depends on the element.
func ruleSetAdd(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	s := b.Receiver().(*Set)
	if err := thread.nsu(s, "set.add"); err != nil {
		return nil, err
	}
	c.res |= s.ht.slab | c.all()
	if err := t.alloc(entryBytes); err != nil {
		return nil, err
	}
	z, err := set_add(thread, b, args, kwargs)
	if err == nil {
		s.ht.slab |= c.pc | c.argLabel(0)
	}
	return z, err
}

func ruleSetClear(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	s := b.Receiver().(*Set)
	if err := thread.nsu(s, "set.clear"); err != nil {
		return nil, err
	}
	thread.ctx().res |= s.ht.slab
	return set_clear(thread, b, args, kwargs)
}

// ruleSetRemove (discard, remove): whether it removes depends on the
// element and on the set.
func ruleSetRemove(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	s := b.Receiver().(*Set)
	if err := thread.nsu(s, "set."+b.Name()); err != nil {
		return nil, err
	}
	c.res |= s.ht.slab | c.all()
	z, err := b.fn(thread, b, args, kwargs)
	if !s.ht.frozen {
		s.ht.slab |= c.pc | c.argLabel(0)
	}
	return z, err
}

func ruleSetPop(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	s := b.Receiver().(*Set)
	if err := thread.nsu(s, "set.pop"); err != nil {
		return nil, err
	}
	c.res |= s.ht.slab
	if e := s.ht.head; e != nil {
		c.res |= e.klab
	}
	return set_pop(thread, b, args, kwargs)
}

func ruleSetUpdate(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	s := b.Receiver().(*Set)
	if err := thread.nsu(s, "set.update"); err != nil {
		return nil, err
	}
	c.res |= s.ht.slab | c.all()
	if err := t.expandFits(args); err != nil {
		return nil, err
	}
	z, err := set_update(thread, b, args, kwargs)
	if !s.ht.frozen {
		s.ht.slab |= c.pc | c.all()
		for _, a := range args {
			s.ht.slab |= t.contentsLabel(a)
		}
	}
	if err == nil {
		err = t.alloc(mulSize(int64(s.Len()), entryBytes))
	}
	return z, err
}

// ruleSetNew (union, intersection, difference, symmetric_difference): a new
// set whose members depend on both operands.
func ruleSetNew(fn BuiltinFunc) BuiltinFunc {
	return func(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
		t := &thread.ifc
		c := &t.b
		s := b.Receiver().(*Set)
		l := c.all() | s.ht.slab
		for _, a := range args {
			l |= t.contentsLabel(a)
		}
		c.res |= l
		if err := t.expandFits(append(Tuple{s}, args...)); err != nil {
			return nil, err
		}
		z, err := fn(thread, b, args, kwargs)
		if r, ok := z.(*Set); ok && err == nil {
			r.ht.slab |= c.pc | l
			err = t.chargeResult(r)
		}
		return z, err
	}
}

// This file is an Aegis addition: walks over the object graph reachable from a
// value, for deep labels D(v), no-sensitive-upgrade checks of builtins that
// may write into their arguments, and label raises after such builtins.
//
// Every walk visits each object at most once per label it is reached with (a
// DAG of shared tuples must not cost exponential time, and cycles must end),
// using a small inline set that spills to a map.

package starlark

import (
	"reflect"
	"unsafe"
)

// walkKey identifies an object: its address, and for a tuple its length too
// (a tuple and its prefix share an address).
type walkKey struct {
	p unsafe.Pointer
	n int
}

// walker is the scratch state of one walk.
type walker struct {
	small  [8]walkKey
	smallL [8]Label
	n      int
	seen   map[walkKey]Label
	paths  bool // track path labels (no-sensitive-upgrade checks); otherwise every path label is Public
	// modules: also visit the globals of the module of every function
	// (foreignLabel)
	modules bool
}

func (w *walker) reset() {
	w.n = 0
	w.paths = false
	w.modules = false
	if w.seen != nil {
		clear(w.seen)
	}
}

// enter reports whether the object k should be visited with path label l: it
// was not seen yet, or only with a label that does not cover l.
func (w *walker) enter(k walkKey, l Label) bool {
	for i := 0; i < w.n; i++ {
		if w.small[i] == k {
			if l&^w.smallL[i] == 0 {
				return false
			}
			w.smallL[i] |= l
			return true
		}
	}
	if w.seen != nil {
		if old, ok := w.seen[k]; ok {
			if l&^old == 0 {
				return false
			}
			w.seen[k] = old | l
			return true
		}
	}
	if w.n < len(w.small) {
		w.small[w.n] = k
		w.smallL[w.n] = l
		w.n++
		return true
	}
	if w.seen == nil {
		w.seen = make(map[walkKey]Label)
	}
	w.seen[k] = l
	return true
}

func ptrKey[T any](p *T) walkKey { return walkKey{p: unsafe.Pointer(p)} }

func tupleKey(t Tuple) walkKey { return walkKey{p: unsafe.Pointer(unsafe.SliceData(t)), n: len(t)} }

// hostKey identifies a host value by its pointer, if it is one.
func hostKey(v Value) (walkKey, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return walkKey{p: rv.UnsafePointer()}, true
	}
	return walkKey{}, false
}

// isAtomic reports whether v holds no other value whose labels could differ
// from v's reference label: D(v) is Public and v cannot be written.
func isAtomic(v Value) bool {
	switch x := v.(type) {
	case NoneType, Bool, Int, Float, String, Bytes, rangeValue, stringElems, stringCodepoints, bytesIterable:
		return true
	case Tuple:
		for _, e := range x {
			if !isAtomic(e) {
				return false
			}
		}
		return true
	}
	return false
}

// deep returns D(v). The walker must be fresh or reset. Lists, tuples,
// dicts and sets, the common case, are walked directly with their scalar
// elements skipped inline; anything else goes through each.
func (w *walker) deep(v Value) Label {
	switch x := v.(type) {
	case NoneType, Bool, Int, Float, String, Bytes:
		return Public
	case *List:
		if !w.enter(ptrKey(x), Public) {
			return Public
		}
		l := x.slab | x.elabAll()
		for _, e := range x.elems {
			if !isScalar(e) {
				l |= w.deep(e)
			}
		}
		return l
	case Tuple:
		if len(x) == 0 || !w.enter(tupleKey(x), Public) {
			return Public
		}
		var l Label
		for _, e := range x {
			if !isScalar(e) {
				l |= w.deep(e)
			}
		}
		return l
	case *Dict:
		if !w.enter(ptrKey(x), Public) {
			return Public
		}
		l := x.ht.slab
		for e := x.ht.head; e != nil; e = e.next {
			l |= e.klab | e.vlab
			if !isScalar(e.key) {
				l |= w.deep(e.key)
			}
			if !isScalar(e.value) {
				l |= w.deep(e.value)
			}
		}
		return l
	case *Set:
		if !w.enter(ptrKey(x), Public) {
			return Public
		}
		l := x.ht.slab
		for e := x.ht.head; e != nil; e = e.next {
			l |= e.klab
			if !isScalar(e.key) {
				l |= w.deep(e.key)
			}
		}
		return l
	}
	var l Label
	w.each(v, Public, func(x Value, _ Label, inner Label) { l |= inner })
	return l
}

// each calls f for every object reachable from v (v included), with the path
// label p of the references that led to it (the reference labels, structure
// and element labels on the way, starting with p0) and the labels held
// directly inside it (structure and element labels, cell labels, Labeled
// labels). Objects are visited once per path label.
func (w *walker) each(v Value, p Label, f func(x Value, path, inner Label)) {
	if !w.paths {
		p = Public
	}
	switch x := v.(type) {
	case nil, NoneType, Bool, Int, Float, String, Bytes, rangeValue, stringElems, stringCodepoints, bytesIterable:
		return
	case *List:
		if !w.enter(ptrKey(x), p) {
			return
		}
		f(x, p, x.slab|x.elabAll())
		q := p | x.slab
		for i, e := range x.elems {
			w.each(e, q|x.elabAt(i), f)
		}
	case Tuple:
		if len(x) == 0 || !w.enter(tupleKey(x), p) {
			return
		}
		for _, e := range x {
			w.each(e, p, f)
		}
	case *Dict:
		if !w.enter(ptrKey(x), p) {
			return
		}
		f(x, p, x.ht.labelsAll())
		q := p | x.ht.slab
		for e := x.ht.head; e != nil; e = e.next {
			w.each(e.key, q|e.klab, f)
			w.each(e.value, q|e.klab|e.vlab, f)
		}
	case *Set:
		if !w.enter(ptrKey(x), p) {
			return
		}
		f(x, p, x.ht.labelsAll())
		q := p | x.ht.slab
		for e := x.ht.head; e != nil; e = e.next {
			w.each(e.key, q|e.klab, f)
		}
	case *Function:
		if !w.enter(ptrKey(x), p) {
			return
		}
		f(x, p, x.dlab)
		for _, d := range x.defaults {
			w.each(d, p|x.dlab, f)
		}
		for _, fv := range x.freevars {
			w.each(fv, p, f)
		}
		if m := x.module; w.modules && m != nil && w.enter(ptrKey(m), p) {
			for i, g := range m.globals {
				f(x, p, m.globalLabels[i])
				w.each(g, p|m.globalLabels[i], f)
			}
		}
	case *cell:
		if !w.enter(ptrKey(x), p) {
			return
		}
		f(x, p, x.l)
		w.each(x.v, p|x.l, f)
	case *Builtin:
		if x.recv != nil {
			w.each(x.recv, p, f)
		}
	case Labeled:
		f(x, p, x.L)
		w.each(x.V, p|x.L, f)
	case ChildVisitor:
		if k, ok := hostKey(x); ok && !w.enter(k, p) {
			return
		}
		f(x, p, Public)
		x.VisitChildren(func(c Value) { w.each(c, p, f) })
	}
}

// elabAll returns the join of l's element labels.
func (l *List) elabAll() Label {
	var j Label
	for _, x := range l.elabs {
		j |= x
	}
	return j
}

// elabAt returns the label of element i (Public if the list has no labels).
func (l *List) elabAt(i int) Label {
	if l.elabs == nil {
		return Public
	}
	return l.elabs[i]
}

// labelsAll returns the join of the structure label and every entry label.
func (ht *hashtable) labelsAll() Label {
	l := ht.slab
	for e := ht.head; e != nil; e = e.next {
		l |= e.klab | e.vlab
	}
	return l
}

// foreignLabel returns D(v) joined with, for every function reachable from
// v, the labels of its module's globals: everything a value made elsewhere
// (by another thread) may bring into a thread. It tells a thread whether it
// may keep skipping deep walks and running label-free (fastLoop).
func foreignLabel(v Value) Label {
	var l Label
	w := walker{modules: true}
	w.each(v, Public, func(_ Value, _, inner Label) { l |= inner })
	return l
}

// deepLabel is D(v) for the thread: Public while no label has entered it.
func (t *ifcThread) deepLabel(v Value) Label {
	if !t.sawLabel {
		return Public
	}
	switch v.(type) {
	case NoneType, Bool, Int, Float, String, Bytes:
		return Public
	}
	t.walk.reset()
	l := t.walk.deep(v)
	t.walk.reset()
	return l
}

// deepLabel2 is D(x) ⊔ D(y), visiting what they share once.
func (t *ifcThread) deepLabel2(x, y Value) Label {
	if !t.sawLabel {
		return Public
	}
	t.walk.reset()
	l := t.walk.deep(x) | t.walk.deep(y)
	t.walk.reset()
	return l
}

// checkWritable implements no-sensitive-upgrade for a builtin that may write
// anywhere into v: every unfrozen container reachable from v must have a
// structure label covering p (the pc of the call joined with v's reference
// label) joined with the labels of the references on the path to it.
func (t *ifcThread) checkWritable(v Value, p Label) bool {
	ok := true
	t.walk.paths = true
	t.walk.each(v, p, func(x Value, path, _ Label) {
		if s, mutable := structureOf(x); mutable && path&^s != 0 {
			ok = false
		}
	})
	return ok
}

// raiseAll joins l into the structure label of every unfrozen container
// reachable from v.
func (t *ifcThread) raiseAll(v Value, l Label) {
	t.walk.each(v, Public, func(x Value, _, _ Label) { RaiseStructureLabel(x, l) })
}

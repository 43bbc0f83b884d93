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
	paths  bool       // track path labels (no-sensitive-upgrade checks); otherwise every path label is Public
	stack  []walkItem // scratch stack of the walk in progress, kept between walks
	busy   bool       // stack is in use
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
	switch v.(type) { // the commonest cases first, without a call (isAtomicSlow)
	case Int, String, NoneType, Bool:
		return true
	}
	return isAtomicSlow(v)
}

// isAtomicSlow is isAtomic, in full.
func isAtomicSlow(v Value) bool {
	if t, ok := v.(Tuple); ok {
		return tupleAtomic(t)
	}
	return atomicLeaf(v)
}

// atomicLeaf reports whether v, not a tuple, is atomic.
func atomicLeaf(v Value) bool {
	switch v.(type) {
	case NoneType, Bool, Int, Float, String, Bytes, rangeValue, stringElems, stringCodepoints, bytesIterable:
		return true
	}
	return false
}

// tupleAtomic reports whether every element of t, and of the tuples in
// it, is atomic. A flat tuple costs one pass. Nested tuples are walked
// with an explicit stack, each distinct tuple once: tuples may nest a
// million deep, and a few dozen of them can hold each other in
// exponentially many ways (t = (t, t)).
func tupleAtomic(t Tuple) bool {
	nested := false
	for _, e := range t {
		if _, ok := e.(Tuple); ok {
			nested = true
		} else if !atomicLeaf(e) {
			return false
		}
	}
	if !nested {
		return true
	}
	var seen walker
	stack := []Tuple{t}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !seen.enter(tupleKey(x), Public) {
			continue
		}
		for _, e := range x {
			if et, ok := e.(Tuple); ok {
				stack = append(stack, et)
			} else if !atomicLeaf(e) {
				return false
			}
		}
	}
	return true
}

// walkItem is a pending visit of an explicit-stack walk: a value and the
// path label it was reached with.
type walkItem struct {
	v Value
	p Label
}

// scratch returns the walker's scratch stack for a new walk, and whether
// the walk owns it; while another walk of this walker is in progress (deep
// calls each), a fresh one.
func (w *walker) scratch() ([]walkItem, bool) {
	if w.busy {
		return make([]walkItem, 0, 16), false
	}
	w.busy = true
	return w.stack[:0], true
}

// release hands the scratch stack back after a walk that owned it.
func (w *walker) release(s []walkItem, owned bool) {
	if owned {
		w.stack, w.busy = s[:0], false
	}
}

// deep returns D(v). The walker must be fresh or reset. Lists, tuples,
// dicts and sets, the common case, are walked directly with their scalar
// elements skipped inline; anything else goes through each. The walk uses an
// explicit stack: no nesting depth can overflow the Go stack.
func (w *walker) deep(v Value) Label {
	switch v.(type) {
	case NoneType, Bool, Int, Float, String, Bytes:
		return Public
	}
	var l Label
	stack, owned := w.scratch()
	stack = append(stack, walkItem{v: v})
	for len(stack) > 0 {
		v := stack[len(stack)-1].v
		stack = stack[:len(stack)-1]
		switch x := v.(type) {
		case NoneType, Bool, Int, Float, String, Bytes:
		case *List:
			if !w.enter(ptrKey(x), Public) {
				continue
			}
			l |= x.slab | x.elabAll()
			for _, e := range x.elems {
				if !isScalarFast(e) {
					stack = append(stack, walkItem{v: e})
				}
			}
		case Tuple:
			if len(x) == 0 || !w.enter(tupleKey(x), Public) {
				continue
			}
			for _, e := range x {
				if !isScalarFast(e) {
					stack = append(stack, walkItem{v: e})
				}
			}
		case *Dict:
			if !w.enter(ptrKey(x), Public) {
				continue
			}
			l |= x.ht.slab
			for e := x.ht.head; e != nil; e = e.next {
				l |= e.klab | e.vlab
				if !isScalarFast(e.key) {
					stack = append(stack, walkItem{v: e.key})
				}
				if !isScalarFast(e.value) {
					stack = append(stack, walkItem{v: e.value})
				}
			}
		case *Set:
			if !w.enter(ptrKey(x), Public) {
				continue
			}
			l |= x.ht.slab
			for e := x.ht.head; e != nil; e = e.next {
				l |= e.klab
				if !isScalarFast(e.key) {
					stack = append(stack, walkItem{v: e.key})
				}
			}
		default:
			w.each(v, Public, func(x Value, _ Label, inner Label) { l |= inner })
		}
	}
	w.release(stack, owned)
	return l
}

// isScalarFast is isScalar with the commonest element types tested first,
// inline: deep walks test every element of a container.
func isScalarFast(x Value) bool {
	if _, ok := x.(Int); ok {
		return true
	}
	if _, ok := x.(String); ok {
		return true
	}
	return isScalar(x)
}

// each calls f for every object reachable from v (v included), with the path
// label p of the references that led to it (the reference labels, structure
// and element labels on the way, starting with p0) and the labels held
// directly inside it (structure and element labels, cell labels, Labeled
// labels). Objects are visited once per path label. The walk uses an
// explicit stack: no nesting depth can overflow the Go stack.
func (w *walker) each(v Value, p Label, f func(x Value, path, inner Label)) {
	stack, owned := w.scratch()
	push := func(v Value, p Label) { stack = append(stack, walkItem{v, p}) }
	push(v, p)
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v, p := it.v, it.p
		if !w.paths {
			p = Public
		}
		switch x := v.(type) {
		case nil, NoneType, Bool, Int, Float, String, Bytes, rangeValue, stringElems, stringCodepoints, bytesIterable:
		case *List:
			if !w.enter(ptrKey(x), p) {
				continue
			}
			f(x, p, x.slab|x.elabAll())
			q := p | x.slab
			for i, e := range x.elems {
				push(e, q|x.elabAt(i))
			}
		case Tuple:
			if len(x) == 0 || !w.enter(tupleKey(x), p) {
				continue
			}
			for _, e := range x {
				push(e, p)
			}
		case *Dict:
			if !w.enter(ptrKey(x), p) {
				continue
			}
			f(x, p, x.ht.labelsAll())
			q := p | x.ht.slab
			for e := x.ht.head; e != nil; e = e.next {
				push(e.key, q|e.klab)
				push(e.value, q|e.klab|e.vlab)
			}
		case *Set:
			if !w.enter(ptrKey(x), p) {
				continue
			}
			f(x, p, x.ht.labelsAll())
			q := p | x.ht.slab
			for e := x.ht.head; e != nil; e = e.next {
				push(e.key, q|e.klab)
			}
		case *Function:
			if !w.enter(ptrKey(x), p) {
				continue
			}
			f(x, p, x.dlab)
			for _, d := range x.defaults {
				push(d, p|x.dlab)
			}
			for _, fv := range x.freevars {
				push(fv, p)
			}
			if m := x.module; w.modules && m != nil && w.enter(ptrKey(m), p) {
				for i, g := range m.globals {
					f(x, p, m.globalLabels[i])
					push(g, p|m.globalLabels[i])
				}
			}
		case *cell:
			if !w.enter(ptrKey(x), p) {
				continue
			}
			f(x, p, x.l)
			push(x.v, p|x.l)
		case *Builtin:
			if x.recv != nil {
				push(x.recv, p)
			}
		case Labeled:
			f(x, p, x.L)
			push(x.V, p|x.L)
		case ChildVisitor:
			if k, ok := hostKey(x); ok && !w.enter(k, p) {
				continue
			}
			f(x, p, Public)
			x.VisitChildren(func(c Value) { push(c, p) })
		}
	}
	w.release(stack, owned)
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
// may keep skipping deep walks and running the plain instance of interpret.
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

// This file is an Aegis addition: resource limits beside upstream's step
// limit and cancellation: the Starlark call depth and an estimate of the
// bytes the interpreter allocates for strings, bytes, lists, tuples, dicts
// and sets.
//
// The allocation estimate is cumulative (what was allocated, not what is
// live) and deliberately coarse: a Value slot counts valueBytes, a dict or
// set entry entryBytes, a string or bytes value its length. Operations that
// can allocate much more than their operands (s * n, l * n, +, +=, join,
// replace, % and format, str and repr of shared structures, list(range(n))
// and other builtins expanding a lazy sequence) are checked before they
// allocate; everything else is counted as it happens, and builtin results
// are counted after the call.
//
// Hitting a limit is an ordinary runtime error, labelled like any other
// (the pc and the operands of the failing operation). How much was
// allocated before, or how deep the stack was, may itself depend on labelled
// data: that is a residual channel of at most one bit per run (the run
// stops), documented in docs/ifc-model.md.

package starlark

import (
	"math"
	"strings"

	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

const (
	valueBytes = 16 // one Value slot of a list or tuple
	entryBytes = 64 // one dict or set entry
)

// SetMaxCallDepth limits the depth of the call stack (frames of Starlark
// functions and of builtins); 0 means no limit beyond upstream's. A call
// beyond the limit fails with a *CallDepthError. Recursion itself is governed by
// the FileOptions.Recursion dialect option, as upstream.
func (thread *Thread) SetMaxCallDepth(n int) {
	thread.ifc.depthLimit = max(n, 0)
}

// checkCallDepth enforces SetMaxCallDepth when a Starlark function starts.
func (thread *Thread) checkCallDepth() error {
	if d := thread.ifc.depthLimit; d > 0 && len(thread.stack) > d {
		return &CallDepthError{Limit: d}
	}
	return nil
}

// SetMaxAllocBytes limits the estimated number of bytes this thread's
// Starlark code may allocate for strings, bytes, lists, tuples, dicts and
// sets, counted cumulatively from this call on; 0 means no limit. An
// operation that would exceed it fails with an *AllocLimitError ("allocation
// limit exceeded") before it allocates.
func (thread *Thread) SetMaxAllocBytes(n int64) {
	thread.ifc.allocLimit = max(n, 0)
	thread.ifc.allocated = 0
}

// AllocatedBytes returns the allocation estimate counted since the last
// SetMaxAllocBytes (only counted while a limit is set).
func (thread *Thread) AllocatedBytes() int64 { return thread.ifc.allocated }

// alloc charges n bytes, or fails if that would pass the limit.
func (t *ifcThread) alloc(n int64) error {
	if t.allocLimit <= 0 {
		return nil
	}
	if n < 0 || n > t.allocLimit-t.allocated {
		return &AllocLimitError{Limit: t.allocLimit}
	}
	t.allocated += n
	return nil
}

// allocIf is alloc for the interpreter loop: inlined, it costs one compare
// when no limit is set.
func (t *ifcThread) allocIf(n int64) error {
	if t.allocLimit <= 0 {
		return nil
	}
	return t.alloc(n)
}

// fits fails if n more bytes would pass the limit, without charging them
// (the caller charges what is actually allocated afterwards).
func (t *ifcThread) fits(n int64) error {
	if t.allocLimit > 0 && (n < 0 || n > t.allocLimit-t.allocated) {
		return &AllocLimitError{Limit: t.allocLimit}
	}
	return nil
}

// mulSize returns a*b, saturated at MaxInt64, for non-negative a and b.
func mulSize(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// addSize returns a+b, saturated at MaxInt64, for non-negative a and b.
func addSize(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// seqSize is the allocation of a copy of the sequence x (0 if x is not a
// sequence of known length).
func seqSize(x Value) int64 {
	switch x := x.(type) {
	case String:
		return int64(len(x))
	case Bytes:
		return int64(len(x))
	case *Dict:
		return mulSize(int64(x.Len()), entryBytes)
	case *Set:
		return mulSize(int64(x.Len()), entryBytes)
	}
	if n := Len(x); n > 0 {
		return mulSize(int64(n), valueBytes)
	}
	return 0
}

// binaryAlloc checks, before x op y runs, the allocation it will make.
func (t *ifcThread) binaryAlloc(op syntax.Token, x, y Value) error {
	switch op {
	case syntax.PLUS:
		switch x.(type) {
		case String, Bytes, *List, Tuple:
			if sameType(x, y) {
				return t.alloc(addSize(seqSize(x), seqSize(y)))
			}
		}
	case syntax.STAR:
		seq, n := x, y
		if _, ok := x.(Int); ok {
			seq, n = y, x
		}
		switch seq.(type) {
		case String, Bytes, *List, Tuple:
			if i, ok := n.(Int); ok {
				if k, ok := i.Int64(); ok {
					return t.alloc(mulSize(seqSize(seq), max(k, 0)))
				}
				return t.alloc(math.MaxInt64)
			}
		}
	case syntax.PERCENT:
		if f, ok := x.(String); ok {
			return t.alloc(t.interpolateBound(string(f), y))
		}
	case syntax.PIPE, syntax.AMP, syntax.CIRCUMFLEX, syntax.MINUS:
		switch x.(type) {
		case *Dict, *Set:
			return t.alloc(addSize(seqSize(x), seqSize(y)))
		}
	}
	return nil
}

// interpolateBound bounds the size of format % x.
func (t *ifcThread) interpolateBound(format string, x Value) int64 {
	size := addSize(int64(len(format)), percentSpecBound(format))
	var sw sizeWalker
	switch x := x.(type) {
	case Tuple:
		for _, a := range x {
			size = addSize(size, percentArgBound(&sw, a))
		}
	case Mapping:
		// %(key)s may name the same key many times.
		var most int64
		if d, ok := x.(*Dict); ok {
			for e := d.ht.head; e != nil; e = e.next {
				most = max(most, percentArgBound(&sw, e.value))
			}
		} else {
			most = sw.bound(x)
		}
		size = addSize(size, mulSize(int64(strings.Count(format, "%")), most))
	default:
		size = addSize(size, percentArgBound(&sw, x))
	}
	return size
}

// percentArgBound bounds the text % makes of one argument: its str, or for
// a float, %d or %f of it written out in full (up to 309 digits).
func percentArgBound(sw *sizeWalker, a Value) int64 {
	if _, ok := a.(Float); ok {
		return 330
	}
	return sw.bound(a)
}

// sizeWalker bounds the length of the text str or repr would produce,
// visiting each shared object once per depth it is first seen at, so that a
// DAG of lists cannot make the estimate itself expensive. Like writeNested,
// it stops at MaxNesting.
type sizeWalker struct {
	memo map[walkKey]sizeMemo
}

// sizeMemo is a computed bound and the depth it was computed at: it bounds
// the object's text at that depth or deeper (deeper, more is cut off).
type sizeMemo struct {
	n     int64
	depth int
}

func (sw *sizeWalker) memoized(k walkKey, depth int, f func() int64) int64 {
	if sw.memo == nil {
		sw.memo = make(map[walkKey]sizeMemo)
	}
	if m, ok := sw.memo[k]; ok && m.depth <= depth {
		return m.n
	}
	sw.memo[k] = sizeMemo{5, depth} // a cycle prints as "..."
	n := f()
	sw.memo[k] = sizeMemo{n, depth}
	return n
}

// bound returns an upper bound of len(str(v)) and len(repr(v)).
func (sw *sizeWalker) bound(v Value) int64 { return sw.boundAt(v, 0) }

func (sw *sizeWalker) boundAt(v Value, depth int) int64 {
	if depth > MaxNesting {
		return 3 // "..."
	}
	switch x := v.(type) {
	case nil, NoneType, Bool:
		return 5
	case Int:
		return int64(x.BigInt().BitLen()/3 + 2)
	case Float:
		return 32
	case String:
		return mulSize(int64(len(x)), 4) + 2 // worst case: every byte escaped as \xNN
	case Bytes:
		return mulSize(int64(len(x)), 4) + 3
	case *List:
		return sw.memoized(ptrKey(x), depth, func() int64 { return sw.seqBound(x.elems, depth) })
	case Tuple:
		if len(x) == 0 {
			return 3
		}
		return sw.memoized(tupleKey(x), depth, func() int64 { return sw.seqBound(x, depth) })
	case *Dict:
		return sw.memoized(ptrKey(x), depth, func() int64 {
			n := int64(2)
			for e := x.ht.head; e != nil; e = e.next {
				n = addSize(n, addSize(addSize(sw.boundAt(e.key, depth+1), sw.boundAt(e.value, depth+1)), 4))
			}
			return n
		})
	case *Set:
		return sw.memoized(ptrKey(x), depth, func() int64 {
			n := int64(7)
			for e := x.ht.head; e != nil; e = e.next {
				n = addSize(n, sw.boundAt(e.key, depth+1)+2)
			}
			return n
		})
	case *Function:
		return int64(len(x.Name()) + 16)
	case *Builtin:
		n := int64(len(x.Name()) + 32)
		if x.recv != nil {
			n += int64(len(x.recv.Type()))
		}
		return n
	case Labeled:
		return sw.boundAt(x.V, depth)
	case NestedWriter:
		// Its own text (a constructor, field names) plus its elements.
		f := func() int64 {
			var own strings.Builder
			var n int64
			x.WriteNested(&own, func(e Value) { n = addSize(n, sw.boundAt(e, depth+1)) })
			return addSize(n, int64(own.Len()))
		}
		if k, ok := hostKey(x); ok {
			return sw.memoized(k, depth, f)
		}
		return f()
	}
	return int64(len(v.String()))
}

func (sw *sizeWalker) seqBound(elems []Value, depth int) int64 {
	n := int64(3)
	for _, e := range elems {
		n = addSize(n, addSize(sw.boundAt(e, depth+1), 2))
	}
	return n
}

// reprFits checks, without charging, that rendering vs as text fits.
func (t *ifcThread) reprFits(vs ...Value) error {
	if t.allocLimit <= 0 {
		return nil
	}
	var sw sizeWalker
	var n int64
	for _, v := range vs {
		n = addSize(n, sw.bound(v))
	}
	return t.fits(n)
}

// expandFits checks, before a builtin that copies the elements of its
// arguments runs (list, tuple, sorted, zip, ...), that copying them fits: a
// lazy sequence such as range(n) can be far larger than itself.
func (t *ifcThread) expandFits(args Tuple) error {
	if t.allocLimit <= 0 {
		return nil
	}
	var n int64
	for _, a := range args {
		n = addSize(n, seqSize(a))
	}
	return t.fits(n)
}

// ChargeAlloc charges n bytes to the thread's allocation estimate, or
// returns the "allocation limit exceeded" error if that would pass the limit
// set by SetMaxAllocBytes. Host builtins that build large values call it
// before they do.
func (thread *Thread) ChargeAlloc(n int64) error { return thread.ifc.alloc(n) }

// chargeResult charges the allocation of a builtin's fresh result (a view
// such as s.elems() allocates nothing).
func (t *ifcThread) chargeResult(z Value) error {
	if t.allocLimit <= 0 || z == nil {
		return nil
	}
	switch z.(type) {
	case String, Bytes, *List, Tuple, *Dict, *Set:
		return t.alloc(seqSize(z))
	}
	return nil
}

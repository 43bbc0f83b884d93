// This file is an Aegis addition: crash freedom on deeply nested values.
//
// A script can build values nested millions of levels deep (x = [x] in a
// loop) or shared exponentially often (t = (t, t)). Upstream walks values
// recursively in str/repr/print, Freeze, Hash and cycle checks, so such a
// value overflows the Go stack (a fatal error no recover can catch) or takes
// time exponential in its size. Every walk over values the interpreter
// makes is therefore either iterative and visits each object once (Freeze,
// the label walks of ifc_walk.go), or bounded by MaxNesting (writing a value
// as text, hashing, JSON), and tree sizes of keys are checked before they are
// hashed.

package starlark

import (
	"fmt"
	"strings"
)

// MaxNesting bounds how deeply str, repr and print descend into a value
// (deeper levels print as "..."), how deeply a key may nest to be hashed,
// and how deeply json.encode and json.decode nest.
const MaxNesting = 1000

// maxKeyNodes bounds the size of a key's tree (counting shared parts once
// per occurrence): hashing visits every occurrence.
const maxKeyNodes = 1 << 20

// A NestedWriter is a host value that holds other values and writes itself
// through the interpreter: str, repr and print then bound its nesting and
// stop at cycles through it, as for lists. WriteNested writes the value to
// out, writing each value it holds with elem. starlarkstruct's Struct is
// one. A host value that is not a NestedWriter is written with its String
// method.
type NestedWriter interface {
	Value
	WriteNested(out *strings.Builder, elem func(Value))
}

// FormatValue returns v as str would (repr for a string), with the nesting
// bound and cycle checks of the interpreter. A NestedWriter's String method
// may call it with itself.
func FormatValue(v Value) string {
	var b strings.Builder
	writeValue(&b, v, nil)
	return b.String()
}

// A ShallowFreezer is a host value holding other values (a ChildVisitor)
// whose Freeze would only freeze itself and its children. FreezeShallow
// freezes the value alone; the interpreter then freezes the children itself,
// without recursion however deeply values are nested. Its Freeze method
// should call FreezeAll.
type ShallowFreezer interface {
	ChildVisitor
	FreezeShallow()
}

// FreezeAll freezes v and every value reachable from it. It walks with an
// explicit stack and visits each object once, so that neither deep nesting
// nor sharing can overflow the stack or take more than linear time. The
// Freeze methods of the core types call it.
func FreezeAll(v Value) {
	var seen walker
	stack := []Value{v}
	push := func(v Value) {
		if v != nil && !isScalar(v) {
			stack = append(stack, v)
		}
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch x := v.(type) {
		case nil, NoneType, Bool, Int, Float, String, Bytes, rangeValue:
		case *List:
			if !x.frozen {
				x.frozen = true
				for _, e := range x.elems {
					push(e)
				}
			}
		case *Dict:
			freezeTable(&x.ht, push)
		case *Set:
			freezeTable(&x.ht, push)
		case Tuple:
			if len(x) > 0 && seen.enter(tupleKey(x), Public) {
				for _, e := range x {
					push(e)
				}
			}
		case *Function:
			if seen.enter(ptrKey(x), Public) {
				push(x.defaults)
				push(x.freevars)
			}
		case *cell:
			if seen.enter(ptrKey(x), Public) {
				push(x.v)
			}
		case *Builtin:
			push(x.recv)
		case Labeled:
			push(x.V)
		case ShallowFreezer:
			if k, ok := hostKey(x); !ok || seen.enter(k, Public) {
				x.FreezeShallow()
				x.VisitChildren(push)
			}
		default:
			x.Freeze()
		}
	}
}

func freezeTable(ht *hashtable, push func(Value)) {
	if !ht.frozen {
		ht.frozen = true
		for e := ht.head; e != nil; e = e.next {
			push(e.key)
			push(e.value)
		}
	}
}

// checkHashable bounds the work of hashing k: a key whose tree (tuples and
// host values, counting each occurrence of a shared part) nests deeper than
// MaxNesting or has more than maxKeyNodes nodes is refused before its Hash
// method recurses into it. Keys of scalars or flat tuples, the usual case,
// cost one type switch.
func checkHashable(k Value) error {
	switch t := k.(type) {
	case String, Int, Bool, NoneType, Float, Bytes:
		return nil
	case Tuple:
		flat := true
		for _, e := range t {
			if !isScalar(e) {
				flat = false
				break
			}
		}
		if flat {
			return nil
		}
	case ChildVisitor:
	default:
		return nil
	}
	// Sizes of shared subtrees are computed once (a DAG of tuples may have
	// exponentially many paths but few nodes).
	memo := map[walkKey]int64{}
	var size func(v Value, depth int) (int64, error)
	size = func(v Value, depth int) (int64, error) {
		if depth > MaxNesting {
			return 0, fmt.Errorf("unhashable: %s nested more than %d levels deep", k.Type(), MaxNesting)
		}
		var key walkKey
		switch x := v.(type) {
		case Tuple:
			if len(x) == 0 {
				return 1, nil
			}
			key = tupleKey(x)
		case ChildVisitor:
			var ok bool
			if key, ok = hostKey(x); !ok {
				return 1, nil
			}
		default:
			return 1, nil
		}
		if n, ok := memo[key]; ok {
			return n, nil
		}
		n := int64(1)
		var err error
		visit := func(c Value) {
			if err != nil || isScalar(c) {
				n++
				return
			}
			var m int64
			m, err = size(c, depth+1)
			n = min(n+m, maxKeyNodes+1)
		}
		switch x := v.(type) {
		case Tuple:
			for _, e := range x {
				visit(e)
			}
		case ChildVisitor:
			x.VisitChildren(visit)
		}
		if err != nil {
			return 0, err
		}
		memo[key] = n
		return n, nil
	}
	n, err := size(k, 0)
	if err != nil {
		return err
	}
	if n > maxKeyNodes {
		return fmt.Errorf("unhashable: %s has more than %d parts", k.Type(), maxKeyNodes)
	}
	return nil
}

// CheckCancel returns a *CancelledError if the thread has been cancelled. Builtins
// that may run long call it now and then, so that a deadline or a Cancel
// stops them as it stops the interpreter.
func (thread *Thread) CheckCancel() error { return thread.cancelled() }

// hashKey is k.Hash() for the hash tables, after checkHashable for the
// keys that hold other values (scalars, the commonest keys, hold none).
func hashKey(k Value) (uint32, error) {
	switch k := k.(type) {
	case String:
		return k.Hash()
	case Int:
		return k.Hash()
	case NoneType, Bool, Float, Bytes:
	default:
		if err := checkHashable(k); err != nil {
			return 0, err
		}
	}
	return k.Hash()
}

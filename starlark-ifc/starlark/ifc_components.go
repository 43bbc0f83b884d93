// This file is an Aegis addition: component labels of the tuples a builtin
// builds into a list (dict.items, enumerate, zip).
//
// A tuple carries one label, so the pair (name, value) of a dict whose values
// are secret is secret as a whole, and `for name, value in d.items()` would
// label the public names too. The builtins that build such lists know the
// label of each component; they record it beside the list (List.clabs), and
// when a for loop takes an element of such a list apart right away (ITERJMP
// followed by UNPACK, which is how `for a, b in xs` compiles), each variable
// gets its component's label instead of the tuple's. Anything else that
// reads the element sees the tuple's label, the join of its components, as
// before. Any mutation of the list drops the component labels
// (List.checkMutable), so they always describe the list as built.

package starlark

import "github.com/aegisdev/aegis/starlark-ifc/internal/compile"

// setComponents records the component labels of l's elements (comps[i][j]:
// component j of tuple element i), keeping the invariant that an element's
// label covers its components'. distinctFirst says that the first
// components are pairwise distinct by construction (the keys of a dict, the
// indices of enumerate): comparing two elements then reads only them.
func (l *List) setComponents(comps [][]Label, distinctFirst bool) {
	if len(comps) != len(l.elems) {
		return
	}
	any := false
	for i, c := range comps {
		var j Label
		for _, x := range c {
			j |= x
		}
		if j != Public {
			any = true
			if j&^l.elabAt(i) != 0 {
				l.setElemLabel(i, l.elabAt(i)|j)
			}
		}
	}
	if any {
		l.clabs, l.cfirst = comps, distinctFirst
	}
}

// componentsAt returns the component labels of element i, or nil.
func (l *List) componentsAt(i int) []Label {
	if l.clabs == nil || i < 0 || i >= len(l.clabs) {
		return nil
	}
	return l.clabs[i]
}

// ifcHint is what an ITERJMP leaves for an UNPACK that follows it at once:
// the component labels of the element it pushed.
type ifcHint struct {
	at    uint32  // address of the instruction right after the ITERJMP
	base  Label   // the pc and the iteration's label
	comps []Label // component labels of the element
}

// follows reports whether the instruction at address at comes right after
// the ITERJMP that left the hint, with nothing but NOPs (branch padding)
// between them.
func (h *ifcHint) follows(code []byte, at uint32) bool {
	if at < h.at || int(at) > len(code) {
		return false
	}
	for _, b := range code[h.at:at] {
		if compile.Opcode(b) != compile.NOP {
			return false
		}
	}
	return true
}

// This file is an Aegis addition: resource limits beside upstream's step
// limit and cancellation: the Starlark call depth and an estimate of the
// bytes the interpreter allocates for strings, bytes, lists, tuples, dicts
// and sets.
//
// Hitting a limit is an ordinary runtime error, labelled like any other
// (the pc and the operands of the failing operation). How much was
// allocated before, or how deep the stack was, may itself depend on labelled
// data: that is a residual channel of at most one bit per run (the run
// stops), documented in docs/ifc-model.md.

package starlark

import "fmt"

// SetMaxCallDepth limits the depth of the Starlark call stack (frames of
// Starlark functions and of builtins); 0 means no limit beyond upstream's.
// A call beyond the limit fails with a clean error.
func (thread *Thread) SetMaxCallDepth(n int) {
	thread.ifc.depthLimit = max(n, 0)
}

// checkCallDepth enforces SetMaxCallDepth when a Starlark function starts.
func (thread *Thread) checkCallDepth() error {
	if d := thread.ifc.depthLimit; d > 0 && len(thread.stack) > d {
		return fmt.Errorf("call depth limit exceeded (%d frames)", d)
	}
	return nil
}

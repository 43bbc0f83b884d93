package runner

import (
	"errors"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// interpreterLimit recognises the interpreter's own limit errors (the
// allocation budget and the call depth, typed by the fork: a script cannot
// make one) and returns them as limits. The step limit and every stop the
// runner makes (time, output, cancellation) are recorded by the runner as
// it cancels the thread (run.stopWith), so they need no recognising.
func interpreterLimit(err error, limits policy.RuntimeLimits) error {
	var (
		alloc *starlark.AllocLimitError
		depth *starlark.CallDepthError
	)
	switch {
	case errors.As(err, &alloc):
		return &builtins.LimitError{Limit: "max_memory_mb", Value: limits.MaxMemoryMB,
			Detail: "the script tried to build a value larger than the budget"}
	case errors.As(err, &depth):
		return &builtins.LimitError{Limit: "max_callstack_size", Value: limits.MaxCallstackSize,
			Detail: "the script's calls nested too deeply"}
	}
	return nil
}

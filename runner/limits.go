package runner

import (
	"errors"
	"strings"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// interpreterLimit recognises the interpreter's own limit errors (the
// allocation budget and the call depth) and returns them as limits.
func interpreterLimit(err error, limits policy.RuntimeLimits) error {
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		return nil
	}
	// The interpreter's own messages start the error; a script cannot forge
	// them (fail and builtin errors are prefixed with their names).
	msg := ev.Msg
	switch {
	case strings.HasPrefix(msg, "allocation limit exceeded"):
		return &builtins.LimitError{Limit: "max_memory_mb", Value: limits.MaxMemoryMB,
			Detail: "the script tried to build a value larger than the budget"}
	case strings.HasPrefix(msg, "call depth limit exceeded"):
		return &builtins.LimitError{Limit: "max_callstack_size", Value: limits.MaxCallstackSize,
			Detail: "the script's calls nested too deeply"}
	}
	return nil
}

package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// describe renders the error a run ended with for Result.Error. An error
// raised by the script carries two labels: the label of its message and the
// pc where it happened. A labelled message is withheld. A labelled pc means
// that whether the error happened at all depends on local-only data, so its
// position (which branch was taken) is secret too: the position shown is
// where the pc first became local-only (a point every branch passes), and
// a flow error there does not name its sink (the sink would tell the
// branch). Errors from outside the script (verifier, setup) are public.
func describe(err error, kind Kind) string {
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		return err.Error()
	}
	highPC := ev.PC != labels.Public
	where := position(ev.CallStack)
	if highPC {
		where = "in code that runs only depending on local-only data (the condition at " + position(ev.HighAt) + ")"
	} else {
		where = "at " + where
	}

	var flow *starlark.FlowError
	if errors.As(err, &flow) {
		if highPC {
			return fmt.Sprintf("flow denied %s: code whose execution depends on local-only data may not have effects or produce output; "+
				"compute a public result first, then act outside the condition", where)
		}
		return fmt.Sprintf("flow denied %s: %s; to allow it: %s", where, flow.Error(), builtins.FlowHint(flow.Sink))
	}
	if ev.Label != labels.Public || highPC {
		return fmt.Sprintf("%s %s: the message is withheld because it depends on local-only data", kindText(kind), where)
	}
	if kind == ScriptError {
		return ev.Backtrace()
	}
	// A denial, a refused approval, a limit: the call that hit it is enough.
	return where + ": " + ev.Msg
}

// position is the innermost known script position of a call stack.
func position(cs starlark.CallStack) string {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Pos.IsValid() && cs[i].Pos.Filename() != "<builtin>" {
			return cs[i].Pos.String()
		}
	}
	return "an unknown position"
}

func kindText(k Kind) string {
	return strings.ReplaceAll(string(k), "_", " ")
}

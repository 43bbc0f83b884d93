package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/builtins/verify"
	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/internal/subpath"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
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
func describe(err error, kind Kind, adv advice) string {
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		return err.Error()
	}
	if ev.PC != labels.Public || ev.Label != labels.Public {
		// Unreachable when the run read local-only data (such an ending is
		// charged and described by describeCharged); kept as a fail-safe.
		return fmt.Sprintf("%s: the message is withheld because it depends on local-only data", kindText(kind))
	}
	where := "at " + position(ev.CallStack)
	var flow *starlark.FlowError
	if errors.As(err, &flow) {
		return fmt.Sprintf("flow denied %s: %s. %s", where, flow.Error(), adv.flow(flow.Sink))
	}
	if kind == ScriptError {
		// The message is public here, and so is the advice drawn from it.
		if h := verify.Hint(ev.Msg, "", nil); h != "" {
			return ev.Backtrace() + "\nhint: " + h
		}
		return ev.Backtrace()
	}
	// A denial, a refused approval, a limit: the call that hit it is enough.
	return where + ": " + ev.Msg
}

// advice is what a message about local-only data may tell: public facts
// only. Under a public pc (the only place an uncharged flow error can
// happen) the principals a run has read are public: reads happen in an
// order fixed by public control, and a first read under a labelled pc is
// refused. The policy's zone, hosts and commands are the operator's, not
// the script's.
type advice struct {
	policy *policy.Policy
	read   []string // local-only principals the run has read so far
}

// flow says what a script can do instead of sending local-only data to
// sink.
func (a advice) flow(sink string) string {
	var b strings.Builder
	if len(a.read) > 0 {
		fmt.Fprintf(&b, "This run has read local-only data from %s. ", strings.Join(a.read, ", "))
	}
	b.WriteString("Instead: ")
	b.WriteString(builtins.FlowHint(sink))
	if zone := a.zone(); zone != "" && (sink == "print" || sink == "fail" || strings.HasPrefix(sink, "fs.")) {
		fmt.Fprintf(&b, " (this policy's zone: %s)", zone)
	}
	return b.String()
}

// zone names the local-only zone of the policy, relative to its root.
func (a advice) zone() string {
	if a.policy == nil {
		return ""
	}
	var out []string
	root := a.policy.Root()
	for _, z := range a.policy.Jail().Zone {
		if rel, ok := subpath.Rel(z, root); ok {
			z = rel + "/"
		}
		out = append(out, z)
	}
	return strings.Join(out, ", ")
}

// describeCharged renders the ending of a run that was charged to the
// leakage budget. Such an ending was decided by local-only data, so
// everything about it but its kind and the run's public progress (which the
// charge pays for) is withheld: the message, the failing position, even
// which sink stopped it. What it says is public: the principals read and
// where the first read happened (reached the same way by every run), and the
// budget's state.
func describeCharged(kind Kind, c *Charge) string {
	return fmt.Sprintf("%s: the run stopped in a way that depends on local-only data (%s, first read at %s), "+
		"so what stopped it, and where, is withheld. This ending revealed at most %d bits of that data "+
		"(how the run ended, and the %d public calls it made after the read); [runtime].max_leak_bits leaves %d. %s",
		kindText(kind), strings.Join(c.Principals, ", "), c.FirstRead, c.Bits, c.Progress, c.LeftBits, chargedHint(kind))
}

// chargedHint says, per exit kind, what usually causes a secret-dependent
// abort of that kind and what to do instead.
func chargedHint(kind Kind) string {
	switch kind {
	case FlowDenied:
		return "Typical causes: print, fail or an effect outside the local-only zone inside an if, loop or " +
			"function whose course depends on local-only data. Do such work outside the condition, write " +
			"what depends on the data into the local-only zone, or have the condition choose between public values; " +
			"a print there goes to the local-only transcript instead when the policy sets [runtime].transcript, and " +
			"a question about the data (is it set? does it match?) can be asked through a [declassify] release."
	case ScriptError:
		return "Typical causes: an operation that fails on some values of the data (int() of it, an index past " +
			"its length, a division by zero, fail() under a condition on it), or a builtin argument whose type, " +
			"count or keyword name came from it. Check before operating, e.g. `if x.isdigit(): n = int(x)`."
	case Limit:
		return "A runtime limit was reached after the read; how much a run consumes may depend on local-only " +
			"data (a loop over it, its size). Bound such loops, or raise the limit in [runtime]."
	case PolicyDenied:
		return "A call was refused whose target (a path, a URL, an argv) was computed from local-only data. " +
			"Choose targets from public values."
	case ConfirmDenied:
		return "An approval was refused for a call whose target depends on local-only data."
	}
	return ""
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

// minErrorBudget is the least error text a run may show, whatever
// [runtime].max_output_bytes says: enough for any message Aegis writes
// itself (a denial with its hint, a limit), so a small output budget does
// not hide why the run stopped.
const minErrorBudget = 4096

// boundText caps the error text of a run at the output budget
// ([runtime].max_output_bytes, at least minErrorBudget): the error goes
// where the output goes (stderr, --json, MCP results), and a script chooses
// much of it (fail("x" * 30_000_000)). Text over the budget keeps its
// beginning, cut at a UTF-8 boundary, and ends with a note saying it was
// cut. The message was public already (a labelled one is withheld by
// describe), so its length is too.
func boundText(s string, outputBudget int64) string {
	limit := max(outputBudget, minErrorBudget)
	if int64(len(s)) <= limit {
		return s
	}
	note := fmt.Sprintf(" …[error text truncated: it was %d bytes, over [runtime].max_output_bytes = %d]", len(s), outputBudget)
	kept, _ := quote.Prefix(s, int(limit)-len(note))
	return kept + note
}

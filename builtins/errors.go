package builtins

import (
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/internal/quote"
)

// ConfirmDeniedError: a requires_approval call was not approved.
type ConfirmDeniedError struct {
	Capability string
	Target     string // redacted when it depends on labelled data
	Why        string // "the user declined at the terminal prompt", "there is no terminal to ask on; ..."
}

func (e *ConfirmDeniedError) Error() string {
	return fmt.Sprintf("%s %s needs approval (requires_approval) and was not approved: %s",
		e.Capability, quote.Visible(e.Target), e.Why)
}

// LimitError: a [runtime] limit stopped the run.
type LimitError struct {
	Limit  string // "max_total_calls", "max_calls_per_capability.fs.read", "max_seconds", ...
	Value  int64
	Detail string
}

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("runtime limit [runtime].%s = %d reached", e.Limit, e.Value)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + "; raise it in the policy if the script legitimately needs more"
}

// BudgetError: the leakage budget refused a call (docs/ifc-model.md, "The
// leakage budget"). Either a read of a local-only source, because runs that
// read its principals have already used what [runtime].max_leak_bits or
// [runtime].max_secret_dependent_aborts allows; or, with Progress set, one
// more public effect of a run that has read local-only data, because an
// abort after it could reveal more bits than the principals have left. It
// is a policy decision (exit kind policy_denied), and its message depends
// only on the budget's state and the run's public progress, never on the
// secret.
type BudgetError struct {
	Capability string
	Principals []string // the principals whose budget is spent
	Key        string   // the [runtime] key that refused: "max_leak_bits" or "max_secret_dependent_aborts"
	Limit      int64    // its value
	Left       int64    // bits (or aborts) left before the call
	Progress   int64    // for a refused effect: the public effects the run made since its first local-only read
	Release    int64    // for a refused release ([declassify]): the bits it would have been charged
	Scope      string   // what the count covers ("the audit log X")
	Reset      string   // how to start a new count here
}

func (e *BudgetError) Error() string {
	var b strings.Builder
	who := strings.Join(e.Principals, ", ")
	switch {
	case e.Release > 0:
		fmt.Fprintf(&b, "%s refused: the release would charge %d bits to %s, more than the %d left of [runtime].%s = %d "+
			"(after what earlier releases and aborts were charged and runs in progress reserve",
			e.Capability, e.Release, who, e.Left, e.Key, e.Limit)
		if e.Scope != "" {
			b.WriteString(" in " + e.Scope)
		}
		b.WriteString(")")
	case e.Progress > 0:
		fmt.Fprintf(&b, "%s refused: this run read local-only data (%s) and has made %d public calls since; "+
			"if it then stopped in a way that depends on that data, how far it got would tell more bits than "+
			"the %d left of [runtime].%s = %d", e.Capability, who, e.Progress, e.Left, e.Key, e.Limit)
	case e.Limit == 0:
		fmt.Fprintf(&b, "%s refused: [runtime].%s = 0 lets no run read a local-only source (%s), "+
			"since any run that reads one could end, or not, depending on it", e.Capability, e.Key, who)
	default:
		unit := "bits"
		if e.Key == "max_secret_dependent_aborts" {
			unit = "aborts"
		}
		fmt.Fprintf(&b, "%s refused: the leakage budget of %s is spent: runs that read it have ended in ways "+
			"decided by local-only data, which reveals bits of it, up to [runtime].%s = %d (%d %s left",
			e.Capability, who, e.Key, e.Limit, e.Left, unit)
		if e.Scope != "" {
			b.WriteString(" in " + e.Scope)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; to go on, raise [runtime].%s in the policy", e.Key)
	if e.Reset != "" {
		b.WriteString(" or " + e.Reset)
	}
	b.WriteString("; either lets more bits out, so rotate the secret first if a script may have been probing it")
	return b.String()
}

// AuditError: the audit log could not record a call. The call did not
// happen (or its result was withheld): a run never acts unrecorded.
type AuditError struct {
	Err error
}

func (e *AuditError) Error() string { return "audit log: " + e.Err.Error() }
func (e *AuditError) Unwrap() error { return e.Err }

// FlowHint says what a script can do instead of sending local-only data to
// sink, and how a policy would allow it. The runner appends it to flow errors.
func FlowHint(sink string) string {
	const notSecret = "; or, if the data is not secret, remove its source from local_only_* in the policy"
	switch {
	case sink == "print" || sink == "fail" || sink == "result":
		return "local-only data prints as [REDACTED] and never reaches the output or an error message. " +
			"To keep a result for the person at the machine, write it into the local-only zone; to answer a " +
			"question about the data (is it set? does it match a digest? how many lines match?), ask for a " +
			"release the policy's [declassify] section allows" + notSecret
	case strings.HasPrefix(sink, "fs."):
		return "write local-only data inside the local-only zone (a path matching both " +
			"[filesystem].local_only_read and [filesystem].write_allow)" + notSecret
	case strings.HasPrefix(sink, "net."):
		return "send local-only data only to a host in [network].local_only_hosts (its answers come back " +
			"local-only too)" + notSecret
	case sink == "subprocess.exec":
		return "pass local-only data only to a command in [subprocess].local_only_commands (its output " +
			"comes back local-only)" + notSecret
	}
	return "keep local-only data away from this sink" + notSecret
}

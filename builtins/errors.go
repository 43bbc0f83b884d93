package builtins

import (
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/audit"
)

// DeniedError: the policy refused a capability call. Its message says what
// was denied, by which rule, and how to allow it.
type DeniedError struct {
	Capability string
	Target     string // redacted when it depends on labelled data
	Rule       string
	Section    string
	Reason     string
	Hint       string
}

func (e *DeniedError) Error() string {
	var b strings.Builder
	if e.Reason != "" && e.Target != audit.Redacted {
		// The policy's reason names the target and the rule already.
		b.WriteString(e.Reason)
	} else {
		fmt.Fprintf(&b, "policy denies %s %s", e.Capability, e.Target)
		if e.Rule != "" {
			fmt.Fprintf(&b, " (rule %q in %s)", e.Rule, e.Section)
		}
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; to allow it: %s", e.Hint)
	}
	return b.String()
}

// ConfirmDeniedError: a requires_approval call was not approved.
type ConfirmDeniedError struct {
	Capability string
	Target     string
	Why        string // "denied by the user", "no way to ask (use --yes or a TTY)"
}

func (e *ConfirmDeniedError) Error() string {
	return fmt.Sprintf("%s %s needs approval (requires_approval) and was not approved: %s",
		e.Capability, e.Target, e.Why)
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

// BudgetError: a read of a local-only source was refused because the
// leakage budget of its principals is spent: enough runs that read them
// have ended with an abort decided by local-only data
// ([runtime].max_secret_dependent_aborts). It is a policy decision (exit
// kind policy_denied). The message never depends on when the budget was
// spent, only on the limit, so every refused run reads the same.
type BudgetError struct {
	Capability string
	Principals []string // the principals whose budget is spent
	Limit      int64
	Scope      string // what the count covers ("the audit log X")
	Reset      string // how to start a new count here
}

func (e *BudgetError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused: the leakage budget of %s is spent: ", e.Capability, strings.Join(e.Principals, ", "))
	if e.Limit == 0 {
		b.WriteString("[runtime].max_secret_dependent_aborts = 0 lets no run read a local-only source, " +
			"since any run that reads one could end, or not, depending on it")
	} else {
		fmt.Fprintf(&b, "runs that read it have ended with an error or a limit decided by local-only data "+
			"as often as [runtime].max_secret_dependent_aborts = %d allows", e.Limit)
		if e.Scope != "" {
			b.WriteString(" for " + e.Scope)
		}
		b.WriteString(", and each such ending can tell whoever started the run one bit of the secret")
	}
	b.WriteString("; to read it again, raise [runtime].max_secret_dependent_aborts in the policy")
	if e.Reset != "" {
		b.WriteString(" or " + e.Reset)
	}
	b.WriteString("; either re-opens the channel for that many more bits, so rotate the secret first if a script may have been probing it")
	return b.String()
}

// AuditError: the audit log could not record a call. The call did not
// happen (or its result was withheld): a run never acts unrecorded.
type AuditError struct {
	Err error
}

func (e *AuditError) Error() string { return "audit log: " + e.Err.Error() }
func (e *AuditError) Unwrap() error { return e.Err }

// FlowHint says how a policy would allow labelled data to reach a sink. The
// runner appends it to flow errors.
func FlowHint(sink string) string {
	switch {
	case sink == "print" || sink == "fail" || sink == "result":
		return "local-only data is never printed; print something computed from it that is not " +
			"secret (a decision made by a local-only command, for example), or remove the source " +
			"from local_only_* if it is not secret"
	case strings.HasPrefix(sink, "fs."):
		return "write inside the local-only zone (a path matching both [filesystem].local_only_read " +
			"and [filesystem].write_allow), or remove the source from local_only_* if it is not secret"
	case strings.HasPrefix(sink, "net."):
		return "send local-only data only to a host in [network].local_only_hosts, or remove the " +
			"source from local_only_* if it is not secret"
	case sink == "subprocess.exec":
		return "pass local-only data only to a command in [subprocess].local_only_commands, or " +
			"remove the source from local_only_* if it is not secret"
	}
	return "the data is local-only; remove its source from local_only_* if it is not secret"
}

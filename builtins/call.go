package builtins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/approval"
	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// call is one capability call going through the protocol of the package
// comment. Its methods return errors ready to hand back to the interpreter.
type call struct {
	h      *Host
	thread *starlark.Thread
	cap    policy.Capability

	targetLabel labels.Label // label of the inputs that choose the target
	in          labels.Label // pc ⊔ targetLabel ⊔ label of the data sent
	target      string       // what the audit log and prompts show; Redacted if labelled
	withheld    bool         // target is Redacted: the inputs that chose it are labelled
	pos         string
	decision    policy.Decision
}

// begin starts a call. target names what the call acts on (a path, a URL, an
// argv); targetLabel is the label of the inputs it was computed from; data is
// the label of whatever else the call sends (content, body, headers).
func (h *Host) begin(thread *starlark.Thread, capability policy.Capability, target string, targetLabel, data labels.Label) (*call, error) {
	c := &call{h: h, thread: thread, cap: capability, targetLabel: targetLabel}
	c.in = thread.PC() | targetLabel | data
	c.target = target
	if targetLabel != labels.Public {
		c.target, c.withheld = audit.Redacted, true
	}
	if thread.CallStackDepth() > 1 {
		c.pos = thread.CallFrame(1).Pos.String()
	}
	if err := h.count(c); err != nil {
		return nil, err
	}
	return c, nil
}

// exact labels an error of the protocol: it depends only on the call's pc
// and shape (which the interpreter adds), on the target's inputs and on l.
// Every step of the protocol runs after the builtin has looked at the
// target's inputs and nothing else (the data it would send is checked
// after the flow step), so these errors need not carry the labels of the
// data; any other error a builtin returns gets the labels of all its inputs.
func (c *call) exact(err error, l labels.Label) error {
	return starlark.ExactLabelError(err, c.targetLabel|l)
}

// count applies the call limits. A call made under a public pc is a public
// event (the calls field of the result counts it, and its effect may be
// seen): the gate is told, since after a local-only read such events are
// progress that a secret-dependent abort would reveal.
func (h *Host) count(c *call) error {
	public := c.thread.PC() == labels.Public
	if public && h.Gate != nil {
		if err := h.Gate.Effect(); err != nil {
			var be *BudgetError
			if errors.As(err, &be) {
				be.Capability = string(c.cap)
				if rerr := c.record(audit.Denied, audit.KindCall, be.Key, "[runtime]", be.Error()); rerr != nil {
					return rerr
				}
				return c.exact(be, labels.Public)
			}
			return &AuditError{Err: fmt.Errorf("%s: cannot tell whether the leakage budget allows another call: %w", c.cap, err)}
		}
	}
	h.mu.Lock()
	if public {
		h.calls++
	}
	h.total++
	if h.per == nil {
		h.per = make(map[policy.Capability]int64)
	}
	h.per[c.cap]++
	total, per := h.total, h.per[c.cap]
	h.mu.Unlock()

	var lerr *LimitError
	if h.MaxTotalCalls > 0 && total > h.MaxTotalCalls {
		lerr = &LimitError{Limit: "max_total_calls", Value: h.MaxTotalCalls,
			Detail: fmt.Sprintf("%s would be capability call %d", c.cap, total)}
	} else if max := h.MaxCallsPerCapability[c.cap]; max > 0 && per > max {
		lerr = &LimitError{Limit: "max_calls_per_capability." + string(c.cap), Value: max,
			Detail: fmt.Sprintf("%s would be call %d", c.cap, per)}
	}
	if lerr == nil {
		return nil
	}
	if err := c.record(audit.Denied, audit.KindCall, "", "[runtime]", lerr.Error()); err != nil {
		return err
	}
	return c.exact(lerr, labels.Public)
}

// decide asks the policy. targets are passed to policy.Decide as is.
func (c *call) decide(targets ...string) error {
	d := c.h.Policy.Decide(c.cap, targets...)
	c.decision = d
	if err := c.traverse(d); err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	derr := c.denial(d)
	if err := c.record(audit.Denied, audit.KindCall, d.Rule, d.Section, c.public(d.Reason)); err != nil {
		return err
	}
	// The rule that matched depends on the target: so does the message.
	return c.exact(derr, labels.Public)
}

// denial is the error of a denying decision, as the call shows its target
// (withheld when it depends on local-only data).
func (c *call) denial(d policy.Decision) *policy.DeniedError {
	e := d.Denial()
	e.Target = c.target
	if c.withheld {
		e.Withhold(c.target)
	}
	return e
}

// traverse labels the call with the principals of the local-only paths
// that resolving its target examined (policy.Decision.Traversed), which a
// script can shape (what it wrote in the local-only zone). Where the
// contents of such a path turned the resolution (a symlink there, a ".."
// out of it: Steered, Decisive), the decision itself depends on them, and so
// does its error. If the call is allowed, every outcome of the effect (its
// result, its error, whether it worked) depends on all of them. The budget
// gate admits what the call's outcome will carry, as it would a read.
func (c *call) traverse(d policy.Decision) error {
	all := c.h.principals(d.Traversed)
	if all == labels.Public {
		return nil
	}
	c.in |= all
	if c.thread.PC() != labels.Public {
		// Under a labelled pc the decision, the result and the error are
		// all labelled by the pc already, and a run ending there is
		// charged to the principals the pc depends on (which it holds).
		// A first look at the zone is not refused here as a first read
		// would be: writing into the zone under a condition is what the
		// zone is for.
		return nil
	}
	steered := c.h.principals(d.Steered)
	decision := steered | c.h.principals(d.Decisive)
	c.targetLabel |= decision
	admitted := decision
	if d.Allowed {
		admitted = all
	}
	// A path the resolution reached only because of what another held
	// (a symlink in the zone) is read by a decision of that data: such a
	// principal must have been read before.
	if err := c.admit(admitted &^ steered); err != nil {
		return err
	}
	if err := c.admitDecided(admitted&steered, true); err != nil {
		return err
	}
	if d.Allowed {
		c.targetLabel |= all
	}
	return nil
}

// flow stops labelled inputs (or a labelled pc) bound for a public target.
// what names the parts that carry labels, for the message ("content").
func (c *call) flow(what string, targets ...string) error {
	if c.in == labels.Public {
		return nil
	}
	d := c.h.Policy.FlowAllowed(c.cap, targets...)
	if d.Allowed {
		return nil
	}
	reason := "local-only data would reach a target that is not local-only"
	if what != "" {
		reason = "local-only data in the " + what + " would reach a target that is not local-only"
	}
	if err := c.record(audit.Denied, audit.KindFlow, d.Rule, d.Section, reason); err != nil {
		return err
	}
	// Whether the target is local-only depends on the target's value: with
	// a labelled target, that the call was stopped is as labelled (a
	// script could pick the zone or a public path by a secret bit, and the
	// run would end, or not, accordingly).
	return c.exact(&starlark.FlowError{Sink: string(c.cap), Reason: reason}, labels.Public)
}

// admit asks the gate whether the call may read a source labelled src. A
// refusal is recorded like a denial, with the principals as its labels;
// which principals were refused depends on the target, so the error is as
// labelled as the target.
//
// Which principals a run has read must not depend on local-only data (the
// runner names them in messages and charges them): a principal the run has
// not read yet may be read only where neither the pc nor the target's inputs
// (other than the principals being read themselves) are labelled.
func (c *call) admit(src labels.Label) error {
	return c.admitDecided(src, c.thread.PC() != labels.Public || c.targetLabel&^src != labels.Public)
}

// admitDecided is admit, with byData saying whether reading src at all was
// decided by local-only data.
func (c *call) admitDecided(src labels.Label, byData bool) error {
	if src == labels.Public || c.h.Gate == nil {
		return nil
	}
	err := c.h.Gate.Admit(c.h.Registry.Names(src), byData)
	if err == nil {
		return nil
	}
	c.in |= src
	var fe *starlark.FlowError
	if errors.As(err, &fe) {
		fe.Sink = string(c.cap)
		if rerr := c.record(audit.Denied, audit.KindFlow, "", "", fe.Reason); rerr != nil {
			return rerr
		}
		return c.exact(fe, labels.Public)
	}
	var be *BudgetError
	if !errors.As(err, &be) {
		return &AuditError{Err: fmt.Errorf("%s: cannot tell whether the budget of secret-dependent aborts allows the read: %w", c.cap, err)}
	}
	be.Capability = string(c.cap)
	reason := fmt.Sprintf("the leakage budget is spent for %s", strings.Join(be.Principals, ", "))
	if rerr := c.record(audit.Denied, audit.KindCall, be.Key, "[runtime]", c.public(reason)); rerr != nil {
		return rerr
	}
	return c.exact(be, labels.Public)
}

// beginSource runs the gate of a builtin that reads a source (fs.read,
// fs.list, fs.exists, env.read): the policy decision, the leakage budget for
// the source's principal (fallback names it when no local-only rule does),
// approval. It returns the call, with the source's label already counted
// among its inputs, and that label.
func (h *Host) beginSource(thread *starlark.Thread, capability policy.Capability, target string, targetLabel labels.Label, fallback string) (*call, labels.Label, error) {
	c, err := h.begin(thread, capability, target, targetLabel, labels.Public)
	if err != nil {
		return nil, labels.Public, err
	}
	if err := c.decide(target); err != nil {
		return nil, labels.Public, err
	}
	src := h.sourceLabel(c.decision, fallback)
	if err := c.admit(src); err != nil {
		return nil, labels.Public, err
	}
	if err := c.confirm(); err != nil {
		return nil, labels.Public, err
	}
	c.in |= src
	return c, src, nil
}

// confirm asks for approval when the policy requires it, unless an
// approve_prefixes entry answers for a public argv (a labelled one must not
// choose between asking and not asking). Whether a prompt appears is seen by
// whoever answers it (a person, an MCP client): under a labelled pc it would
// tell which way a condition on local-only data went, so such a call is
// stopped as a flow before anyone is asked. The hook finds the call, as it
// is to be shown, in an approval.Request on its context; a refusal nobody
// chose names the keys that would approve the call without asking.
func (c *call) confirm() error {
	if !c.h.Policy.RequiresApproval(c.cap) {
		return nil
	}
	if c.thread.PC() != labels.Public {
		reason := "it needs approval (requires_approval), and a prompt would reveal the outcome of a condition on local-only data"
		if err := c.record(audit.Denied, audit.KindFlow, "requires_approval", "", reason); err != nil {
			return err
		}
		return c.exact(&starlark.FlowError{Sink: string(c.cap), Reason: reason}, labels.Public)
	}
	req := approval.Request{Capability: string(c.cap), Target: c.target, Labelled: c.targetLabel != labels.Public}
	if !req.Labelled {
		if c.decision.PreApproved != nil {
			return nil
		}
		req.Resolved = c.decision.ResolvedPath
		if c.decision.Addr.IsValid() {
			req.Address = c.decision.Addr.String()
		}
	}
	var why string
	if c.h.Confirm == nil {
		why = "nothing here can ask for approval" + c.approvalHint()
	} else {
		ctx := c.h.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		ok, err := c.h.Confirm(approval.WithRequest(ctx, req), string(c.cap), c.target)
		var refusal *approval.Refusal
		switch {
		case ok && err == nil:
			return nil
		case errors.As(err, &refusal):
			why = refusal.Error()
			if refusal.Unasked {
				why += c.approvalHint()
			}
		case err != nil:
			why = "the approval could not be obtained: " + err.Error()
		default:
			why = "it was refused"
		}
	}
	cerr := &ConfirmDeniedError{Capability: string(c.cap), Target: c.target, Why: why}
	if err := c.record(audit.Denied, audit.KindCall, "requires_approval", "", cerr.Error()); err != nil {
		return err
	}
	return c.exact(cerr, labels.Public)
}

// approvalHint names the policy keys that approve the call without asking.
func (c *call) approvalHint() string {
	where := "the policy"
	if p := c.h.Policy.Path(); p != "" {
		where = p
	}
	var b strings.Builder
	b.WriteString("; to approve it without asking, ")
	if pfx := c.decision.SuggestedPrefix; pfx != "" && c.targetLabel == labels.Public {
		fmt.Fprintf(&b, "add %q to [subprocess].approve_prefixes in %s (it approves every command that starts so), or ", pfx, where)
	}
	fmt.Fprintf(&b, "add \"!%s\" to requires_approval in %s (no %s call is asked about then)", c.cap, where, c.cap)
	return b.String()
}

// allow records the allowed call before its effect: an effect never happens
// unrecorded.
func (c *call) allow() error {
	return c.record(audit.Allowed, audit.KindCall, c.decision.Rule, c.decision.Section, "")
}

// failed records that an allowed effect failed, and labels the error with
// errLabel (the message may quote labelled data: a path, stderr).
func (c *call) failed(err error, errLabel labels.Label, reason string) error {
	if rerr := c.record(audit.Errored, audit.KindCall, c.decision.Rule, c.decision.Section, c.public(reason)); rerr != nil {
		return rerr
	}
	return c.exact(fmt.Errorf("%s: %w", c.cap, err), errLabel)
}

// failureReason is the public summary of an effect's failure for the audit
// log: the kind of failure the effect reported (exit status, redirect, size
// or time limit), never output; otherwise when it is none of those.
func failureReason(err error, otherwise string) string {
	var ee *effect.ExitError
	var re *effect.RedirectError
	var tl *effect.TooLargeError
	var te *effect.TimeoutError
	switch {
	case errors.As(err, &ee):
		return fmt.Sprintf("exit status %d", ee.Code)
	case errors.As(err, &re):
		return fmt.Sprintf("redirect (HTTP %d) not followed", re.Status)
	case errors.As(err, &tl):
		return tl.Error()
	case errors.As(err, &te):
		return te.Error()
	}
	return otherwise
}

// public returns reason, or a placeholder when the target is labelled: a
// reason computed from the target may quote it.
func (c *call) public(reason string) string {
	if c.targetLabel != labels.Public && reason != "" {
		return "(withheld: the target depends on local-only data)"
	}
	return reason
}

// record appends one audit event. The target is already redacted; the
// reason must be public text.
func (c *call) record(status audit.Status, kind, rule, section, reason string) error {
	if c.h.Audit == nil {
		return nil
	}
	ev := audit.Event{
		TaskID:     c.h.TaskID,
		Kind:       kind,
		Capability: string(c.cap),
		Status:     status,
		Target:     c.target,
		Rule:       rule,
		Section:    section,
		Reason:     reason,
		Position:   c.pos,
	}
	if c.in != labels.Public {
		ev.Labels = c.h.Registry.Names(c.in)
	}
	if err := c.h.Audit.Append(ev); err != nil {
		return &AuditError{Err: err}
	}
	return nil
}

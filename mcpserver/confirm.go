package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aegisdev/aegis/approval"
)

// Approvals in aegis-mcp. With --confirm elicit the user is asked through
// the client (MCP elicitation) and may approve one call, or approve it for
// the rest of the session: the same call (capability, target, resolved
// file or program) is then approved again without asking until the server
// stops. A target that depends on local-only data is never remembered. A
// "no" that no person gave (no elicitation, auto-deny, a cancelled
// question) is an *approval.Refusal marked Unasked, so the run's error
// names the policy keys that approve without asking, and approvalLog adds
// the server's own switches.

// approvalLog remembers whether an approval in one run was refused with
// nobody asked, so a confirm_denied result can name the server switches
// that change that.
type approvalLog struct {
	mu      sync.Mutex
	unasked bool
	mode    ConfirmMode
}

func (l *approvalLog) refuse(r *approval.Refusal, mode ConfirmMode) *approval.Refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Unasked {
		l.unasked, l.mode = true, mode
	}
	return r
}

// explain is the server's part of a confirm_denied message: its switches.
func (l *approvalLog) explain() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.unasked {
		return ""
	}
	if l.mode == ConfirmAutoDeny {
		return "aegis-mcp: it runs with --confirm auto-deny; start it with --confirm elicit to have the user asked, " +
			"or --confirm auto-allow to approve every requires_approval call without asking."
	}
	return "aegis-mcp: to have the user asked, use an MCP client that supports elicitation; " +
		"to approve every requires_approval call without asking, start aegis-mcp with --confirm auto-allow."
}

// confirmer returns the approval callback for one run, according to the
// --confirm mode and what the client declared at initialize.
func (s *session) confirmer(conn *jsonrpc2.Conn, taskID string, log *approvalLog) ConfirmFunc {
	return func(ctx context.Context, capability, target string) (bool, error) {
		mode := s.opts.Confirm
		switch mode {
		case ConfirmAutoAllow:
			return true, nil
		case ConfirmAutoDeny:
			return false, log.refuse(&approval.Refusal{Reason: "aegis-mcp runs with --confirm auto-deny", Unasked: true}, mode)
		}
		req := approval.FromContext(ctx, capability, target)
		if s.approvals.Approved(req) {
			return true, nil
		}
		if !s.canElicit(ctx) {
			return false, log.refuse(&approval.Refusal{
				Reason: "the MCP client cannot ask the user: it did not declare the elicitation capability", Unasked: true}, mode)
		}
		answer, refusal := s.elicit(ctx, conn, taskID, req)
		switch answer {
		case approval.Session:
			s.approvals.Remember(req)
			return true, nil
		case approval.Once:
			return true, nil
		}
		return false, log.refuse(refusal, mode)
	}
}

// elicitResult is the client's answer to elicitation/create.
type elicitResult struct {
	Action  string                     `json:"action"`
	Content map[string]json.RawMessage `json:"content"`
}

// elicit asks the user about one call. Anything but an explicit accept
// with approved=true is a no: decline, cancel, timeout, error or a
// malformed answer. session=true with it approves the call for the rest of
// the session, when the call may be remembered.
func (s *session) elicit(ctx context.Context, conn *jsonrpc2.Conn, taskID string, req approval.Request) (approval.Answer, *approval.Refusal) {
	props := map[string]any{
		"approved": map[string]any{
			"type":        "boolean",
			"title":       "Approve " + req.Capability,
			"description": "Allow this call. Leave unchecked to deny it.",
			"default":     false,
		},
	}
	offer := "Approve it once"
	if req.Rememberable() {
		offer += ", or for the rest of this session"
		props["session"] = map[string]any{
			"type":        "boolean",
			"title":       "For this session",
			"description": "Also approve this same call (same target) again, without asking, until aegis-mcp stops.",
			"default":     false,
		}
	}
	params := map[string]any{
		"message": fmt.Sprintf("Aegis: a script (task %q) asks for a call that needs your approval (requires_approval).\n\n%s\n%s?",
			taskID, req.Text(""), offer),
		"requestedSchema": map[string]any{
			"type":       "object",
			"properties": props,
			"required":   []string{"approved"},
		},
	}
	ectx, cancel := context.WithTimeout(ctx, s.opts.ElicitTimeout)
	defer cancel()
	var res elicitResult
	if err := s.askClient(ectx, conn, "elicitation/create", params, &res); err != nil {
		var rpcErr *jsonrpc2.Error
		switch {
		case errors.Is(ectx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			return approval.Deny, &approval.Refusal{Reason: fmt.Sprintf("the user gave no answer within %s", s.opts.ElicitTimeout.Round(time.Second)), Unasked: true}
		case ctx.Err() != nil:
			return approval.Deny, &approval.Refusal{Reason: "the call was stopped while the question was open"}
		case errors.As(err, &rpcErr):
			return approval.Deny, &approval.Refusal{Reason: fmt.Sprintf("the MCP client could not ask the user (error %d)", rpcErr.Code), Unasked: true}
		}
		return approval.Deny, &approval.Refusal{Reason: "the MCP client did not answer the approval question", Unasked: true}
	}
	switch res.Action {
	case "accept":
	case "decline":
		return approval.Deny, &approval.Refusal{Reason: "the user declined it"}
	case "cancel":
		return approval.Deny, &approval.Refusal{
			Reason: "the MCP client cancelled the question without an answer (Claude Code under -p cancels every question)", Unasked: true}
	default:
		return approval.Deny, &approval.Refusal{Reason: fmt.Sprintf("the MCP client answered with action %q", res.Action), Unasked: true}
	}
	var approved, session bool
	if json.Unmarshal(res.Content["approved"], &approved) != nil || !approved {
		return approval.Deny, &approval.Refusal{Reason: "the user did not tick \"approved\""}
	}
	if raw, ok := res.Content["session"]; ok && req.Rememberable() && json.Unmarshal(raw, &session) == nil && session {
		return approval.Session, nil
	}
	return approval.Once, nil
}

package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// approvalLog remembers why approvals in one run were refused, so a
// confirm_denied result can say how to get a yes next time.
type approvalLog struct {
	mu      sync.Mutex
	denials []string
}

func (l *approvalLog) deny(capability, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.denials = append(l.denials, fmt.Sprintf("approval for %s was refused: %s", capability, why))
}

func (l *approvalLog) explain() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.denials) == 0 {
		return ""
	}
	return "aegis-mcp: " + strings.Join(l.denials, "; ") +
		". To allow such calls: approve them when asked (needs an MCP client with elicitation), start aegis-mcp with --confirm auto-allow, or remove the capability from requires_approval in the policy."
}

// confirmer returns the approval callback for one run, according to the
// --confirm mode and what the client declared at initialize.
func (s *session) confirmer(conn *jsonrpc2.Conn, taskID string, log *approvalLog) ConfirmFunc {
	return func(ctx context.Context, capability, target string) (bool, error) {
		switch s.opts.Confirm {
		case ConfirmAutoAllow:
			return true, nil
		case ConfirmAutoDeny:
			log.deny(capability, "aegis-mcp runs with --confirm auto-deny")
			return false, nil
		}
		if !s.canElicit(ctx) {
			log.deny(capability, "the MCP client did not declare the elicitation capability, so the user cannot be asked")
			return false, nil
		}
		ok, why := s.elicit(ctx, conn, taskID, capability, target)
		if !ok {
			log.deny(capability, why)
		}
		return ok, nil
	}
}

// elicitResult is the client's answer to elicitation/create.
type elicitResult struct {
	Action  string                     `json:"action"`
	Content map[string]json.RawMessage `json:"content"`
}

// elicit asks the user one yes/no question. Anything but an explicit
// accept with approved=true is a no: decline, cancel, timeout, error or a
// malformed answer.
func (s *session) elicit(ctx context.Context, conn *jsonrpc2.Conn, taskID, capability, target string) (bool, string) {
	summary, _ := clip(target, 400, 2400)
	params := map[string]any{
		"message": fmt.Sprintf("Aegis: a script (task %q) asks to use %s.\n\nCall: %s\n\nApprove this single call?", taskID, capability, summary),
		"requestedSchema": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"approved": map[string]any{
					"type":        "boolean",
					"title":       "Approve " + capability,
					"description": "Allow this one call. Leave unchecked to deny it.",
					"default":     false,
				},
			},
			"required": []string{"approved"},
		},
	}
	ectx, cancel := context.WithTimeout(ctx, s.opts.ElicitTimeout)
	defer cancel()
	var res elicitResult
	if err := s.askClient(ectx, conn, "elicitation/create", params, &res); err != nil {
		var rpcErr *jsonrpc2.Error
		switch {
		case errors.Is(ectx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			return false, fmt.Sprintf("no answer within %s", s.opts.ElicitTimeout.Round(time.Second))
		case ctx.Err() != nil:
			return false, "the call was cancelled while waiting for the user"
		case errors.As(err, &rpcErr):
			return false, fmt.Sprintf("the client could not ask the user (error %d)", rpcErr.Code)
		}
		return false, "the client did not answer the approval request"
	}
	if res.Action != "accept" {
		return false, fmt.Sprintf("the user chose %q", res.Action)
	}
	var approved bool
	if json.Unmarshal(res.Content["approved"], &approved) != nil || !approved {
		return false, "the user did not tick \"approved\""
	}
	return true, ""
}

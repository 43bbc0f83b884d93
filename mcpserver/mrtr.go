package mcpserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
)

// A tool call may need the client's help halfway through (today: asking
// the user to approve a requires_approval call). The two eras ask
// differently:
//
//   - legacy: the server sends its own request (elicitation/create) on the
//     connection and waits for the client's response;
//   - modern (2026-07-28): servers send no requests. The tools/call is
//     answered at once with resultType "input_required", the question in
//     inputRequests and an opaque requestState; the client asks the user
//     and calls the tool again with the same arguments, the answer in
//     inputResponses and requestState echoed (multi round-trip requests).
//
// A script cannot be replayed from the top (its effects before the question
// have already happened), so a modern run is parked rather than restarted:
// its goroutine waits at the question, and the retry that names its
// requestState delivers the answer and waits for what the run does next.
// requestState is a random token that finds the parked run; it is bound to
// the tool and its arguments, used once, and forgotten when the question
// times out.

// run is one tools/call execution. Results go to whichever request is
// waiting for it: the tools/call that started it, then each retry.
type run struct {
	cancel context.CancelFunc

	mu     sync.Mutex
	waiter chan runEvent // the request waiting for the next event; nil if none
	final  *runEvent     // the end of a run that finished while nobody waited
}

// runEvent is a result for the waiting request: an interim input_required
// result (final false) or the run's end.
type runEvent struct {
	res   any
	rerr  *jsonrpc2.Error
	final bool
}

// wait registers a new waiter. A run that already ended delivers its end.
func (r *run) wait() chan runEvent {
	w := make(chan runEvent, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.final != nil {
		w <- *r.final
		r.final = nil
		return w
	}
	r.waiter = w
	return w
}

// emit hands ev to the waiting request; false when none waits.
func (r *run) emit(ev runEvent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiter == nil {
		if ev.final {
			r.final = &ev
		}
		return false
	}
	r.waiter <- ev
	r.waiter = nil
	return true
}

// callCtx travels in the run's context to the code that may ask the client.
type callCtx struct {
	info    reqInfo
	run     *run
	tool    string
	argsKey string
}

type callCtxKey struct{}

func withCall(ctx context.Context, c *callCtx) context.Context {
	return context.WithValue(ctx, callCtxKey{}, c)
}

func callFrom(ctx context.Context) *callCtx {
	c, _ := ctx.Value(callCtxKey{}).(*callCtx)
	return c
}

// canElicit reports whether the user can be asked during the call that ctx
// belongs to: the client declared elicitation (at initialize, or in this
// modern request's _meta).
func (s *session) canElicit(ctx context.Context) bool {
	if c := callFrom(ctx); c != nil {
		return c.info.elicit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientElicit
}

// parkedQuestion is an input request a modern client has not answered yet.
type parkedQuestion struct {
	run     *run
	tool    string
	argsKey string
	key     string               // the inputRequests key the answer must use
	answer  chan json.RawMessage // buffered; nil message = no answer given
}

// errNobodyWaiting means a question came up while no request was waiting
// for the run (an earlier question of the same run timed out).
var errNobodyWaiting = errors.New("the client is no longer waiting for this call")

// askClient puts one server-to-client request (method, params) to the
// client and decodes its result into result. It returns when the answer
// arrives or ctx ends; the caller bounds ctx.
func (s *session) askClient(ctx context.Context, conn *jsonrpc2.Conn, method string, params, result any) error {
	if c := callFrom(ctx); c != nil && c.info.modern {
		return s.askModern(ctx, c, method, params, result)
	}
	s.mu.Lock()
	s.elicitSeq++
	id := jsonrpc2.ID{Str: fmt.Sprintf("aegis-elicit-%d", s.elicitSeq), IsString: true}
	s.mu.Unlock()
	waiter, err := conn.DispatchCall(ctx, method, params, jsonrpc2.PickID(id))
	if err == nil {
		err = waiter.Wait(ctx, result)
	}
	if err != nil && ctx.Err() != nil {
		// Tell the client to take the question down.
		_ = conn.Notify(context.Background(), "notifications/cancelled",
			map[string]any{"requestId": id.Str, "reason": "aegis-mcp no longer needs this answer"})
	}
	return err
}

// inputRequiredResult is the interim answer of a modern tools/call.
type inputRequiredResult struct {
	ResultType    string                  `json:"resultType"`
	InputRequests map[string]inputRequest `json:"inputRequests"`
	RequestState  string                  `json:"requestState"`
	Meta          map[string]any          `json:"_meta,omitempty"`
}

type inputRequest struct {
	Method string `json:"method"`
	Params any    `json:"params"`
}

func (s *session) askModern(ctx context.Context, c *callCtx, method string, params, result any) error {
	token, err := newToken()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.elicitSeq++
	key := fmt.Sprintf("aegis-%d", s.elicitSeq)
	q := &parkedQuestion{run: c.run, tool: c.tool, argsKey: c.argsKey, key: key, answer: make(chan json.RawMessage, 1)}
	s.parked[token] = q
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.parked[token] == q {
			delete(s.parked, token)
		}
		s.mu.Unlock()
	}()
	interim := &inputRequiredResult{
		ResultType:    "input_required",
		InputRequests: map[string]inputRequest{key: {Method: method, Params: params}},
		RequestState:  token,
		Meta:          map[string]any{metaServerInfo: s.serverInfo()},
	}
	if !c.run.emit(runEvent{res: interim}) {
		return errNobodyWaiting
	}
	select {
	case ans := <-q.answer:
		if len(ans) == 0 || string(ans) == "null" {
			return fmt.Errorf("the retry carried no inputResponses[%q]", key)
		}
		if err := json.Unmarshal(ans, result); err != nil {
			return fmt.Errorf("inputResponses[%q]: %w", key, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resume takes the parked question a retry names. The question is removed
// (a requestState is good for one retry); the caller delivers the answer.
func (s *session) resume(token, tool, argsKey string) (*parkedQuestion, string) {
	q := s.parked[token]
	switch {
	case q == nil:
		return nil, "aegis-mcp: this requestState is not open (its question was answered already, or timed out, or the server restarted); call the tool again without inputResponses and requestState"
	case q.tool != tool || q.argsKey != argsKey:
		return nil, "aegis-mcp: this requestState belongs to another call; a retry must repeat the tool name and arguments of the call that asked"
	}
	delete(s.parked, token)
	return q, ""
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a requestState: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// argsKey identifies a call's arguments whatever their spelling (key
// order, white space), so a retry can be matched to the call that asked.
func argsKey(args map[string]json.RawMessage) string {
	canon := map[string]any{}
	for k, v := range args {
		var x any
		if json.Unmarshal(v, &x) != nil {
			x = string(v)
		}
		canon[k] = x
	}
	b, _ := json.Marshal(canon) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

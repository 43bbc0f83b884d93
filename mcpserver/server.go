package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aegisdev/aegis/approval"
	"github.com/aegisdev/aegis/internal/suggest"
	"github.com/aegisdev/aegis/internal/version"
)

// ConfirmMode says how requires_approval calls are answered.
type ConfirmMode string

const (
	// ConfirmElicit asks the user through MCP elicitation when the client
	// declared that capability, and denies otherwise.
	ConfirmElicit ConfirmMode = "elicit"
	// ConfirmAutoAllow approves every requires_approval call (unattended use).
	ConfirmAutoAllow ConfirmMode = "auto-allow"
	// ConfirmAutoDeny denies every requires_approval call.
	ConfirmAutoDeny ConfirmMode = "auto-deny"
)

// ParseConfirmMode validates a --confirm flag value.
func ParseConfirmMode(s string) (ConfirmMode, error) {
	switch m := ConfirmMode(s); m {
	case ConfirmElicit, ConfirmAutoAllow, ConfirmAutoDeny:
		return m, nil
	}
	return "", fmt.Errorf("unknown confirm mode %q: use elicit, auto-allow or auto-deny", s)
}

// Options configure one server connection. Zero values get safe defaults.
type Options struct {
	Backend Backend
	Confirm ConfirmMode // default ConfirmElicit
	Logger  *log.Logger // diagnostics; never stdout. nil discards them
	Version string      // serverInfo.version

	MaxRequestBytes   int           // longest accepted message; default 4 MiB
	MaxResponseBytes  int           // longest message ever written; default 9 MiB (clients cap at 10 MiB)
	MaxOutputBytes    int           // script output kept per result before truncation; default 1 MiB
	MaxConcurrentRuns int           // scripts running at once; default 4
	MaxPendingCalls   int           // tools/call accepted but unanswered; default 64
	EOFGrace          time.Duration // how long runs may finish after stdin closes; default 300ms
	ElicitTimeout     time.Duration // how long to wait for the user's answer; default 5 minutes
}

func (o *Options) setDefaults() {
	if o.Confirm == "" {
		o.Confirm = ConfirmElicit
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard, "", 0)
	}
	if o.Version == "" {
		o.Version = version.Get().Short()
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 4 << 20
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 9 << 20
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = 1 << 20
	}
	if o.MaxConcurrentRuns <= 0 {
		o.MaxConcurrentRuns = 4
	}
	if o.MaxPendingCalls <= 0 {
		o.MaxPendingCalls = 64
	}
	if o.EOFGrace <= 0 {
		o.EOFGrace = 300 * time.Millisecond
	}
	if o.ElicitTimeout <= 0 {
		o.ElicitTimeout = 5 * time.Minute
	}
}

// Protocol revisions this server speaks, newest first. 2026-07-28 is left
// out on purpose: its stateless era (server/discover, per-request _meta)
// is all-or-nothing, and half of it makes clients pick the wrong era.
var supportedVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// versionAtLeast compares revision dates; they sort as strings.
func versionAtLeast(v, min string) bool { return v >= min }

// Serve runs one MCP session over in/out until in reaches EOF or ctx is
// cancelled. It returns nil on a clean end of input. out is closed on
// return, which tells the client the server is gone.
func Serve(ctx context.Context, in io.Reader, out io.WriteCloser, opts Options) error {
	if opts.Backend == nil {
		return errors.New("mcpserver: Options.Backend is nil")
	}
	opts.setDefaults()
	s := newSession(opts)
	st := newStream(in, out, out, opts.MaxRequestBytes, opts.MaxResponseBytes, opts.Logger)
	st.beforeEOF = s.drain
	s.st = st
	conn := jsonrpc2.NewConn(ctx, st, s, jsonrpc2.SetLogger(opts.Logger))
	<-conn.DisconnectNotify()
	s.cancelAll()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mcp session: %w", err)
	}
	return nil
}

// session is the state of one client connection.
type session struct {
	opts Options
	log  *log.Logger
	st   *stream
	caps map[string]bool // capabilities the policy enables, fixed for the session

	mu           sync.Mutex
	initialized  bool
	version      string
	clientElicit bool
	inflight     map[string]*call // by canonical wire id
	taskSeq      uint64
	elicitSeq    uint64
	draining     bool
	approvals    approval.Memory // calls approved "for this session" (confirm.go)

	wg  sync.WaitGroup // running tools/call goroutines
	sem chan struct{}  // bounds concurrent scripts
}

// call is one tools/call in flight.
type call struct {
	id        jsonrpc2.ID
	cancel    context.CancelFunc
	cancelled bool // set under session.mu; a cancelled call is never answered
	replying  bool // set under session.mu once the reply is committed
}

func newSession(opts Options) *session {
	caps := map[string]bool{}
	for _, c := range opts.Backend.PolicySummary().Capabilities {
		caps[c] = true
	}
	return &session{
		opts:     opts,
		log:      opts.Logger,
		caps:     caps,
		inflight: map[string]*call{},
		sem:      make(chan struct{}, opts.MaxConcurrentRuns),
	}
}

func rpcError(code int64, msg string) *jsonrpc2.Error {
	return &jsonrpc2.Error{Code: code, Message: msg}
}

// Handle implements jsonrpc2.Handler. It runs on the connection's read
// loop, so everything here is quick; only tools/call work moves to a
// goroutine (registered first, so a cancel on the very next line finds it).
func (s *session) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	defer func() {
		if r := recover(); r != nil {
			// The panic value may hold script data; only the stack is logged.
			s.log.Printf("internal error: panic while handling %q (value withheld)\n%s", req.Method, debug.Stack())
			if !req.Notif {
				s.replyError(ctx, conn, req.ID, rpcError(codeInternalError, "Internal error"))
			}
		}
	}()
	if req.Notif {
		s.handleNotification(req)
		return
	}
	params, perr := objectParams(req)
	if perr != nil {
		s.replyError(ctx, conn, req.ID, perr)
		return
	}
	switch req.Method {
	case "initialize":
		s.handleInitialize(ctx, conn, req, params)
	case "ping":
		s.reply(ctx, conn, req.ID, struct{}{})
	case "tools/list":
		if !s.requireInit(ctx, conn, req) {
			return
		}
		s.handleToolsList(ctx, conn, req, params)
	case "tools/call":
		if !s.requireInit(ctx, conn, req) {
			return
		}
		s.handleToolsCall(ctx, conn, req, params)
	case "server/discover":
		// Dual-era clients probe this first; any prompt error makes them
		// fall back to initialize, which is what this server speaks.
		s.replyError(ctx, conn, req.ID, rpcError(codeMethodNotFound,
			"Method not found: server/discover (this server speaks MCP "+supportedVersions[0]+" and earlier; use initialize)"))
	default:
		s.replyError(ctx, conn, req.ID, rpcError(codeMethodNotFound, fmt.Sprintf("Method not found: %q", req.Method)))
	}
}

// objectParams decodes params as an object; absent or null means empty.
func objectParams(req *jsonrpc2.Request) (map[string]json.RawMessage, *jsonrpc2.Error) {
	params := map[string]json.RawMessage{}
	if req.Params == nil || string(*req.Params) == "null" {
		return params, nil
	}
	if err := json.Unmarshal(*req.Params, &params); err != nil {
		return nil, rpcError(codeInvalidParams, fmt.Sprintf("Invalid params: %s expects an object", req.Method))
	}
	return params, nil
}

func (s *session) requireInit(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) bool {
	s.mu.Lock()
	ok := s.initialized
	s.mu.Unlock()
	if !ok {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidRequest,
			fmt.Sprintf("Invalid Request: %s before initialize; send initialize first", req.Method)))
	}
	return ok
}

func (s *session) handleNotification(req *jsonrpc2.Request) {
	switch req.Method {
	case "notifications/cancelled":
		s.handleCancel(req)
	case "notifications/initialized":
		// Nothing to do: the session is usable once initialize is answered.
	default:
		// Unknown notifications are ignored (a receiver never answers one).
	}
}

func (s *session) handleInitialize(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage) {
	var requested string
	raw, present := params["protocolVersion"]
	if !present || json.Unmarshal(raw, &requested) != nil || requested == "" {
		e := rpcError(codeInvalidParams, "Unsupported protocol version: initialize needs params.protocolVersion as a string")
		data := map[string]any{"supported": supportedVersions}
		if present {
			data["requested"] = raw
		}
		e.SetError(data)
		s.replyError(ctx, conn, req.ID, e)
		return
	}
	var caps struct {
		Elicitation json.RawMessage `json:"elicitation"`
	}
	if c, ok := params["capabilities"]; ok {
		_ = json.Unmarshal(c, &caps) // unknown or malformed capabilities are ignored
	}
	s.mu.Lock()
	if s.initialized {
		v := s.version
		s.mu.Unlock()
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidRequest,
			fmt.Sprintf("Invalid Request: the session is already initialized (protocol %s)", v)))
		return
	}
	version := negotiate(requested)
	s.initialized = true
	s.version = version
	// Elicitation exists from 2025-06-18; an older session cannot use it.
	s.clientElicit = versionAtLeast(version, "2025-06-18") && len(caps.Elicitation) > 0 && string(caps.Elicitation) != "null"
	s.mu.Unlock()

	s.reply(ctx, conn, req.ID, map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"tools": map[string]any{"listChanged": false}},
		"serverInfo":      map[string]any{"name": "aegis-mcp", "version": s.opts.Version},
		"instructions": "Aegis runs your Starlark scripts under the operator's policy. Call aegis_policy to see what is enabled, " +
			"aegis_explain to ask whether a call would be allowed, and aegis_run (or the aegis_fs_*/aegis_exec/aegis_http_get wrappers) to act. " +
			"Values from local-only sources print as [REDACTED]; a denial names the rule and how the operator could allow it.",
	})
}

// negotiate echoes a supported version and otherwise offers the newest one
// (never an unknown or newer version: the client decides whether to stay).
func negotiate(requested string) string {
	for _, v := range supportedVersions {
		if v == requested {
			return v
		}
	}
	return supportedVersions[0]
}

func (s *session) handleToolsList(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage) {
	if c, ok := params["cursor"]; ok && string(c) != "null" {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams,
			"Invalid params: unknown cursor (this server returns every tool in one page and never issues cursors)"))
		return
	}
	s.mu.Lock()
	version := s.version
	s.mu.Unlock()
	list := make([]map[string]any, 0, len(tools))
	for i := range tools {
		list = append(list, tools[i].listEntry(version, s.caps))
	}
	s.reply(ctx, conn, req.ID, map[string]any{"tools": list})
}

func (s *session) handleToolsCall(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage) {
	var name string
	if err := json.Unmarshal(params["name"], &name); err != nil || name == "" {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, "Invalid params: tools/call needs params.name as a string"))
		return
	}
	tool, ok := lookupTool(name)
	if !ok {
		msg := fmt.Sprintf("Unknown tool: %q", name)
		if near := nearest(name, toolNames()); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, msg))
		return
	}
	argsRaw := map[string]json.RawMessage{}
	if a, ok := params["arguments"]; ok && string(a) != "null" {
		if err := json.Unmarshal(a, &argsRaw); err != nil {
			s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, "Invalid params: tools/call arguments must be an object"))
			return
		}
	}
	key, ok := idKey(s.st.wireID(req.ID))
	if !ok {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidRequest, "Invalid Request: unusable id"))
		return
	}

	s.mu.Lock()
	switch {
	case s.inflight[key] != nil:
		s.mu.Unlock()
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidRequest,
			"Invalid Request: a request with this id is still running; ids must be unique within a session"))
		return
	case s.draining:
		s.mu.Unlock()
		s.replyError(ctx, conn, req.ID, rpcError(codeInternalError, "Internal error: the server is shutting down"))
		return
	case len(s.inflight) >= s.opts.MaxPendingCalls:
		n := len(s.inflight)
		s.mu.Unlock()
		s.reply(ctx, conn, req.ID, toolError(fmt.Sprintf(
			"aegis-mcp is busy: %d calls are already running or queued; wait for some to finish and retry", n)))
		return
	}
	// The call runs on the connection's context: it ends when the
	// connection does, or when the client cancels this one request.
	cctx, cancel := context.WithCancel(ctx)
	c := &call{id: req.ID, cancel: cancel}
	s.inflight[key] = c
	s.taskSeq++
	seq := s.taskSeq
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		defer cancel()
		res, rerr := s.runTool(cctx, conn, tool, argsRaw, seq)
		s.mu.Lock()
		delete(s.inflight, key)
		cancelled := c.cancelled
		c.replying = !cancelled
		s.mu.Unlock()
		if cancelled {
			s.st.forget(req.ID) // nobody will answer it, so drop its id mapping
			return
		}
		if rerr != nil {
			s.replyError(ctx, conn, req.ID, rerr)
			return
		}
		s.reply(ctx, conn, req.ID, res)
	}()
}

// runTool runs one tool call and never panics: a panic in the backend
// becomes a JSON-RPC internal error.
func (s *session) runTool(ctx context.Context, conn *jsonrpc2.Conn, tool *toolDef, raw map[string]json.RawMessage, seq uint64) (res *callResult, rerr *jsonrpc2.Error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Printf("internal error: panic in tool %s (value withheld)\n%s", tool.name, debug.Stack())
			res, rerr = nil, rpcError(codeInternalError, "Internal error while running "+tool.name)
		}
	}()
	a, err := tool.validate(raw)
	if err != nil {
		return toolError(err.Error()), nil
	}
	switch tool.kind {
	case toolPolicy:
		return s.structured(s.opts.Backend.PolicySummary()), nil
	case toolRouting:
		recs := s.opts.Backend.ToolRouting()
		if recs == nil {
			recs = []ToolRecord{}
		}
		return s.structured(map[string]any{"tools": recs}), nil
	case toolExplain:
		ex, err := s.opts.Backend.Explain(a.strs["capability"], a.lists["target"])
		if err != nil {
			return toolError("aegis_explain: " + err.Error()), nil
		}
		return s.structured(ex), nil
	}

	req := RunRequest{Filename: tool.name + ".star"}
	switch tool.kind {
	case toolRun:
		req.Script = a.strs["script"]
		req.TaskID = a.strs["task_id"]
	default:
		req.Script = tool.script
		in, err := tool.scriptInputs(a)
		if err != nil {
			return toolError(err.Error()), nil
		}
		req.Inputs = in
	}
	if req.TaskID == "" {
		req.TaskID = fmt.Sprintf("mcp-%d", seq)
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return toolError("aegis-mcp: the call was cancelled before it started"), nil
	}
	approvals := &approvalLog{}
	req.Confirm = s.confirmer(conn, req.TaskID, approvals)
	result := s.opts.Backend.Run(ctx, req)
	// Only public facts go to the log: never script text, output or errors.
	s.log.Printf("tools/call %s task=%q exit=%s calls=%d in %s", tool.name, req.TaskID, result.ExitKind, result.Calls, time.Since(start).Round(time.Millisecond))
	return s.runResult(tool, result, approvals), nil
}

// handleCancel stops an in-flight tools/call. The cancelled request is
// never answered; unknown, finished or malformed cancels are ignored.
func (s *session) handleCancel(req *jsonrpc2.Request) {
	params, perr := objectParams(req)
	if perr != nil {
		return
	}
	key, ok := idKey(params["requestId"])
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.inflight[key]; c != nil && !c.replying {
		c.cancelled = true
		c.cancel()
	}
}

// drain runs when stdin closes: calls already received get a short grace
// to finish and be answered, then the rest are cancelled, so the process
// exits promptly even under a runaway script.
func (s *session) drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(s.opts.EOFGrace):
	}
	s.cancelAll()
	select {
	case <-done:
	case <-time.After(s.opts.EOFGrace):
		s.log.Printf("exiting with runs still stopping")
	}
}

func (s *session) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.inflight {
		if !c.replying {
			c.cancelled = true
			c.cancel()
		}
	}
}

func (s *session) reply(ctx context.Context, conn *jsonrpc2.Conn, id jsonrpc2.ID, result any) {
	if err := conn.Reply(ctx, id, result); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Printf("reply: %v", err)
	}
}

func (s *session) replyError(ctx context.Context, conn *jsonrpc2.Conn, id jsonrpc2.ID, e *jsonrpc2.Error) {
	if err := conn.ReplyWithError(ctx, id, e); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Printf("reply: %v", err)
	}
}

// nearest suggests the closest name, if one is close enough to be a typo.
func nearest(name string, candidates []string) string {
	best, bestD := "", len(name)/2+2
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		d := suggest.Distance(name, c)
		if len(name) >= 3 && strings.HasPrefix(c, name) {
			d = 1 // a truncated name ("claude" for "claude-code") is a typo too
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

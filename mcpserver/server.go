package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
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
	Confirm ConfirmMode  // default ConfirmElicit
	Logger  *slog.Logger // diagnostics; never stdout. nil discards them
	Version string       // serverInfo.version

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
		o.Logger = slog.New(slog.DiscardHandler)
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
	conn := jsonrpc2.NewConn(ctx, st, s, jsonrpc2.SetLogger(printfLogger{opts.Logger}))
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
	log  *slog.Logger
	st   *stream
	caps map[string]bool // capabilities the policy enables, fixed for the session

	mu           sync.Mutex
	initialized  bool
	version      string
	clientElicit bool
	inflight     map[string]*call           // by canonical wire id
	runs         map[*run]struct{}          // tools/call runs not yet ended
	parked       map[string]*parkedQuestion // modern questions awaiting a retry, by requestState
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
		runs:     map[*run]struct{}{},
		parked:   map[string]*parkedQuestion{},
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
			s.log.Error("internal error: panic while handling a request (value withheld)", "method", req.Method, "stack", string(debug.Stack()))
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
	info, modern, merr := requestMeta(params)
	if merr != nil {
		s.replyError(ctx, conn, req.ID, merr)
		return
	}
	if modern {
		s.handleModern(ctx, conn, req, params, info)
		return
	}
	switch req.Method {
	case "initialize":
		s.handleInitialize(ctx, conn, req, params)
	case "ping":
		s.reply(ctx, conn, req.ID, struct{}{})
	case "tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list":
		info, ok := s.legacyInfo()
		if !ok {
			s.replyError(ctx, conn, req.ID, rpcError(codeInvalidRequest, fmt.Sprintf(
				"Invalid Request: %s before initialize; send initialize first, or name the revision in params._meta[%q] (%s)",
				req.Method, metaProtocolVersion, modernVersions[0])))
			return
		}
		s.handleShared(ctx, conn, req, params, info)
	case "server/discover":
		// A discover without the modern _meta is malformed. Dual-era
		// clients fall back to initialize on any error here.
		s.replyError(ctx, conn, req.ID, unsupportedVersion(nil, fmt.Sprintf(
			"Invalid params: server/discover needs params._meta[%q] (%s) and params._meta[%q]; legacy clients use initialize",
			metaProtocolVersion, modernVersions[0], metaClientCapabilities), codeInvalidParams))
	default:
		s.replyError(ctx, conn, req.ID, rpcError(codeMethodNotFound, fmt.Sprintf("Method not found: %q", req.Method)))
	}
}

// handleModern serves one 2026-07-28 request: no session state, the
// revision and the client's capabilities come with the request.
func (s *session) handleModern(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	if why, removed := removedInModern[req.Method]; removed {
		s.replyError(ctx, conn, req.ID, rpcError(codeMethodNotFound, fmt.Sprintf(
			"Method not found: %s does not exist in MCP %s (%s)", req.Method, info.version, why)))
		return
	}
	switch req.Method {
	case "server/discover":
		s.reply(ctx, conn, req.ID, s.discover(info))
	case "tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list":
		s.handleShared(ctx, conn, req, params, info)
	default:
		s.replyError(ctx, conn, req.ID, rpcError(codeMethodNotFound, fmt.Sprintf("Method not found: %q", req.Method)))
	}
}

// handleShared serves the methods both eras have; info says how to answer.
func (s *session) handleShared(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	switch req.Method {
	case "tools/list":
		s.handleToolsList(ctx, conn, req, params, info)
	case "tools/call":
		s.handleToolsCall(ctx, conn, req, params, info)
	case "resources/list":
		s.handleResourcesList(ctx, conn, req, params, info)
	case "resources/templates/list":
		s.handleResourceTemplatesList(ctx, conn, req, params, info)
	case "resources/read":
		s.handleResourcesRead(ctx, conn, req, params, info)
	}
}

// legacyInfo is how a legacy request is answered: by what initialize
// negotiated. ok is false before initialize.
func (s *session) legacyInfo() (reqInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return reqInfo{version: s.version, elicit: s.clientElicit}, s.initialized
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

// instructions are sent at initialize and server/discover.
const instructions = "Aegis runs your Starlark scripts under the operator's policy. Call aegis_policy to see what is allowed, " +
	"aegis_explain to ask whether one call would be, and aegis_run (or the aegis_fs_*/aegis_exec/aegis_http_get wrappers) to act. " +
	"Values from local-only sources print as [REDACTED]; a denial names the rule and how the operator could allow it."

func (s *session) handleInitialize(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage) {
	var requested string
	raw, present := params["protocolVersion"]
	if !present || json.Unmarshal(raw, &requested) != nil || requested == "" {
		var requestedRaw json.RawMessage
		if present {
			requestedRaw = raw
		}
		s.replyError(ctx, conn, req.ID, unsupportedVersion(requestedRaw,
			"Unsupported protocol version: initialize needs params.protocolVersion as a string", codeInvalidParams))
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
	s.clientElicit = version >= "2025-06-18" && len(caps.Elicitation) > 0 && string(caps.Elicitation) != "null"
	s.mu.Unlock()

	s.reply(ctx, conn, req.ID, map[string]any{
		"protocolVersion": version,
		"capabilities":    serverCapabilities(),
		"serverInfo":      s.serverInfo(),
		"instructions":    instructions,
	})
}

// negotiate echoes a supported legacy revision and otherwise offers the
// newest one (never an unknown, newer or modern revision: initialize is
// the legacy handshake, and the client decides whether to stay).
func negotiate(requested string) string {
	for _, v := range legacyVersions {
		if v == requested {
			return v
		}
	}
	return legacyVersions[0]
}

// noCursor refuses a pagination cursor: every list fits one page.
func (s *session) noCursor(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage) bool {
	if c, ok := params["cursor"]; ok && string(c) != "null" {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams,
			"Invalid params: unknown cursor (this server returns every item in one page and never issues cursors)"))
		return false
	}
	return true
}

func (s *session) handleToolsList(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	if !s.noCursor(ctx, conn, req, params) {
		return
	}
	ts := tools()
	list := make([]map[string]any, 0, len(ts))
	for i := range ts {
		list = append(list, ts[i].listEntry(info, s.caps))
	}
	s.reply(ctx, conn, req.ID, s.complete(info, map[string]any{"tools": list}, scopePublic))
}

func (s *session) handleToolsCall(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	var name string
	if err := json.Unmarshal(params["name"], &name); err != nil || name == "" {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, "Invalid params: tools/call needs params.name as a string"))
		return
	}
	tool, ok := lookupTool(name)
	if !ok {
		msg := fmt.Sprintf("Unknown tool: %q", name)
		if s := suggest.DidYouMean(name, toolNames()); s != "" {
			msg += "; " + s
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
	var state string
	if info.modern {
		if raw, ok := params["requestState"]; ok && string(raw) != "null" {
			if json.Unmarshal(raw, &state) != nil || state == "" {
				s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, "Invalid params: requestState must be the non-empty string an input_required result gave"))
				return
			}
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
	case len(s.inflight) >= s.opts.MaxPendingCalls && state == "":
		n := len(s.inflight)
		s.mu.Unlock()
		s.reply(ctx, conn, req.ID, s.completeCall(info, toolError(fmt.Sprintf(
			"aegis-mcp is busy: %d calls are already running or queued; wait for some to finish and retry", n))))
		return
	}
	akey := argsKey(argsRaw)
	if state != "" {
		// A retry of a modern call that asked a question: deliver the
		// answer to the parked run and wait for what it does next.
		q, why := s.resume(state, name, akey)
		if q == nil {
			s.mu.Unlock()
			s.reply(ctx, conn, req.ID, s.completeCall(info, toolError(why)))
			return
		}
		c := &call{id: req.ID, cancel: q.run.cancel}
		s.inflight[key] = c
		s.wg.Add(1)
		s.mu.Unlock()
		w := q.run.wait()
		var answer json.RawMessage
		var responses map[string]json.RawMessage
		if raw, ok := params["inputResponses"]; ok && json.Unmarshal(raw, &responses) == nil {
			answer = responses[q.key]
		}
		q.answer <- answer
		go s.await(ctx, conn, req.ID, key, c, w, info)
		return
	}
	// The run has its own context: it ends when the connection does, or
	// when the client cancels the request waiting for it.
	rctx, cancel := context.WithCancel(ctx)
	r := &run{cancel: cancel}
	rctx = withCall(rctx, &callCtx{info: info, run: r, tool: name, argsKey: akey})
	c := &call{id: req.ID, cancel: cancel}
	s.inflight[key] = c
	s.runs[r] = struct{}{}
	s.taskSeq++
	seq := s.taskSeq
	s.wg.Add(2)
	s.mu.Unlock()
	w := r.wait()

	go func() {
		defer s.wg.Done()
		defer cancel()
		res, rerr := s.runTool(rctx, conn, tool, argsRaw, seq, info)
		s.mu.Lock()
		delete(s.runs, r)
		s.mu.Unlock()
		var out any
		if res != nil {
			out = s.completeCall(info, res)
		}
		if !r.emit(runEvent{res: out, rerr: rerr, final: true}) {
			s.log.Warn("tools/call ended while no request waited for it (its question went unanswered)", "tool", tool.name, "task", fmt.Sprintf("mcp-%d", seq))
		}
	}()
	go s.await(ctx, conn, req.ID, key, c, w, info)
}

// await answers one tools/call request with the next event of its run: an
// interim input_required result or the run's end. A cancelled request is
// never answered.
func (s *session) await(ctx context.Context, conn *jsonrpc2.Conn, id jsonrpc2.ID, key string, c *call, w chan runEvent, info reqInfo) {
	defer s.wg.Done()
	ev := <-w
	s.mu.Lock()
	delete(s.inflight, key)
	cancelled := c.cancelled
	c.replying = !cancelled
	s.mu.Unlock()
	if cancelled {
		s.st.forget(id) // nobody will answer it, so drop its id mapping
		return
	}
	if ev.rerr != nil {
		s.replyError(ctx, conn, id, ev.rerr)
		return
	}
	s.reply(ctx, conn, id, ev.res)
}

// completeCall marks a modern CallToolResult (see complete).
func (s *session) completeCall(info reqInfo, r *callResult) *callResult {
	if info.modern {
		r.ResultType = "complete"
		if r.Meta == nil {
			r.Meta = map[string]any{}
		}
		r.Meta[metaServerInfo] = s.serverInfo()
	}
	return r
}

// runTool runs one tool call and never panics: a panic in the backend
// becomes a JSON-RPC internal error.
func (s *session) runTool(ctx context.Context, conn *jsonrpc2.Conn, tool *toolDef, raw map[string]json.RawMessage, seq uint64, info reqInfo) (res *callResult, rerr *jsonrpc2.Error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("internal error: panic in a tool (value withheld)", "tool", tool.name, "stack", string(debug.Stack()))
			res, rerr = nil, rpcError(codeInternalError, "Internal error while running "+tool.name)
		}
	}()
	a, err := tool.validate(raw)
	if err != nil {
		return toolError(err.Error()), nil
	}
	switch tool.kind {
	case toolPolicy:
		if a.strs["detail"] == "full" {
			return jsonText(s.opts.Backend.PolicySummary()), nil
		}
		return &callResult{Content: []textContent{text(string(PolicyBrief(s.opts.Backend.PolicySummary())))}}, nil
	case toolRouting:
		recs := s.opts.Backend.ToolRouting()
		if recs == nil {
			recs = []ToolRecord{}
		}
		return jsonText(map[string]any{"tools": recs}), nil
	case toolExplain:
		ex, err := s.opts.Backend.Explain(a.strs["capability"], a.lists["target"])
		if err != nil {
			return toolError("aegis_explain: " + err.Error()), nil
		}
		return jsonText(ex), nil
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
	s.log.Info("tools/call", "tool", tool.name, "task", req.TaskID, "exit", result.ExitKind, "calls", result.Calls, "duration", time.Since(start).Round(time.Millisecond))
	return s.runResult(tool, result, approvals, info), nil
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
		s.log.Warn("exiting with runs still stopping")
	}
}

// cancelAll stops every run: those a request waits for (which then get
// no answer) and those parked at a question no retry answered yet.
func (s *session) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.inflight {
		if !c.replying {
			c.cancelled = true
			c.cancel()
		}
	}
	for r := range s.runs {
		r.cancel()
	}
}

func (s *session) reply(ctx context.Context, conn *jsonrpc2.Conn, id jsonrpc2.ID, result any) {
	if err := conn.Reply(ctx, id, result); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Warn("reply failed", "err", err)
	}
}

func (s *session) replyError(ctx context.Context, conn *jsonrpc2.Conn, id jsonrpc2.ID, e *jsonrpc2.Error) {
	if err := conn.ReplyWithError(ctx, id, e); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Warn("reply failed", "err", err)
	}
}

// printfLogger passes jsonrpc2's own diagnostics to slog, as warnings.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, v ...any) {
	p.l.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "jsonrpc2")
}

package exfilprobes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MCPExecutor runs each script through the aegis_run tool of an `aegis-mcp --policy P` process,
// speaking newline-delimited JSON-RPC 2.0 on its stdio. A session is one server process, which is
// what the runtime counts secret-dependent aborts over.
type MCPExecutor struct {
	Binary string   // path of the aegis-mcp binary
	Args   []string // extra arguments (none by default)
	// HandshakeTimeout bounds the wait for the initialize response; default 20s.
	HandshakeTimeout time.Duration
	// Modern speaks the stateless revision (modernVersion): server/discover instead of
	// initialize, the revision and capabilities in every request's _meta, and approvals asked
	// as input_required results that the harness answers by retrying the call.
	Modern bool
}

// Name implements Executor.
func (e *MCPExecutor) Name() string {
	if e.Modern {
		return "mcp-modern"
	}
	return "mcp"
}

// protocolVersion is the MCP revision the harness asks for; every supported server accepts it.
const protocolVersion = "2025-06-18"

// modernVersion is the stateless revision an MCPExecutor with Modern speaks.
const modernVersion = "2026-07-28"

// modernMeta is the _meta of every modern request: the revision, and elicitation declared so that
// an approval is asked of the "user" (as the legacy handshake declares it).
func modernMeta() map[string]any {
	return map[string]any{
		"io.modelcontextprotocol/protocolVersion":    modernVersion,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{}},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "aegis-probe", "version": "1"},
	}
}

type rpcMessage struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   json.RawMessage  `json:"error,omitempty"`
}

type mcpSession struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *cappedBuffer
	mu     sync.Mutex
	nextID int
	closed bool
	modern bool     // the stateless revision: _meta on every request, input_required retries
	late   []string // messages read after the last response, collected by Close
}

// After implements afterSession: what the server sent after its last response.
func (s *mcpSession) After() string { return strings.Join(s.late, "\n") }

// Open implements Executor: it starts the server and completes the MCP handshake.
func (e *MCPExecutor) Open(ctx context.Context, spec SessionSpec) (Session, error) {
	args := append([]string{"--policy", spec.PolicyPath}, e.Args...)
	// The server lives for the whole session, beyond any one run's context; Close ends it.
	cmd := exec.Command(e.Binary, args...)
	cmd.Dir = spec.Fixture.Work
	cmd.Env = spec.Env
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	s := &mcpSession{cmd: cmd, stdin: stdin, lines: make(chan []byte, 16), stderr: &cappedBuffer{}, nextID: 1, modern: e.Modern}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", e.Binary, err)
	}
	go s.readLoop(stdout)

	timeout := e.HandshakeTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if e.Modern {
		if err := s.discover(hctx); err != nil {
			logs, _ := s.Close()
			return nil, fmt.Errorf("MCP discovery with %s: %w%s", e.Binary, err, firstLine(" ", logs))
		}
		return s, nil
	}
	init := map[string]any{
		"protocolVersion": protocolVersion,
		// Elicitation is declared so that an approval (requires_approval) is asked of the "user";
		// the harness answers and records every question (see call).
		"capabilities": map[string]any{"elicitation": map[string]any{}},
		"clientInfo":   map[string]any{"name": "aegis-probe", "version": "1"},
	}
	resp, _, err := s.call(hctx, "initialize", init)
	if err == nil && len(resp.Error) > 0 {
		err = fmt.Errorf("initialize answered with error %s", resp.Error)
	}
	if err == nil {
		var res struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if jerr := json.Unmarshal(resp.Result, &res); jerr != nil || res.ProtocolVersion == "" {
			err = fmt.Errorf("initialize result has no protocolVersion: %s", clip(string(resp.Result), 200))
		}
	}
	if err == nil {
		err = s.send(rpcMessage{JSONRPC: "2.0", Method: "notifications/initialized"})
	}
	if err != nil {
		logs, _ := s.Close()
		return nil, fmt.Errorf("MCP handshake with %s: %w%s", e.Binary, err, firstLine(" ", logs))
	}
	return s, nil
}

// discover is the modern handshake: one server/discover, whose answer must offer modernVersion.
func (s *mcpSession) discover(ctx context.Context) error {
	resp, _, err := s.call(ctx, "server/discover", map[string]any{"_meta": modernMeta()})
	if err != nil {
		return err
	}
	if len(resp.Error) > 0 {
		return fmt.Errorf("server/discover answered with error %s", resp.Error)
	}
	var res struct {
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal(resp.Result, &res); err != nil || !slices.Contains(res.SupportedVersions, modernVersion) {
		return fmt.Errorf("server/discover does not offer %s: %s", modernVersion, clip(string(resp.Result), 200))
	}
	return nil
}

func (s *mcpSession) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			s.lines <- line
		}
		if err != nil {
			close(s.lines)
			return
		}
	}
}

func (s *mcpSession) send(m rpcMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.Method, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", m.Method, err)
	}
	return nil
}

// errServerGone reports that the server closed its stdout (it exited or crashed) during a call.
var errServerGone = errors.New("server closed stdout")

// elicitAccept is the harness's answer to every elicitation/create: the user approves. The
// question itself, with its parameters, is recorded as a public observable first.
var elicitAccept = json.RawMessage(`{"action":"accept","content":{"approved":true}}`)

// call sends a request and waits for its response. Notifications that arrive meanwhile are
// returned too: what the server tells the client is a public observable. So is every request from
// the server, recorded with its parameters: an elicitation (an approval question) is approved,
// anything else (roots, sampling) is declined, which is what an unattended client does.
func (s *mcpSession) call(ctx context.Context, method string, params any) (rpcMessage, []string, error) {
	s.nextID++
	id := s.nextID
	p, err := json.Marshal(params)
	if err != nil {
		return rpcMessage{}, nil, fmt.Errorf("encode %s params: %w", method, err)
	}
	raw := json.RawMessage(fmt.Sprint(id))
	if err := s.send(rpcMessage{JSONRPC: "2.0", ID: &raw, Method: method, Params: p}); err != nil {
		return rpcMessage{}, nil, err
	}
	var notes []string
	for {
		select {
		case <-ctx.Done():
			return rpcMessage{}, notes, fmt.Errorf("no response to %s: %w", method, ctx.Err())
		case line, ok := <-s.lines:
			if !ok {
				return rpcMessage{}, notes, fmt.Errorf("%w before answering %s%s", errServerGone, method, firstLine(": ", s.stderr.String()))
			}
			var m rpcMessage
			if err := json.Unmarshal(line, &m); err != nil {
				return rpcMessage{}, notes, fmt.Errorf("server wrote a line that is not JSON: %q", clip(string(line), 200))
			}
			switch {
			case m.Method != "" && m.ID != nil:
				notes = append(notes, "request "+m.Method+" "+string(compactJSON(m.Params)))
				reply := rpcMessage{JSONRPC: "2.0", ID: m.ID}
				if m.Method == "elicitation/create" {
					reply.Result = elicitAccept
				} else {
					reply.Error = json.RawMessage(`{"code":-32601,"message":"not supported by the probe harness"}`)
				}
				if err := s.send(reply); err != nil {
					return rpcMessage{}, notes, err
				}
			case m.Method != "":
				notes = append(notes, strings.TrimSpace(string(line)))
			case m.ID != nil && string(*m.ID) == fmt.Sprint(id):
				return m, notes, nil
			default:
				notes = append(notes, "unexpected "+strings.TrimSpace(string(line)))
			}
		}
	}
}

// compactJSON is raw without insignificant whitespace (raw itself if it does not parse).
func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// volatileKey reports whether a structuredContent key holds a timing, which differs between any
// two runs and so cannot be compared. Nothing else is masked.
func volatileKey(k string) bool {
	k = strings.ToLower(k)
	return strings.HasSuffix(k, "_ms") || strings.HasSuffix(k, "_ns") || strings.HasSuffix(k, "_us") ||
		strings.Contains(k, "duration") || strings.Contains(k, "elapsed")
}

func (s *mcpSession) Run(ctx context.Context, inv Invocation) (Outcome, error) {
	args := map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": inv.Text, "task_id": "probe"}}
	var resp rpcMessage
	var notes []string
	var err error
	if s.modern {
		resp, notes, err = s.callModern(ctx, args)
	} else {
		resp, notes, err = s.call(ctx, "tools/call", args)
	}
	if err != nil {
		if errors.Is(err, errServerGone) {
			// The server died during the run (a crash): its user sees the session end. The
			// logs hold the reason; control() fails the script on a crash.
			o := Outcome{Exit: "server exited during the call", Code: -1}
			o.addPublic("mcp.notifications", strings.Join(notes, "\n"))
			logs, _ := s.Close()
			o.Error = logs
			o.addPrivate("logs", logs)
			return o, nil
		}
		if ctx.Err() != nil {
			// A run that never answers is a termination the user sees as a timeout; the session
			// cannot be trusted afterwards, so it is closed.
			o := Outcome{Exit: "timeout", Code: -1}
			o.addPublic("mcp.notifications", strings.Join(notes, "\n"))
			logs, _ := s.Close()
			o.addPrivate("logs", logs)
			return o, nil
		}
		return Outcome{}, err
	}
	out, err := s.outcome(resp, notes)
	if err != nil {
		return Outcome{}, err
	}
	pid := s.cmd.Process.Pid
	out.Stdout, out.Error = maskOwnPID(out.Stdout, pid), maskOwnPID(out.Error, pid)
	for i := range out.Public {
		out.Public[i].Value = maskOwnPID(out.Public[i].Value, pid)
	}
	return out, nil
}

// maxInputRounds bounds the input_required retries of one modern call (a server that asks forever).
const maxInputRounds = 256

// callModern makes a modern tools/call and answers every input_required result the way call
// answers a legacy server's requests: each question is recorded as a public observable with its
// parameters (its random requestState aside, which differs between any two runs), an elicitation
// is approved and anything else is left unanswered; then the call is retried with the answers and
// the requestState. It returns the final (complete) response and every note of every round.
func (s *mcpSession) callModern(ctx context.Context, args map[string]any) (rpcMessage, []string, error) {
	params := map[string]any{"_meta": modernMeta()}
	for k, v := range args {
		params[k] = v
	}
	var notes []string
	for round := 0; ; round++ {
		resp, more, err := s.call(ctx, "tools/call", params)
		notes = append(notes, more...)
		if err != nil || len(resp.Error) > 0 {
			return resp, notes, err
		}
		var interim struct {
			ResultType    string `json:"resultType"`
			InputRequests map[string]struct {
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			} `json:"inputRequests"`
			RequestState string         `json:"requestState"`
			Meta         map[string]any `json:"_meta"`
		}
		if json.Unmarshal(resp.Result, &interim) != nil || interim.ResultType != "input_required" {
			return resp, notes, nil
		}
		if round >= maxInputRounds {
			return rpcMessage{}, notes, fmt.Errorf("the server asked for input %d times in one call", round)
		}
		keys := make([]string, 0, len(interim.InputRequests))
		for k := range interim.InputRequests {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		answers := map[string]json.RawMessage{}
		for _, k := range keys {
			q := interim.InputRequests[k]
			notes = append(notes, "input_required "+k+" "+q.Method+" "+string(compactJSON(q.Params)))
			if q.Method == "elicitation/create" {
				answers[k] = elicitAccept
			}
		}
		meta, _ := json.Marshal(interim.Meta)
		notes = append(notes, "input_required _meta "+string(meta))
		params = map[string]any{"_meta": modernMeta(), "requestState": interim.RequestState, "inputResponses": answers}
		for k, v := range args {
			params[k] = v
		}
	}
}

// outcome turns a tools/call response into the observables of one run.
func (s *mcpSession) outcome(resp rpcMessage, notes []string) (Outcome, error) {
	var out Outcome
	out.addPublic("mcp.notifications", strings.Join(notes, "\n"))
	if len(resp.Error) > 0 {
		out.Exit, out.Code = "rpc error "+rpcErrorCode(resp.Error), -1
		out.Error = string(resp.Error)
		out.addPublic("rpc.error", string(resp.Error))
		return out, nil
	}
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
		Meta              map[string]any `json:"_meta"`
	}
	if err := json.Unmarshal(resp.Result, &res); err != nil {
		return Outcome{}, fmt.Errorf("tools/call result is not a CallToolResult: %w", err)
	}
	var texts []string
	for _, c := range res.Content {
		if c.Type == "text" {
			texts = append(texts, c.Text)
		} else {
			texts = append(texts, "["+c.Type+"]")
		}
	}
	content := strings.Join(texts, "\n")
	out.addPublic("mcp.content", content)

	sc := res.StructuredContent
	keys := make([]string, 0, len(sc))
	for k := range sc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var st strings.Builder
	for _, k := range keys {
		if volatileKey(k) {
			continue
		}
		v, _ := json.Marshal(sc[k])
		fmt.Fprintf(&st, "%s=%s\n", k, v)
	}
	out.addPublic("mcp.structured", st.String())
	meta, _ := json.Marshal(res.Meta) // maps marshal with sorted keys, so equal metas compare equal
	out.addPublic("mcp.meta", string(meta))

	code := -1
	if f, ok := sc["exit_code"].(float64); ok {
		code = int(f)
	} else if !res.IsError {
		code = 0
	}
	kind, _ := sc["exit_kind"].(string)
	out.Code = code
	out.Exit = fmt.Sprintf("isError=%v exit_code=%d exit_kind=%s", res.IsError, code, kind)
	if stdout, ok := sc["stdout"].(string); ok {
		out.Stdout = stdout
	} else if !res.IsError {
		out.Stdout = content
	}
	if e, ok := sc["error"].(string); ok && e != "" {
		out.Error = e
	} else if res.IsError {
		out.Error = content
	}
	return out, nil
}

func rpcErrorCode(raw json.RawMessage) string {
	var e struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "?"
	}
	return fmt.Sprint(e.Code)
}

// Close ends the session the way a host does: close stdin and wait for the server to exit.
func (s *mcpSession) Close() (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.stderr.String(), nil
	}
	s.closed = true
	_ = s.stdin.Close()
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		err = errors.New("server did not exit within 5s of stdin closing")
	}
	// What the server wrote after its last answer (a late notification) reached the client too:
	// keep it for the session's last run. Draining also lets the reader goroutine end.
	for line := range s.lines {
		s.late = append(s.late, strings.TrimSpace(string(line)))
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		err = fmt.Errorf("server exited with %v after stdin closed", exitErr)
	}
	return s.stderr.String(), err
}

// Package gosdk_test drives aegis-mcp with the official Go SDK client
// (github.com/modelcontextprotocol/go-sdk), in process over pipes, in both
// protocol eras: unpinned (the SDK probes server/discover and speaks
// 2026-07-28) and pinned to 2025-11-25 (initialize). It lives in its own
// module so the SDK's dependencies stay out of Aegis' go.mod.
//
// The backend is the scripted fake from mcpserver/mcptest. To run the same
// checks against the real runner, build the backend with the runner
// adapter instead of mcptest.New() (see newBackend) and give it a policy
// whose local_only_read covers the file read in TestRedactedValue.
package gosdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

const guard = 20 * time.Second

func newBackend() *mcptest.Backend { return mcptest.New() }

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// eras are the protocol revisions the SDK client is pinned to: its
// default (2026-07-28, reached through server/discover) and the newest
// legacy revision (initialize).
var eras = []struct {
	name string
	opts *mcp.ClientSessionOptions
}{
	{"2026-07-28", nil},
	{"2025-11-25", &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}},
}

// wireLog keeps every line the server wrote.
type wireLog struct {
	mu    sync.Mutex
	lines []string
	buf   []byte
}

func (l *wireLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

// count returns how many server lines contain every one of subs.
func (l *wireLog) count(subs ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// connect starts aegis-mcp on a pair of pipes and connects an SDK client.
func connect(t *testing.T, b mcpserver.Backend, mode mcpserver.ConfirmMode, copts *mcp.ClientOptions, sopts *mcp.ClientSessionOptions) (*mcp.ClientSession, *wireLog) {
	t.Helper()
	c2sR, c2sW := io.Pipe()
	s2cR, s2cW := io.Pipe()
	wire := &wireLog{}
	served := make(chan error, 1)
	go func() {
		served <- mcpserver.Serve(context.Background(), c2sR, teeCloser{s2cW, wire}, mcpserver.Options{
			Backend: b, Confirm: mode, Logger: slog.New(slog.NewTextHandler(logWriter{t}, nil)),
		})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "aegis-interop-go", Version: "0"}, copts)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: s2cR, Writer: c2sW}, sopts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(guard):
			t.Errorf("server did not stop when the client closed")
		}
	})
	return cs, wire
}

// teeCloser copies what the server writes to a log.
type teeCloser struct {
	w   *io.PipeWriter
	log *wireLog
}

func (t teeCloser) Write(b []byte) (int, error) {
	_, _ = t.log.Write(b)
	return t.w.Write(b)
}
func (t teeCloser) Close() error { return t.w.Close() }

func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	var parts []string
	for _, c := range res.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok {
			t.Fatalf("unexpected content type %T", c)
		}
		parts = append(parts, tc.Text)
	}
	return strings.Join(parts, "\n")
}

// schemaOf compiles a schema as advertised in tools/list.
func schemaOf(t *testing.T, name string, v any) *jsonschema.Resolved {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: schema does not parse: %v", name, err)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("%s: schema does not resolve: %v", name, err)
	}
	return r
}

func TestGoSDKClientCallsEveryTool(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) { callEveryTool(t, era.name, era.opts) })
	}
}

func callEveryTool(t *testing.T, era string, sopts *mcp.ClientSessionOptions) {
	b := newBackend()
	cs, wire := connect(t, b, mcpserver.ConfirmAutoDeny, nil, sopts)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()

	// Unpinned, the SDK probes server/discover and takes 2026-07-28; pinned
	// to 2025-11-25 it skips the probe and initializes.
	if got := cs.InitializeResult().ProtocolVersion; got != era {
		t.Fatalf("negotiated %q, want %s", got, era)
	}
	if info := cs.InitializeResult().ServerInfo; info == nil || info.Name != "aegis-mcp" {
		t.Fatalf("serverInfo: %+v", info)
	}
	modern := era >= "2026-07-28"
	if n := wire.count(`"resultType":"complete"`); modern != (n > 0) {
		t.Errorf("%s: %d results carry resultType", era, n)
	}
	if n := wire.count(`"protocolVersion":"2025-11-25"`, `"serverInfo"`); modern == (n > 0) {
		t.Errorf("%s: %d initialize results", era, n)
	}

	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	outputSchemas := map[string]*jsonschema.Resolved{}
	for _, tool := range lt.Tools {
		schemaOf(t, tool.Name+" input", tool.InputSchema)
		if tool.OutputSchema != nil {
			outputSchemas[tool.Name] = schemaOf(t, tool.Name+" output", tool.OutputSchema)
		}
		if tool.Annotations == nil {
			t.Errorf("%s: no annotations", tool.Name)
		}
	}
	if modern && wire.count(`"ttlMs"`, `"cacheScope"`, `"tools"`) == 0 {
		t.Errorf("a 2026-07-28 tools/list carries cache hints")
	}

	// Resources: the script API reference and the effective policy.
	lr, err := cs.ListResources(ctx, nil)
	if err != nil || len(lr.Resources) != 2 {
		t.Fatalf("resources/list: %v %+v", err, lr)
	}
	for _, r := range lr.Resources {
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: r.URI})
		if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text == "" || rr.Contents[0].MIMEType != r.MIMEType {
			t.Errorf("resources/read %s: %v %+v", r.URI, err, rr)
		}
	}
	_, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "aegis://nope"})
	var rerr *jsonrpc.Error
	if !errors.As(err, &rerr) {
		t.Errorf("unknown resource: want a JSON-RPC error, got %v", err)
	}

	calls := []struct {
		tool    string
		args    map[string]any
		isError bool
		text    string
	}{
		{"aegis_run", map[string]any{"script": `print("hello from aegis")`, "task_id": "interop"}, false, "hello from aegis\n"},
		{"aegis_run", map[string]any{"script": `deny("fs.read", "/etc/shadow")`}, true, "policy_denied"},
		{"aegis_run", map[string]any{"script": `confirm("fs.delete", "delete x")`}, true, "confirm_denied"},
		{"aegis_fs_read", map[string]any{"path": "README.md"}, false, "hello\nworld\n"},
		{"aegis_fs_write", map[string]any{"path": "notes.txt", "content": "n"}, false, "wrote 1 bytes to notes.txt"},
		{"aegis_exec", map[string]any{"argv": []string{"go", "version"}}, false, "go version"},
		{"aegis_http_get", map[string]any{"url": "https://example.test/"}, false, "GET https://example.test/"},
		{"aegis_policy", map[string]any{}, false, `"capabilities"`},
		{"aegis_explain", map[string]any{"capability": "fs.write", "target": []string{"a.txt"}}, false, `"allowed":true`},
		{"aegis_tool_routing", map[string]any{}, false, `"WebSearch"`},
		{"aegis_run", map[string]any{"script": 42}, true, "must be a string"}, // SEP-1303: a tool error, not a protocol error
	}
	called := map[string]bool{}
	for _, c := range calls {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Errorf("%s: %v", c.tool, err)
			continue
		}
		called[c.tool] = true
		if res.IsError != c.isError || !strings.Contains(textOf(t, res), c.text) {
			t.Errorf("%s %v: isError=%v text=%q; want isError=%v containing %q", c.tool, c.args, res.IsError, textOf(t, res), c.isError, c.text)
		}
		schema := outputSchemas[c.tool]
		switch {
		case res.StructuredContent != nil && schema == nil:
			t.Errorf("%s: structuredContent without an outputSchema", c.tool)
		case res.StructuredContent != nil:
			if err := schema.Validate(res.StructuredContent); err != nil {
				t.Errorf("%s: structuredContent does not match the outputSchema: %v", c.tool, err)
			}
		case schema != nil && !res.IsError:
			t.Errorf("%s: declares an outputSchema but returned no structuredContent", c.tool)
		}
	}
	for _, tool := range lt.Tools {
		if !called[tool.Name] {
			t.Errorf("tool %s was not exercised", tool.Name)
		}
	}

	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "aegis_nope", Arguments: map[string]any{}})
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != -32602 {
		t.Errorf("unknown tool: want -32602, got %v", err)
	}
}

func TestRedactedValue(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) { redactedValue(t, era.opts) })
	}
}

func redactedValue(t *testing.T, sopts *mcp.ClientSessionOptions) {
	b := newBackend()
	cs, _ := connect(t, b, mcpserver.ConfirmAutoDeny, nil, sopts)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"aegis_fs_read", map[string]any{"path": "secrets/key"}},
		{"aegis_run", map[string]any{"script": "print(secret())"}},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s: %v", c.tool, err)
		}
		raw, _ := json.Marshal(res)
		if !strings.Contains(textOf(t, res), "[REDACTED]") || strings.Contains(string(raw), "sk-live") {
			t.Errorf("%s: want [REDACTED] and no secret, got %s", c.tool, raw)
		}
	}
}

func TestCancellationThroughContext(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) { cancellation(t, era.opts) })
	}
}

func cancellation(t *testing.T, sopts *mcp.ClientSessionOptions) {
	b := newBackend()
	b.Started = make(chan string, 1)
	b.Finished = make(chan string, 1)
	cs, _ := connect(t, b, mcpserver.ConfirmAutoDeny, nil, sopts)
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "aegis_run", Arguments: map[string]any{"script": "sleep()"}})
		done <- err
	}()
	<-b.Started
	cancel() // the SDK sends notifications/cancelled
	if err := <-done; err == nil {
		t.Fatal("a cancelled call returned no error")
	}
	select {
	case <-b.Finished: // the run's context was cancelled by the server
	case <-time.After(guard):
		t.Fatal("the run was not stopped")
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), guard)
	defer cancel2()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatalf("tools/list after cancel: %v", err)
	}
}

// In a legacy session the server asks with its own elicitation/create
// request; in a 2026-07-28 one it answers input_required and the SDK
// retries the call with the user's answer (multi round-trip requests).
// Either way the SDK's ElicitationHandler is what the user sees.
func TestElicitationApproval(t *testing.T) {
	for _, era := range eras {
		for _, c := range []struct {
			answer  *mcp.ElicitResult
			allowed bool
		}{
			{&mcp.ElicitResult{Action: "accept", Content: map[string]any{"approved": true}}, true},
			{&mcp.ElicitResult{Action: "accept", Content: map[string]any{"approved": false}}, false},
			{&mcp.ElicitResult{Action: "decline"}, false},
		} {
			t.Run(era.name+"/"+c.answer.Action, func(t *testing.T) {
				var asked string
				copts := &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked = req.Params.Message
					return c.answer, nil
				}}
				b := newBackend()
				cs, wire := connect(t, b, mcpserver.ConfirmElicit, copts, era.opts)
				ctx, cancel := context.WithTimeout(context.Background(), guard)
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "aegis_run", Arguments: map[string]any{"script": "print(\"before\")\nconfirm(\"fs.delete\", \"delete build/out\")"}})
				cancel()
				if err != nil {
					t.Fatalf("%v", err)
				}
				if !strings.Contains(asked, "fs.delete") || !strings.Contains(asked, "delete build/out") {
					t.Errorf("the user was asked %q", asked)
				}
				if res.IsError == c.allowed || strings.Count(textOf(t, res), "before") != 1 {
					t.Errorf("isError=%v, text %q", res.IsError, textOf(t, res))
				}
				if n := len(b.Runs()); n != 1 {
					t.Errorf("the script ran %d times; a retry must resume it, not replay it", n)
				}
				modern := era.name >= "2026-07-28"
				if asks, interim := wire.count(`"method":"elicitation/create"`, `"id":"aegis-elicit`), wire.count(`"resultType":"input_required"`); modern != (interim == 1) || modern == (asks == 1) {
					t.Errorf("%s: %d server requests, %d input_required results", era.name, asks, interim)
				}
			})
		}
	}
}

func TestOlderRevisionWithoutProbe(t *testing.T) {
	cs, _ := connect(t, newBackend(), mcpserver.ConfirmAutoDeny, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	if got := cs.InitializeResult().ProtocolVersion; got != "2025-06-18" {
		t.Fatalf("negotiated %q, want 2025-06-18", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "aegis_run", Arguments: map[string]any{"script": `print("x")`}})
	if err != nil || res.IsError || res.StructuredContent == nil {
		t.Fatalf("call under 2025-06-18: %v %+v", err, res)
	}
}

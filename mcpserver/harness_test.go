package mcpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

// hangGuard only stops a broken test from hanging the suite; no test
// asserts on how fast anything happens.
const hangGuard = 10 * time.Second

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wire drives one in-memory session with raw bytes, the way a client on
// the other end of stdin/stdout would.
type wire struct {
	t       *testing.T
	in      *io.PipeWriter
	lines   chan []byte
	done    chan error
	backend *mcptest.Backend
	logs    *syncBuffer
	all     [][]byte // every line the server wrote, for purity checks
	mu      sync.Mutex
}

func startWire(t *testing.T, opts mcpserver.Options) *wire {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	w := &wire{t: t, in: inW, lines: make(chan []byte, 64), done: make(chan error, 1), logs: &syncBuffer{}}
	if opts.Backend == nil {
		w.backend = mcptest.New()
		opts.Backend = w.backend
	} else if b, ok := opts.Backend.(*mcptest.Backend); ok {
		w.backend = b
	}
	opts.Logger = slog.New(slog.NewTextHandler(w.logs, nil))
	go func() { w.done <- mcpserver.Serve(context.Background(), inR, outW, opts) }()
	go func() {
		r := bufio.NewReaderSize(outR, 1<<20)
		for {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				w.mu.Lock()
				w.all = append(w.all, b)
				w.mu.Unlock()
				w.lines <- b
			}
			if err != nil {
				close(w.lines)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = inW.Close()
		select {
		case <-w.done:
		case <-time.After(hangGuard):
			t.Errorf("server did not stop after stdin closed")
		}
		w.assertPure()
	})
	return w
}

// send writes one message (a string is sent verbatim, anything else is
// JSON-encoded) followed by a newline.
func (w *wire) send(msg any) {
	w.t.Helper()
	var b []byte
	switch m := msg.(type) {
	case string:
		b = []byte(m)
	case []byte:
		b = m
	default:
		var err error
		if b, err = json.Marshal(m); err != nil {
			w.t.Fatalf("encode: %v", err)
		}
	}
	w.raw(append(b, '\n'))
}

func (w *wire) raw(b []byte) {
	w.t.Helper()
	if _, err := w.in.Write(b); err != nil {
		w.t.Fatalf("write to server: %v", err)
	}
}

// msg is one decoded server message; Raw keeps the exact line.
type msg struct {
	Raw    []byte
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64           `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func (w *wire) next() msg {
	w.t.Helper()
	select {
	case b, ok := <-w.lines:
		if !ok {
			w.t.Fatalf("server closed stdout; expected a message")
		}
		var m msg
		if err := json.Unmarshal(b, &m); err != nil {
			w.t.Fatalf("server wrote a non-JSON line %q: %v", b, err)
		}
		m.Raw = bytes.TrimSuffix(b, []byte("\n"))
		return m
	case <-time.After(hangGuard):
		w.t.Fatalf("no message from the server")
	}
	return msg{}
}

// expectEnd asserts that the server closes stdout with nothing more to say.
func (w *wire) expectEnd() {
	w.t.Helper()
	select {
	case b, ok := <-w.lines:
		if ok {
			w.t.Fatalf("unexpected message before end of output: %s", b)
		}
	case <-time.After(hangGuard):
		w.t.Fatalf("server did not close stdout")
	}
}

func (w *wire) close() error {
	w.t.Helper()
	_ = w.in.Close()
	select {
	case err := <-w.done:
		w.done <- err // let Cleanup see it too
		return err
	case <-time.After(hangGuard):
		w.t.Fatalf("server did not stop after stdin closed")
	}
	return nil
}

// assertPure checks the stdio rule: every line the server wrote is one
// JSON-RPC 2.0 object.
func (w *wire) assertPure() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.all {
		line := bytes.TrimSuffix(b, []byte("\n"))
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			w.t.Errorf("a message contains a raw line break: %.200q", line)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil || string(m["jsonrpc"]) != `"2.0"` {
			w.t.Errorf("stdout carried a non-JSON-RPC line: %.200q", line)
		}
	}
}

func (w *wire) allOutput() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Join(w.all, nil))
}

// request sends a request and returns its response, failing on anything
// else arriving first.
func (w *wire) request(id any, method string, params any) msg {
	w.t.Helper()
	m := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		m["params"] = params
	}
	w.send(m)
	r := w.next()
	want, _ := json.Marshal(id)
	if !bytes.Equal(r.ID, want) {
		w.t.Fatalf("%s: got a message for id %s, want %s: %s", method, r.ID, want, r.Raw)
	}
	return r
}

func (w *wire) initialize(version string, capabilities map[string]any) msg {
	w.t.Helper()
	if capabilities == nil {
		capabilities = map[string]any{}
	}
	r := w.request("init", "initialize", map[string]any{
		"protocolVersion": version,
		"capabilities":    capabilities,
		"clientInfo":      map[string]any{"name": "wire-test", "version": "0"},
	})
	if r.Error != nil {
		w.t.Fatalf("initialize failed: %s", r.Raw)
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return r
}

// toolResult is a decoded CallToolResult.
type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent map[string]any `json:"structuredContent"`
	IsError           bool           `json:"isError"`
	Meta              map[string]any `json:"_meta"`
}

func (r toolResult) text() string {
	var parts []string
	for _, c := range r.Content {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

func (w *wire) callTool(id any, name string, args map[string]any) toolResult {
	w.t.Helper()
	r := w.request(id, "tools/call", map[string]any{"name": name, "arguments": args})
	return w.decodeResult(r)
}

func (w *wire) decodeResult(r msg) toolResult {
	w.t.Helper()
	if r.Error != nil {
		w.t.Fatalf("tools/call returned a protocol error: %s", r.Raw)
	}
	var tr toolResult
	if err := json.Unmarshal(r.Result, &tr); err != nil {
		w.t.Fatalf("decode CallToolResult: %v: %s", err, r.Raw)
	}
	return tr
}

func (w *wire) ping(id any) {
	w.t.Helper()
	r := w.request(id, "ping", nil)
	if r.Error != nil || string(r.Result) != "{}" {
		w.t.Fatalf("ping: %s", r.Raw)
	}
}

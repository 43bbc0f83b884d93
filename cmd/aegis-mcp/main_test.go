package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

// The test binary doubles as the server: with this variable set, TestMain
// runs the real main path (flags, descriptor juggling, signals, Serve) over
// the process's real stdin/stdout, with the scripted fake backend.
const fakeServerEnv = "AEGIS_MCP_TEST_FAKE_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServerEnv) == "1" {
		os.Exit(run(os.Args[1:], openFake))
	}
	os.Exit(m.Run())
}

// strayBackend misbehaves on purpose: "stray()" writes to the process's
// stdout directly and through a child process, as a careless builtin might.
type strayBackend struct{ *mcptest.Backend }

func (b strayBackend) Run(ctx context.Context, req mcpserver.RunRequest) mcpserver.RunResult {
	if strings.TrimSpace(req.Script) == "stray()" {
		fmt.Println("stray line from fmt.Println")
		c := exec.Command("sh", "-c", "echo stray line from a child process")
		c.Stdout = os.Stdout
		_ = c.Run()
		return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: "done\n"}
	}
	return b.Backend.Run(ctx, req)
}

func openFake(policyPath, auditLog string, _ *slog.Logger) (mcpserver.Backend, error) {
	if policyPath == "missing.toml" {
		return nil, fmt.Errorf("load policy %s: no such file", policyPath)
	}
	return strayBackend{mcptest.New()}, nil
}

const hangGuard = 20 * time.Second

// proc is a running server process with line-level access to its stdout.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	mu     sync.Mutex
	all    [][]byte
	stderr bytes.Buffer
	exited chan error
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, "", name, args...)
}

// startProcIn starts the server with dir as its working directory.
func startProcIn(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, dir, nil, name, args...)
}

// startProcEnv starts the server with env added to its environment.
func startProcEnv(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, lines: make(chan []byte, 64), exited: make(chan error, 1)}
	p.cmd = exec.Command(name, args...)
	p.cmd.Dir = dir
	// Hosts pass servers a minimal environment (the TypeScript SDK only
	// HOME, LOGNAME, PATH, SHELL, TERM and USER); the server must need no more.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), fakeServerEnv + "=1"}, env...)
	p.cmd.Stderr = &lockedWriter{w: &p.stderr, mu: &p.mu}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				p.mu.Lock()
				p.all = append(p.all, b)
				p.mu.Unlock()
				p.lines <- b
			}
			if err != nil {
				close(p.lines)
				p.exited <- p.cmd.Wait()
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
	})
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s+"\n"); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

type reply struct {
	Raw    []byte
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code int64 `json:"code"`
	} `json:"error"`
}

func (p *proc) next() reply {
	p.t.Helper()
	select {
	case b, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("server closed stdout early; stderr:\n%s", p.stderrText())
		}
		var r reply
		if err := json.Unmarshal(b, &r); err != nil {
			p.t.Fatalf("non-JSON stdout line %q", b)
		}
		r.Raw = b
		return r
	case <-time.After(hangGuard):
		p.t.Fatalf("no reply; stderr:\n%s", p.stderrText())
	}
	return reply{}
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait closes nothing; it returns the exit code once the process ends.
func (p *proc) wait() (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	for range p.lines { // drain anything left
	}
	select {
	case err := <-p.exited:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			p.t.Fatalf("wait: %v", err)
		}
		return code, time.Since(start)
	case <-time.After(hangGuard):
		p.t.Fatalf("server did not exit")
	}
	return -1, 0
}

// impureLines returns every stdout line that is not a JSON-RPC 2.0 object.
func impureLines(all [][]byte) []string {
	var bad []string
	for _, b := range all {
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || string(m["jsonrpc"]) != `"2.0"` {
			bad = append(bad, string(b))
		}
	}
	return bad
}

func (p *proc) impure() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return impureLines(p.all)
}

func TestBinaryOverStdio(t *testing.T) {
	p := startProc(t, os.Args[0], "--policy", "fake.toml", "--confirm", "auto-deny")
	p.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if r := p.next(); r.Error == nil || r.Error.Code != -32600 {
		t.Fatalf("tools/list before initialize: %s", r.Raw)
	}
	p.send(`not json at all`)
	if r := p.next(); r.Error == nil || r.Error.Code != -32700 {
		t.Fatalf("malformed line: %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	if r := p.next(); r.Error != nil || !bytes.Contains(r.Result, []byte(`"2025-11-25"`)) {
		t.Fatalf("initialize: %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(`{"jsonrpc":"2.0","id":-1,"method":"tools/call","params":{"name":"aegis_fs_read","arguments":{"path":"secrets/key"}}}`)
	r := p.next()
	if string(r.ID) != "-1" || !bytes.Contains(r.Result, []byte("[REDACTED]")) {
		t.Fatalf("redacted read: %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"stray()"}}}`)
	if r := p.next(); !bytes.Contains(r.Result, []byte("done")) {
		t.Fatalf("stray(): %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"confirm(\"fs.delete\", \"x\")"}}}`)
	if r := p.next(); !bytes.Contains(r.Result, []byte("confirm_denied")) || !bytes.Contains(r.Result, []byte("auto-deny")) {
		t.Fatalf("--confirm auto-deny: %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
	p.send(`{"jsonrpc":"2.0","id":6,"method":"ping"}`)
	if r := p.next(); string(r.ID) != "6" {
		t.Fatalf("ping during a running call: %s", r.Raw)
	}
	p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}`)
	p.send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
	if r := p.next(); string(r.ID) != "7" {
		t.Fatalf("after cancel: %s", r.Raw)
	}
	if err := p.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	code, took := p.wait()
	t.Logf("exit %d %v after stdin EOF", code, took)
	if code != 0 {
		t.Errorf("exit status %d on stdin EOF, want 0; stderr:\n%s", code, p.stderrText())
	}
	if bad := p.impure(); len(bad) > 0 {
		t.Errorf("stdout carried non-protocol lines: %q", bad)
	}
	for _, s := range []string{"stray line from fmt.Println", "stray line from a child process"} {
		if !strings.Contains(p.stderrText(), s) {
			t.Errorf("%q should have been diverted to stderr; stderr:\n%s", s, p.stderrText())
		}
	}
	if strings.Contains(p.stderrText(), "sk-live") {
		t.Errorf("the local-only value reached the log")
	}
}

func TestNegativeControlStrayStdoutIsCaught(t *testing.T) {
	// A wrapper that prints one line before exec'ing the server must fail
	// the purity check: proof that the check can fail.
	p := startProc(t, "sh", "-c", `echo "starting up..."; exec "$0" --policy fake.toml`, os.Args[0])
	p.send(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	select {
	case <-p.lines: // the stray line arrives first
	case <-time.After(hangGuard):
		t.Fatal("no output")
	}
	_ = p.stdin.Close()
	p.wait()
	if bad := p.impure(); len(bad) != 1 || bad[0] != "starting up...\n" {
		t.Fatalf("the purity check missed the stray line: %q", bad)
	}
}

func TestSIGTERMExitsCleanly(t *testing.T) {
	p := startProc(t, os.Args[0], "--policy", "fake.toml")
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}`)
	p.next()
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
	p.send(`{"jsonrpc":"2.0","id":3,"method":"ping"}`)
	p.next()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.wait(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", code, p.stderrText())
	}
}

func TestStartupErrorsStayOffStdout(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--confirm", "maybe"}, 2, `unknown confirm mode \"maybe\"`}, // quoted as slog's text handler does
		{[]string{"--log-format", "xml"}, 2, `--log-format \"xml\": use text or json`},
		{[]string{"--log-level", "loud"}, 2, `--log-level \"loud\": use debug, info, warn or error`},
		{[]string{"--no-such-flag"}, 2, "unknown flag"},
		{[]string{"--policy", "missing.toml"}, 5, "missing.toml"},
		{[]string{"--help"}, 0, "aegis-mcp is a Model Context Protocol server"},
	} {
		p := startProc(t, os.Args[0], c.args...)
		_ = p.stdin.Close()
		code, _ := p.wait()
		if code != c.code || !strings.Contains(p.stderrText(), c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, code, c.code, p.stderrText(), c.want)
		}
		if len(p.all) != 0 {
			t.Errorf("%v: wrote to stdout: %q", c.args, p.all)
		}
	}
}

// Diagnostics are slog records on stderr: text by default, one JSON object
// a line with --log-format json or $AEGIS_MCP_LOG_FORMAT, the flag winning;
// --log-level (or $AEGIS_MCP_LOG_LEVEL) drops the less severe.
func TestLogFormatAndLevel(t *testing.T) {
	stderrOf := func(env []string, args ...string) string {
		t.Helper()
		p := startProcEnv(t, "", env, os.Args[0], append([]string{"--policy", "aegis.toml"}, args...)...)
		p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
		p.next()
		p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"print(1)"}}}`)
		p.next()
		_ = p.stdin.Close()
		if code, _ := p.wait(); code != 0 {
			t.Fatalf("%v %v: exit %d: %s", env, args, code, p.stderrText())
		}
		return p.stderrText()
	}
	jsonRecords := func(out string) []map[string]any {
		t.Helper()
		var recs []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("not a JSON line: %q (%v)", line, err)
			}
			recs = append(recs, r)
		}
		return recs
	}

	text := stderrOf(nil)
	if !strings.Contains(text, "level=INFO msg=tools/call tool=aegis_run") || strings.HasPrefix(strings.TrimSpace(text), "{") {
		t.Errorf("default text: %q", text)
	}
	for _, env := range [][]string{nil, {envLogFormat + "=json"}} {
		args := []string{"--log-format", "json"}
		if env != nil {
			args = nil
		}
		recs := jsonRecords(stderrOf(env, args...))
		if len(recs) != 1 || recs[0]["level"] != "INFO" || recs[0]["msg"] != "tools/call" || recs[0]["tool"] != "aegis_run" || recs[0]["exit"] == nil {
			t.Errorf("json (env %v, args %v): %v", env, args, recs)
		}
	}
	// The flag wins over the environment.
	if out := stderrOf([]string{envLogFormat + "=json"}, "--log-format", "text"); !strings.Contains(out, "level=INFO msg=tools/call") {
		t.Errorf("--log-format text under $%s=json: %q", envLogFormat, out)
	}
	// Above info, a successful call says nothing; the level also comes from the environment.
	if out := stderrOf(nil, "--log-level", "warn"); out != "" {
		t.Errorf("--log-level warn: %q", out)
	}
	if out := stderrOf([]string{envLogLevel + "=error"}); out != "" {
		t.Errorf("$%s=error: %q", envLogLevel, out)
	}
	// A bad value in the environment is a usage error too, named as such.
	p := startProcEnv(t, "", []string{envLogLevel + "=loud"}, os.Args[0], "--policy", "aegis.toml")
	_ = p.stdin.Close()
	if code, _ := p.wait(); code != 2 || !strings.Contains(p.stderrText(), `$AEGIS_MCP_LOG_LEVEL \"loud\"`) {
		t.Errorf("bad $%s: exit %d, %q", envLogLevel, code, p.stderrText())
	}
}

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Approvals through the real aegis-mcp (policy engine, runner, builtins):
// what the question shows, what "for this session" covers, what the policy
// pre-approves, and that an open question does not hold the run.

var (
	approvalBinOnce sync.Once
	approvalBin     string
	approvalBinErr  error
)

func realBinary(t *testing.T) string {
	t.Helper()
	approvalBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aegis-mcp-approval-")
		if err != nil {
			approvalBinErr = err
			return
		}
		approvalBin = filepath.Join(dir, "aegis-mcp")
		if out, err := exec.Command("go", "build", "-o", approvalBin, ".").CombinedOutput(); err != nil {
			approvalBinErr = err
			approvalBin = string(out)
		}
	})
	if approvalBinErr != nil {
		t.Fatalf("go build: %v\n%s", approvalBinErr, approvalBin)
	}
	return approvalBin
}

func approvalProject(t *testing.T, policy string, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files["aegis.toml"] = policy
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type wireMsg struct {
	Raw    []byte
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
}

func (p *proc) msg() wireMsg {
	p.t.Helper()
	r := p.next()
	var m wireMsg
	json.Unmarshal(r.Raw, &m)
	m.Raw = r.Raw
	return m
}

func callRun(p *proc, id, script string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": script}}})
	p.send(string(b))
}

const elicitInit = `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"t","version":"1"}}}`

func TestRealApprovalQuestionAndSession(t *testing.T) {
	name := "out/a\x1b[2J\u202eb.txt"
	dir := approvalProject(t, `inherits = "secure-defaults"
requires_approval = ["fs.write"]
[filesystem]
write_allow = ["out/**"]
`, map[string]string{"out/.keep": ""})
	p := startProcIn(t, dir, realBinary(t), "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	p.send(elicitInit)
	p.msg()
	script := "fs.write(" + jsonString(name) + ", \"1\")\nprint(\"ok\")"
	callRun(p, "a", script)
	q := p.msg()
	if q.Method != "elicitation/create" {
		t.Fatalf("want a question, got %s", q.Raw)
	}
	var params struct {
		Message string         `json:"message"`
		Schema  map[string]any `json:"requestedSchema"`
	}
	json.Unmarshal(q.Params, &params)
	if strings.ContainsAny(params.Message, "\x1b\u202e") {
		t.Fatalf("raw control characters in the question: %q", params.Message)
	}
	for _, want := range []string{`"out/a\x1b[2J\u202eb.txt"`, `resolves to  "` + dir + `/out/a\x1b[2J\u202eb.txt"`, "for the rest of this session"} {
		if !strings.Contains(params.Message, want) {
			t.Errorf("question lacks %q:\n%s", want, params.Message)
		}
	}
	p.send(`{"jsonrpc":"2.0","id":` + string(q.ID) + `,"result":{"action":"accept","content":{"approved":true,"session":true}}}`)
	if r := p.msg(); !strings.Contains(string(r.Result), `"exit_kind":"ok"`) {
		t.Fatalf("approved call: %s", r.Raw)
	}
	// The same call again: no question.
	callRun(p, "b", script)
	if r := p.msg(); r.Method != "" || !strings.Contains(string(r.Result), `"exit_kind":"ok"`) {
		t.Fatalf("the session approval was not remembered: %s", r.Raw)
	}
	_ = p.stdin.Close()
	p.wait()
}

// An open question does not hold the run past max_seconds, and the server
// takes the question down.
func TestRealApprovalQuestionEndsAtMaxSeconds(t *testing.T) {
	dir := approvalProject(t, `inherits = "secure-defaults"
requires_approval = ["fs.write"]
[filesystem]
write_allow = ["out/**"]
[runtime]
max_seconds = 1
`, map[string]string{"out/.keep": ""})
	p := startProcIn(t, dir, realBinary(t), "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	p.send(elicitInit)
	p.msg()
	start := time.Now()
	callRun(p, "a", `fs.write("out/x", "1")`)
	if q := p.msg(); q.Method != "elicitation/create" {
		t.Fatalf("want a question, got %s", q.Raw)
	}
	var sawCancel, sawResult bool
	for !sawResult {
		m := p.msg()
		switch {
		case m.Method == "notifications/cancelled":
			sawCancel = true
		case string(m.ID) == `"a"`:
			sawResult = true
			if !strings.Contains(string(m.Result), `"exit_kind":"limit"`) || !strings.Contains(string(m.Result), "max_seconds") {
				t.Errorf("result: %s", m.Raw)
			}
		}
	}
	if !sawCancel {
		t.Error("the question was not withdrawn")
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the run took %s at a 1 s limit", d)
	}
	_ = p.stdin.Close()
	p.wait()
}

// A client that cannot ask: the policy's approve_prefixes still lets the
// listed command run, and the refusal of another names the entry to add.
func TestRealApprovePrefixWithoutElicitation(t *testing.T) {
	dir := approvalProject(t, `inherits = "secure-defaults"
[subprocess]
allow_commands = ["echo"]
approve_prefixes = ["echo hello"]
`, map[string]string{})
	p := startProcIn(t, dir, realBinary(t), "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	p.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	p.msg()
	callRun(p, "a", `print(subprocess.exec(["echo", "hello", "there"]).strip())`)
	if r := p.msg(); !strings.Contains(string(r.Result), "hello there") {
		t.Fatalf("pre-approved command: %s", r.Raw)
	}
	callRun(p, "b", `subprocess.exec(["echo", "bye"])`)
	r := p.msg()
	for _, want := range []string{"confirm_denied", "cannot ask the user", `add \"echo bye\" to [subprocess].approve_prefixes in ` + dir + "/aegis.toml", "--confirm auto-allow"} {
		if !strings.Contains(string(r.Result), want) {
			t.Errorf("refusal lacks %q: %s", want, r.Raw)
		}
	}
	if strings.Contains(string(r.Result), "declined") {
		t.Errorf("nobody was asked, yet: %s", r.Raw)
	}
	_ = p.stdin.Close()
	p.wait()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

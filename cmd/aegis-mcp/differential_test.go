package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The promise of aegis-mcp, checked end to end: a local-only secret never
// reaches anything the client sees, except through a charged ending. One
// scripted session runs against the real binary twice, with two secrets of
// different lengths in a local-only file and a local-only variable, and
// everything the server writes (every response, question, notification,
// in order, and its log) must be the same, byte for byte, once the project
// path and the per-run random tokens and timings are masked. The session
// covers what the probe suite does not: concurrent calls (one waiting at a
// question while another finishes), a run cancelled at its question after a
// local-only read, approvals with a target chosen by the secret, a charged
// ending after all of that, and the 2026-07-28 flow (server/discover,
// input_required retries), besides plain reads and the read-only tools.

const diffPolicy = `inherits = "none"
requires_approval = ["fs.write"]
[filesystem]
read_allow = ["pub.txt"]
local_only_read = ["zone/**"]
write_allow = ["out/**", "zone/**"]
[environment]
local_only_vars = ["AEGIS_DIFF_SECRET"]
[runtime]
max_seconds = 120
`

// diffSecrets share their first three bytes, so that only the fourth decides
// the branches the session takes on purpose (none of them may show).
var diffSecrets = []string{"sk-Alpha-0001", "sk-Bravo-longer-secret-0002"}

const readBoth = "s = fs.read(\"zone/s.txt\")\ne = env.read(\"AEGIS_DIFF_SECRET\")\n"

var (
	maskState    = regexp.MustCompile(`"requestState":"[0-9a-f]+"`)
	maskTime     = regexp.MustCompile(`time=\S+`)
	maskDuration = regexp.MustCompile(`duration=\S+`)
)

// diffSession runs the scripted session with one secret and returns what
// the server wrote on stdout (one message a line) and stderr, masked.
func diffSession(t *testing.T, secret string) (string, string) {
	t.Helper()
	dir := approvalProject(t, diffPolicy, map[string]string{"zone/s.txt": secret, "pub.txt": "public\n", "out/.keep": ""})
	// The audit log is the default one, under the project, so that its path
	// (which aegis_policy names) is masked with the project's.
	p := startProcEnv(t, dir, []string{"AEGIS_DIFF_SECRET=" + secret}, realBinary(t), "--policy", filepath.Join(dir, "aegis.toml"))
	expect := func(what string, ok func(wireMsg) bool) wireMsg {
		t.Helper()
		m := p.msg()
		if !ok(m) {
			t.Fatalf("%s: unexpected message %s", what, m.Raw)
		}
		return m
	}
	response := func(id string) func(wireMsg) bool {
		return func(m wireMsg) bool { return m.Method == "" && string(m.ID) == `"`+id+`"` }
	}
	question := func(m wireMsg) bool { return m.Method == "elicitation/create" }
	accept := func(q wireMsg) {
		p.send(`{"jsonrpc":"2.0","id":` + string(q.ID) + `,"result":{"action":"accept","content":{"approved":true}}}`)
	}
	tool := func(id, name string, args any) {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
			"params": map[string]any{"name": name, "arguments": args}})
		p.send(string(b))
	}

	p.send(elicitInit)
	expect("initialize", response("init"))

	// Reads, prints and an ending that depends on the secret's length only
	// where it would show (print redacts, len stays labelled).
	callRun(p, "plain", readBoth+"print(s, e, len(s), s == e)\nprint(fs.read(\"pub.txt\"))\nfs.write(\"zone/copy\", s + e)\n")
	accept(expect("plain question", question))
	expect("plain", response("plain"))
	tool("wrapper", "aegis_fs_read", map[string]any{"path": "zone/s.txt"})
	expect("wrapper", response("wrapper"))

	// A question after the reads (public pc) and one whose target the secret
	// chose: the same question, the second with its target hidden.
	callRun(p, "ask", readBoth+"fs.write(\"out/a\", \"1\")\nprint(\"asked\")\n")
	accept(expect("ask question", question))
	expect("ask", response("ask"))
	callRun(p, "hidden", readBoth+"fs.write(\"zone/\" + s[3], \"1\")\nprint(\"hidden\")\n")
	accept(expect("hidden question", question))
	expect("hidden", response("hidden"))

	// Concurrency: one run waits at its question while another finishes.
	callRun(p, "slow", readBoth+"fs.write(\"out/c\", \"1\")\nprint(\"slow\", s)\n")
	q := expect("slow question", question)
	callRun(p, "fast", "print(\"fast\")\n")
	expect("fast", response("fast"))
	accept(q)
	expect("slow", response("slow"))

	// A run cancelled at its question, after the reads: no answer, the
	// question is taken down, and the cancellation is charged.
	callRun(p, "cancelled", readBoth+"fs.write(\"out/d\", \"1\")\nprint(\"never\")\n")
	expect("cancelled question", question)
	p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"cancelled","reason":"test"}}`)
	expect("question taken down", func(m wireMsg) bool { return m.Method == "notifications/cancelled" })
	// The run ends after the question is taken down; its log line must come
	// before the next run's, so that the two logs compare line by line.
	for deadline := time.Now().Add(hangGuard); !strings.Contains(p.stderrText(), "exit=limit"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled run never ended; stderr:\n%s", p.stderrText())
		}
	}

	// A charged ending: its message names the bits left after the charges
	// so far (the cancellation's included).
	callRun(p, "charged", readBoth+"if len(s) > len(e) - 1:\n    fail(s)\n")
	expect("charged", response("charged"))

	// The read-only tools.
	tool("explain", "aegis_explain", map[string]any{"capability": "fs.read", "target": []string{"zone/s.txt"}})
	expect("explain", response("explain"))
	tool("policy", "aegis_policy", map[string]any{"detail": "full"})
	expect("policy", response("policy"))

	// The 2026-07-28 flow: the question comes back as input_required and
	// the retry carries the answer.
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}`
	p.send(`{"jsonrpc":"2.0","id":"discover","method":"server/discover","params":{` + meta + `}}`)
	expect("discover", response("discover"))
	script, _ := json.Marshal(readBoth + "fs.write(\"out/m\", \"1\")\nprint(\"modern\", e)\n")
	p.send(`{"jsonrpc":"2.0","id":"m1","method":"tools/call","params":{"name":"aegis_run","arguments":{"script":` + string(script) + `},` + meta + `}}`)
	first := expect("m1", response("m1"))
	var ir struct {
		ResultType    string                     `json:"resultType"`
		RequestState  string                     `json:"requestState"`
		InputRequests map[string]json.RawMessage `json:"inputRequests"`
	}
	if json.Unmarshal(first.Result, &ir) != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 {
		t.Fatalf("want one input_required question, got %s", first.Raw)
	}
	var key string
	for k := range ir.InputRequests {
		key = k
	}
	p.send(`{"jsonrpc":"2.0","id":"m2","method":"tools/call","params":{"name":"aegis_run","arguments":{"script":` + string(script) +
		`},"requestState":"` + ir.RequestState + `","inputResponses":{"` + key + `":{"action":"accept","content":{"approved":true}}},` + meta + `}}`)
	expect("m2", response("m2"))

	_ = p.stdin.Close()
	if code, _ := p.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderrText())
	}
	p.mu.Lock()
	var out strings.Builder
	for _, l := range p.all {
		out.Write(l)
	}
	p.mu.Unlock()
	stdout := maskState.ReplaceAllString(strings.ReplaceAll(out.String(), dir, "<PROJ>"), `"requestState":"<STATE>"`)
	stderr := strings.ReplaceAll(p.stderrText(), dir, "<PROJ>")
	stderr = maskDuration.ReplaceAllString(maskTime.ReplaceAllString(stderr, "time=<T>"), "duration=<D>")
	for _, leak := range []string{secret, secret[3:]} {
		if strings.Contains(stdout, leak) || strings.Contains(stderr, leak) {
			t.Fatalf("the secret %q reached the client or the log:\n%s\n%s", leak, stdout, stderr)
		}
	}
	return stdout, stderr
}

func TestRealSessionShowsNothingOfTheSecret(t *testing.T) {
	var outs, errs [2]string
	for i, secret := range diffSecrets {
		outs[i], errs[i] = diffSession(t, secret)
	}
	// The session did what it claims: every question, the charge, the
	// cancellation and the modern round trip are in the transcript.
	for _, want := range []string{`"method":"elicitation/create"`, `[REDACTED] (the target depends on local-only data`,
		`"method":"notifications/cancelled"`, `"resultType":"input_required"`, `"stdout":"fast\n"`, `"stdout":"slow [REDACTED]\n"`,
		`revealed at most`, `"stdout":"modern [REDACTED]\n"`} {
		if !strings.Contains(outs[0], want) {
			t.Errorf("the session never produced %q:\n%s", want, outs[0])
		}
	}
	if n := strings.Count(outs[0], `"jsonrpc":"2.0","method":"elicitation/create"`); n != 5 {
		t.Errorf("%d questions, want 5:\n%s", n, outs[0])
	}
	for what, pair := range map[string][2]string{"stdout": outs, "stderr": errs} {
		a, b := strings.Split(pair[0], "\n"), strings.Split(pair[1], "\n")
		for i := 0; i < max(len(a), len(b)); i++ {
			var la, lb string
			if i < len(a) {
				la = a[i]
			}
			if i < len(b) {
				lb = b[i]
			}
			if la != lb {
				t.Errorf("%s differs between two secrets at line %d:\n  %s\n  %s", what, i+1, clipLine(la), clipLine(lb))
				break
			}
		}
	}
}

func clipLine(s string) string {
	if len(s) > 600 {
		return fmt.Sprintf("%s... (%d bytes)", s[:600], len(s))
	}
	return s
}

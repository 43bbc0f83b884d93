package exfilprobes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fakes for the observables this file tests: a terminal question (`aegis run` asking for approval
// on its controlling terminal), an MCP elicitation, and a crash of either binary.

// crashReport is what the Go runtime prints when a goroutine's stack overflows.
const crashReport = "runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n\n" +
	"runtime stack:\nruntime.throw({0x93aeef?, 0x420b65?})\n\ngoroutine 1 gp=0x159c40e2a1e0 m=6 mp=0x159c40eda008 [running]:\nmain.main()\n"

// fakePromptMain asks one question on /dev/tty, as `aegis run` does for a requires_approval call,
// and prints the answer it read.
func fakePromptMain() int {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake: no terminal:", err)
		return 4
	}
	defer tty.Close()
	fmt.Fprint(tty, "fake: the script asks for a call that needs your approval (requires_approval):\n  fs.read /x\nAllow it? [o]nce, [N]o: ")
	line, _ := bufio.NewReader(tty).ReadString('\n')
	fmt.Printf("answer %s\n", strings.TrimSpace(line))
	return 0
}

// fakeCrash plays a runtime that dies of a stack overflow.
func fakeCrash() int {
	fmt.Print(Marker + "\n")
	fmt.Fprint(os.Stderr, crashReport)
	return 2
}

// fakeElicitMain plays aegis-mcp with a tool that needs approval: on tools/call it sends an
// elicitation/create when the client declared the capability and reports the answer; with crash,
// it dies on tools/call instead.
func fakeElicitMain(crash bool) int {
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	canElicit := false
	for in.Scan() {
		var m rpcMessage
		if err := json.Unmarshal(in.Bytes(), &m); err != nil || m.ID == nil {
			continue
		}
		reply := map[string]any{"jsonrpc": "2.0", "id": m.ID}
		switch m.Method {
		case "initialize":
			var p struct {
				Capabilities map[string]json.RawMessage `json:"capabilities"`
			}
			_ = json.Unmarshal(m.Params, &p)
			_, canElicit = p.Capabilities["elicitation"]
			reply["result"] = map[string]any{"protocolVersion": protocolVersion, "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "fake-elicit", "version": "0"}}
		case "tools/call":
			if crash {
				fmt.Fprint(os.Stderr, crashReport)
				return 2
			}
			answer := "not asked"
			if canElicit {
				_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": "e1", "method": "elicitation/create",
					"params": map[string]any{"message": "Approve fs.read /x?", "requestedSchema": map[string]any{"type": "object"}}})
				for in.Scan() {
					var r rpcMessage
					if json.Unmarshal(in.Bytes(), &r) == nil && r.ID != nil && string(*r.ID) == `"e1"` {
						answer = string(compactJSON(r.Result)) + string(r.Error)
						break
					}
				}
			}
			reply["result"] = map[string]any{
				"content":           []map[string]any{{"type": "text", "text": Marker + "\n" + answer}},
				"structuredContent": map[string]any{"exit_code": 0, "exit_kind": "ok", "stdout": Marker + "\n" + answer + "\n"},
			}
		default:
			reply["error"] = map[string]any{"code": -32601, "message": "method not found"}
		}
		if err := out.Encode(reply); err != nil {
			return 1
		}
	}
	return 0
}

// runOnce runs one script through ex in a fresh work directory.
func runOnce(t *testing.T, ex Executor, sc *Script) Outcome {
	t.Helper()
	work := t.TempDir()
	fx := Fixture{Work: work}
	scriptPath := filepath.Join(work, "probe.star")
	if err := os.WriteFile(scriptPath, []byte(sc.Text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := SessionSpec{Script: sc, Fixture: fx, PolicyPath: filepath.Join(work, "aegis.toml"), Env: []string{"PATH=" + os.Getenv("PATH")}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := ex.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(ctx, Invocation{Script: sc, Fixture: fx, PolicyPath: spec.PolicyPath, ScriptPath: scriptPath, Text: sc.Text})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := sess.Close()
	out.addPrivate("logs", logs)
	return out
}

// `aegis run` gets a controlling terminal: its question is a public observable ("tty") and is
// answered yes, so the run goes on.
func TestTerminalQuestionIsObservedAndAnswered(t *testing.T) {
	sc := pick(t, "214-approval-read-under-pc")[0]
	out := runOnce(t, &CLIExecutor{Aegis: wrapper(t, "cli-prompt")}, sc)
	if tty := out.public("tty"); !strings.Contains(tty, "Allow it? [o]nce, [N]o: y\n") {
		t.Errorf("tty observable %q: the question and the harness's answer should both be in it", tty)
	}
	if out.Code != 0 || strings.TrimSpace(out.Stdout) != "answer y" {
		t.Errorf("the child should have read the answer y: %s, stdout %q, stderr %q", out.Exit, out.Stdout, out.Error)
	}
	// A run that asks nothing has an empty terminal, so the channel compares equal.
	plain := runOnce(t, &CLIExecutor{Aegis: wrapper(t, "cli")}, pick(t, "01-raw-print")[0])
	found := false
	for _, c := range plain.Public {
		if c.Name == "tty" {
			found = true
			if c.Value != "" {
				t.Errorf("tty of a run that asks nothing: %q", c.Value)
			}
		}
	}
	if !found {
		t.Error("the tty channel is missing from a CLI run")
	}
}

// A question asked for some secrets only is a LEAK on the tty channel.
func TestTerminalQuestionDifferenceIsALeak(t *testing.T) {
	sc := pick(t, "214-approval-read-under-pc")[0]
	ask := func(s Secret) SecretObs {
		o := Outcome{Exit: "exit 0", Stdout: Marker + "\ndone\n"}
		o.addPublic("stdout", o.Stdout)
		tty := ""
		if s.Value[0] == 's' {
			tty = "aegis: the script asks for fs.read [REDACTED] (requires_approval). Allow? [y/N] y\n"
		}
		o.addPublic("tty", tty)
		return SecretObs{Secret: s, Runs: []Outcome{o}}
	}
	var obs []SecretObs
	for _, s := range Secrets() {
		obs = append(obs, ask(s))
	}
	rep := ask(Secrets()[0])
	rep.Secret.ID += "'"
	r := Judge(sc, obs, &rep, newScanner(Secrets()), DefaultAbortBudget)
	if r.Verdict != VerdictLeak || !strings.Contains(r.Detail, "tty differs") {
		t.Errorf("verdict %s (%s), want a LEAK on tty", r.Verdict, r.Detail)
	}
}

// The MCP client declares elicitation, approves every question and records it with its parameters.
func TestMCPElicitationIsRecordedAndApproved(t *testing.T) {
	sc := pick(t, "214-approval-read-under-pc")[0]
	out := runOnce(t, &MCPExecutor{Binary: wrapper(t, "mcp-elicit")}, sc)
	notes := out.public("mcp.notifications")
	if !strings.Contains(notes, `request elicitation/create {"message":"Approve fs.read /x?"`) {
		t.Errorf("the elicitation and its parameters should be recorded: %q", notes)
	}
	if !strings.Contains(out.Stdout, `{"action":"accept","content":{"approved":true}}`) {
		t.Errorf("the server should have received an approval: stdout %q", out.Stdout)
	}
}

// A crash is never an acceptable ending: it fails the control whatever the verdict, through
// both executors, and an MCP server that dies mid-call is an observable rather than a harness error.
func TestCrashFailsControl(t *testing.T) {
	for _, ex := range []Executor{&CLIExecutor{Aegis: wrapper(t, "cli-crash")}, &MCPExecutor{Binary: wrapper(t, "mcp-crash")}} {
		t.Run(ex.Name(), func(t *testing.T) {
			rep, err := Run(context.Background(), Config{Executor: ex, Scripts: pick(t, "210-crash-json-decode-array"), Root: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Results[0]
			if r.ControlOK || !strings.Contains(r.Control, "the runtime crashed (fatal error: stack overflow)") {
				t.Errorf("control ok=%v %q", r.ControlOK, r.Control)
			}
			if r.Verdict == VerdictError {
				t.Errorf("a crash should be judged, not reported as a harness error: %s", r.Detail)
			}
			if !rep.Failed() {
				t.Error("the suite passed with a crashing runtime")
			}
		})
	}
}

func TestAbnormalEnd(t *testing.T) {
	cases := []struct {
		out  Outcome
		want string
	}{
		{Outcome{Exit: "exit 2", Error: crashReport}, "the runtime crashed (fatal error: stack overflow)"},
		{Outcome{Exit: "exit 2", Private: []Channel{{"logs", "panic: runtime error: index out of range\n\ngoroutine 7 [running]:\n"}}}, "the runtime crashed (panic: runtime error"},
		{Outcome{Exit: "exit 2", Error: "fatal error: out of memory\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x9a2b40 [running]:\n"}, "the runtime crashed (fatal error: out of memory)"},
		{Outcome{Exit: "timeout"}, "did not end within the harness's time limit"},
		// A script may print these words; without the goroutine dump they are not a crash.
		{Outcome{Exit: "exit 1", Error: "Error in fail: fail: \nfatal error: stack overflow"}, ""},
		{Outcome{Exit: "exit 2", Error: "aegis: policy denied: ..."}, ""},
	}
	for _, c := range cases {
		got := abnormalEnd(c.out)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("abnormalEnd(%s, %q) = %q, want %q", c.out.Exit, clip(c.out.Error, 40), got, c.want)
		}
	}
}

func TestRequiresApprovalHeaderAndPolicy(t *testing.T) {
	text := "# name: x-approval\n# category: approval\n# requires-approval: fs.read, net.http_get\n# tries: t\n# reveals: r\n# sink: approval\n# source: env\nprint(\"" + Marker + "\")\n"
	sc, err := ParseScript("probes/x-approval.star", text)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sc.RequiresApproval, "|"); got != "fs.read|net.http_get" {
		t.Errorf("requires-approval parsed as %q", got)
	}
	pol := PolicyFor(sc, "name = \"p\"\n[filesystem]\nread_allow = [\"{{WORK}}\"]\n", Fixture{Work: "/w"})
	if !strings.Contains(pol, "requires_approval = [\"fs.read\", \"net.http_get\"]\nname = \"p\"\n[filesystem]\nread_allow = [\"/w\"]") {
		t.Errorf("policy:\n%s", pol)
	}
	plain := pick(t, "01-raw-print")[0]
	if got := PolicyFor(plain, "a = \"{{WORK}}\"\n", Fixture{Work: "/w"}); got != "a = \"/w\"\n" {
		t.Errorf("a script without requires-approval must get the template as is: %q", got)
	}
	bad := strings.Replace(text, "fs.read, net.http_get", "fs.read; rm -rf", 1)
	if _, err := ParseScript("probes/x-approval.star", bad); err == nil || !strings.Contains(err.Error(), "requires-approval") {
		t.Errorf("a malformed capability must be rejected: %v", err)
	}
}

// What an MCP server sends after its last answer is a public observable of the session's last run.
func TestMCPLateNotificationIsObserved(t *testing.T) {
	rep, err := Run(context.Background(), Config{Executor: &MCPExecutor{Binary: wrapper(t, "mcp-late")}, Scripts: pick(t, "01-raw-print"), Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Verdict != VerdictLeak || !strings.Contains(r.Detail, "after differs") {
		t.Errorf("a late notification that depends on the secret: %s (%s)", r.Verdict, r.Detail)
	}
}

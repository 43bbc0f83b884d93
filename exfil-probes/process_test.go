package exfilprobes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The executors are tested against this test binary re-executed as a fake `aegis` or `aegis-mcp`
// (selected by EXFILPROBES_FAKE, which a wrapper script sets because the harness gives its children
// a clean environment). The fakes behave like idealRun, so what is under test here is the process
// and protocol plumbing: spawning, exit statuses, stdout/stderr capture, NDJSON framing.

func TestMain(m *testing.M) {
	switch os.Getenv("EXFILPROBES_FAKE") {
	case "cli":
		os.Exit(fakeCLIMain(os.Args[1:]))
	case "mcp", "mcp-stray":
		os.Exit(fakeMCPMain(os.Getenv("EXFILPROBES_FAKE") == "mcp-stray", false))
	case "mcp-late":
		os.Exit(fakeMCPMain(false, true))
	case "cli-prompt":
		os.Exit(fakePromptMain())
	case "cli-crash":
		os.Exit(fakeCrash())
	case "mcp-elicit":
		os.Exit(fakeElicitMain(false))
	case "mcp-crash":
		os.Exit(fakeElicitMain(true))
	}
	os.Exit(m.Run())
}

func osEnvMap() map[string]string { return envMap(os.Environ()) }

// fakeCLIMain plays `aegis run --policy P SCRIPT`. The session state (aborts, runs) lives in the
// audit directory, as the real runtime's count lives in its audit log.
func fakeCLIMain(args []string) int {
	jsonOut := len(args) == 5 && args[1] == "--json"
	if jsonOut {
		args = append(args[:1], args[2:]...)
	}
	if len(args) != 4 || args[0] != "run" || args[1] != "--policy" {
		fmt.Fprintf(os.Stderr, "fake aegis: unexpected args %q\n", args)
		return 5
	}
	work := filepath.Dir(args[2])
	text, err := os.ReadFile(args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	stateFile := filepath.Join(work, auditDir, "fake-state")
	var st fakeState
	run := 0
	if b, err := os.ReadFile(stateFile); err == nil {
		fmt.Sscanf(string(b), "%d %d", &st.aborts, &run)
	}
	r := idealRun(string(text), work, osEnvMap(), &st, run)
	_ = os.MkdirAll(filepath.Dir(stateFile), 0o755)
	_ = os.WriteFile(stateFile, []byte(fmt.Sprintf("%d %d", st.aborts, run+1)), 0o644)
	if jsonOut {
		b, _ := json.Marshal(map[string]any{"exit_kind": "k" + strconv.Itoa(r.code), "exit_code": r.code, "stdout": r.stdout, "error": r.stderr})
		fmt.Println(string(b))
		return r.code
	}
	fmt.Print(r.stdout)
	fmt.Fprint(os.Stderr, r.stderr)
	return r.code
}

// fakeMCPMain plays aegis-mcp's aegis_run over newline-delimited JSON-RPC. With late, it sends a
// notification after each tools/call answer that tells the first character of the secret.
func fakeMCPMain(stray, late bool) int {
	if stray {
		fmt.Println("a stray log line on stdout")
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	work, _ := os.Getwd()
	var st fakeState
	run := 0
	for in.Scan() {
		var m rpcMessage
		if err := json.Unmarshal(in.Bytes(), &m); err != nil || m.ID == nil {
			continue
		}
		reply := map[string]any{"jsonrpc": "2.0", "id": m.ID}
		switch m.Method {
		case "initialize":
			reply["result"] = map[string]any{"protocolVersion": protocolVersion, "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "fake-aegis-mcp", "version": "0"}}
		case "tools/call":
			var p struct {
				Arguments struct {
					Script string `json:"script"`
				} `json:"arguments"`
			}
			_ = json.Unmarshal(m.Params, &p)
			r := idealRun(p.Arguments.Script, work, osEnvMap(), &st, run)
			run++
			text := r.stdout
			if r.code != 0 {
				text = r.stderr
			}
			reply["result"] = map[string]any{
				"content":           []map[string]any{{"type": "text", "text": text}},
				"isError":           r.code != 0,
				"structuredContent": map[string]any{"exit_code": r.code, "exit_kind": "k" + strconv.Itoa(r.code), "stdout": r.stdout, "error": r.stderr, "duration_ms": run * 7},
			}
		default:
			reply["error"] = map[string]any{"code": -32601, "message": "method not found"}
		}
		if err := out.Encode(reply); err != nil {
			return 1
		}
		if late && m.Method == "tools/call" {
			bit := strings.HasPrefix(os.Getenv("PROBE_SECRET"), "s")
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "method": "notifications/message", "params": map[string]any{"data": fmt.Sprint("bit=", bit)}})
		}
	}
	return 0
}

func wrapper(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fake-"+mode)
	script := fmt.Sprintf("#!/bin/sh\nEXFILPROBES_FAKE=%s exec %q \"$@\"\n", mode, self)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var processScripts = []string{"01-raw-print", "89-fail-under-branch", "93-budget-bit-per-run", "u04-public-sinks",
	"u02-zone-store", "c01-canary-stdout", "c02-canary-file", "c03-canary-request", "c04-canary-error", "c05-canary-exit"}

func TestExecutorsOverProcesses(t *testing.T) {
	for _, ex := range []Executor{
		&CLIExecutor{Aegis: wrapper(t, "cli")},
		&CLIExecutor{Aegis: wrapper(t, "cli"), JSON: true},
		&MCPExecutor{Binary: wrapper(t, "mcp")},
	} {
		t.Run(ex.Name(), func(t *testing.T) {
			rep, err := Run(context.Background(), Config{Executor: ex, Scripts: pick(t, processScripts...), Root: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Results {
				attack := r.Kind == KindProbe || r.Kind == KindBudget
				if !r.ControlOK || (attack && r.Verdict == VerdictLeak) || r.Verdict == VerdictError || r.Verdict == VerdictNoisy {
					t.Errorf("%s: %s (%s), control ok=%v: %s", r.Name, r.Verdict, r.Detail, r.ControlOK, r.Control)
				}
			}
			if rep.Failed() {
				t.Errorf("suite failed over %s: %s", ex.Name(), rep.SummaryLine())
			}
			if got := result(t, rep, "89-fail-under-branch"); got.Verdict != VerdictBlocked {
				// idealRun treats 89 as a plain probe (same output for every secret).
				t.Errorf("89: %s", got.Verdict)
			}
		})
	}
}

// A server that writes anything but JSON-RPC on stdout must not be judged at all.
func TestMCPStrayStdoutIsAnError(t *testing.T) {
	rep, err := Run(context.Background(), Config{Executor: &MCPExecutor{Binary: wrapper(t, "mcp-stray")}, Scripts: pick(t, "01-raw-print"), Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := result(t, rep, "01-raw-print")
	if r.Verdict != VerdictError || r.ControlOK || !rep.Failed() || !strings.Contains(r.Detail, "not JSON") {
		t.Errorf("stray stdout: %s (%s) control ok=%v", r.Verdict, r.Detail, r.ControlOK)
	}
}

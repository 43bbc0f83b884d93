package runner

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
)

// fail("x" * 30_000_000) must not put 30 MB on stderr, in --json or in an
// MCP result: the error text is capped by the output budget.
func TestErrorTextIsBoundedByTheOutputBudget(t *testing.T) {
	for _, tc := range []struct {
		name, runtime string
		limit         int
	}{
		{"default budget", "", 1 << 20},
		{"budget of 64 KiB", "max_output_bytes = 65536\n", 65536},
		// A tiny budget still leaves room for Aegis's own message.
		{"tiny budget", "max_output_bytes = 5\n", minErrorBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, "[runtime]\nmax_memory_mb = 256\n"+tc.runtime, map[string]string{})
			res := p.run(`fail("x" * 30000000)`)
			want(t, res, ScriptError)
			if len(res.Error) > tc.limit {
				t.Fatalf("error text is %d bytes, over the %d-byte budget", len(res.Error), tc.limit)
			}
			if !strings.Contains(res.Error, "truncated") {
				t.Fatalf("the error does not say it was truncated: %q", tail(res.Error))
			}
			if !strings.Contains(res.Error, "max_output_bytes = ") {
				t.Fatalf("the note does not name the budget: %q", tail(res.Error))
			}
			js, _ := json.Marshal(res)
			if len(js) > tc.limit+1024 {
				t.Fatalf("--json result is %d bytes", len(js))
			}
		})
	}
	// Text within the budget is untouched.
	p := newProject(t, "", map[string]string{})
	res := p.run(`fail("short")`)
	if strings.Contains(res.Error, "truncated") || !strings.Contains(res.Error, "short") {
		t.Fatalf("a short error was changed: %q", res.Error)
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return "…" + s[len(s)-200:]
	}
	return s
}

// A 1 MB path argument used to make every later run fail (the audit log's
// last line was too long to resume the chain from).
func TestHugeTargetThenANormalRun(t *testing.T) {
	p := baseProject(t)
	res := p.run(`fs.read("a/" * 524288)`)
	want(t, res, PolicyDenied)
	if len(res.Error) > 1<<20 {
		t.Fatalf("error text %d bytes", len(res.Error))
	}
	res = p.run(`fs.write("out/" + "b" * 1048576, "x")`)
	want(t, res, PolicyDenied)
	res = p.run(`subprocess.exec(["echo", "c" * 1000000])`)
	if res.ExitKind == string(IOError) {
		t.Fatalf("a long argv broke the audit log: %s", res.Error)
	}
	res = p.run(`print(fs.read("src/a.txt").strip())`)
	want(t, res, OK)
	if res.Stdout != "alpha\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	rep, err := audit.Verify(filepath.Join(p.root, ".aegis", "audit.jsonl"), 0)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

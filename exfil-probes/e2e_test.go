package exfilprobes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSuiteAgainstRealBinaries is how CI proves the claim: it builds aegis and aegis-mcp from this
// tree and runs the whole suite through both paths (and through `aegis run --json`, and aegis-mcp's MCP 2026-07-28 flow). Any LEAK, failed control or unjudged script
// fails it. It never skips: while the binaries cannot be built or do not run scripts, it fails,
// because the claim is then unproven.
func TestSuiteAgainstRealBinaries(t *testing.T) {
	bin := buildBinaries(t)
	scripts := catalogOrFatal(t)
	for _, ex := range []Executor{
		&CLIExecutor{Aegis: filepath.Join(bin, "aegis")},
		&CLIExecutor{Aegis: filepath.Join(bin, "aegis"), JSON: true},
		&MCPExecutor{Binary: filepath.Join(bin, "aegis-mcp")},
		&MCPExecutor{Binary: filepath.Join(bin, "aegis-mcp"), Modern: true},
	} {
		t.Run(ex.Name(), func(t *testing.T) {
			root := t.TempDir()
			rep, err := Run(context.Background(), Config{Executor: ex, Scripts: scripts, Root: root, RunTimeout: 60 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			_ = rep.WriteTable(&table, root)
			t.Logf("suite via %s:\n%s", ex.Name(), table.String())
			for _, r := range rep.Results {
				attack := r.Kind == KindProbe || r.Kind == KindBudget
				switch {
				case attack && r.Verdict == VerdictLeak:
					t.Errorf("LEAK %s (%s): %s", r.Name, r.Category, r.Detail)
				case r.Verdict == VerdictNoisy || r.Verdict == VerdictError:
					t.Errorf("%s %s: %s", r.Verdict, r.Name, r.Detail)
				}
				if !r.ControlOK {
					t.Errorf("control failed %s: %s", r.Name, r.Control)
				}
			}
			if rep.Failed() {
				t.Errorf("via %s: %s", ex.Name(), rep.SummaryLine())
			}
		})
	}
	// The command itself: registered, and its exit status agrees with its JSON verdict.
	t.Run("command", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(bin, "aegis"), "probe", "--via", "both", "--json", "--run", "^(01-raw-print|89-fail-under-branch)$")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("run aegis probe: %v", err)
		}
		var doc JSONReport
		if jerr := json.Unmarshal(stdout.Bytes(), &doc); jerr != nil {
			t.Fatalf("aegis probe --json printed no JSON report (%v); stderr: %s", jerr, clip(stderr.String(), 500))
		}
		if len(doc.Passes) != 2 {
			t.Errorf("--via both gave %d passes", len(doc.Passes))
		}
		if (err != nil) != doc.Failed {
			t.Errorf("exit %v but JSON failed=%v", err, doc.Failed)
		}
		if doc.Failed {
			t.Errorf("aegis probe failed on a two-probe run; stderr: %s", clip(stderr.String(), 500))
		}
	})
}

// buildBinaries builds cmd/aegis and cmd/aegis-mcp of this module into a temporary directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above exfil-probes: %v", err)
	}
	bin := t.TempDir()
	for _, name := range []string{"aegis", "aegis-mcp"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), "./cmd/"+name)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build %s (the suite cannot prove anything without it): %v\n%s", name, err, strings.TrimSpace(string(out)))
		}
	}
	return bin
}

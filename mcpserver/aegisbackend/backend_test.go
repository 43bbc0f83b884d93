package aegisbackend

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/policy"
)

const secret = "sk-mcp-session-Hq3ZpL0-4321"

// project writes a policy with a local-only file and max_secret_dependent_aborts
// = limit; load returns a new Backend (a new MCP session) over it.
func project(t *testing.T, limit string) (root string, load func() *Backend) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"aegis.toml":  "[filesystem]\nread_allow = [\"README.md\"]\nlocal_only_read = [\"secrets/**\"]\n[runtime]\nmax_secret_dependent_aborts = " + limit + "\n",
		"README.md":   "public\n",
		"secrets/key": secret,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, func() *Backend {
		p, err := policy.Load(filepath.Join(root, "aegis.toml"))
		if err != nil {
			t.Fatal(err)
		}
		return New(p, "")
	}
}

func run(b *Backend, script string) mcpserver.RunResult {
	return b.Run(context.Background(), mcpserver.RunRequest{
		Script: script, Filename: "aegis_run.star",
		Confirm: func(context.Context, string, string) (bool, error) { return false, nil },
	})
}

const abortScript = "k = fs.read('secrets/key')\nif k[0] == 's':\n    fail('bit')\nprint('clear')"

func TestSessionCountsSecretDependentAborts(t *testing.T) {
	root, load := project(t, "2")
	logPath := filepath.Join(root, ".aegis", "audit.jsonl")
	s := load()
	for i := 0; i < 2; i++ {
		if r := run(s, abortScript); r.ExitKind != mcpserver.ExitScriptError {
			t.Fatalf("run %d: %s %s", i, r.ExitKind, r.Error)
		}
	}
	r := run(s, abortScript)
	if r.ExitKind != mcpserver.ExitPolicyDenied || r.ExitCode != 2 ||
		!strings.Contains(r.Error, "max_secret_dependent_aborts = 2") || !strings.Contains(r.Error, "this session") {
		t.Fatalf("third run: %s %q", r.ExitKind, r.Error)
	}
	if strings.Contains(r.Error+r.Stdout, secret) {
		t.Fatal("the refusal shows the secret")
	}
	// Public work in the session goes on.
	if r := run(s, "print(fs.read('README.md').strip())"); r.ExitKind != mcpserver.ExitOK || r.Stdout != "public\n" {
		t.Errorf("public read: %s %q %s", r.ExitKind, r.Stdout, r.Error)
	}
	// The session remembers without its log.
	if err := os.Rename(logPath, logPath+".old"); err != nil {
		t.Fatal(err)
	}
	if r := run(s, abortScript); r.ExitKind != mcpserver.ExitPolicyDenied {
		t.Errorf("the session forgot its count when the log moved: %s", r.ExitKind)
	}
	// A new session over a new log starts over; over the old log it does not.
	if r := run(load(), abortScript); r.ExitKind != mcpserver.ExitScriptError {
		t.Errorf("a new session with a new log: %s %s", r.ExitKind, r.Error)
	}
	if err := os.Rename(logPath+".old", logPath); err != nil {
		t.Fatal(err)
	}
	if r := run(load(), abortScript); r.ExitKind != mcpserver.ExitPolicyDenied {
		t.Errorf("a new session ignored the log's count: %s", r.ExitKind)
	}
}

// tools/call requests run concurrently: however many are fired at once, no
// more than the limit end in a secret-dependent abort.
func TestSessionBudgetHoldsUnderConcurrentCalls(t *testing.T) {
	_, load := project(t, "3")
	s := load()
	const n = 24
	var wg sync.WaitGroup
	kinds := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			kinds[i] = run(s, abortScript).ExitKind
		}(i)
	}
	wg.Wait()
	aborted := 0
	for _, k := range kinds {
		switch k {
		case mcpserver.ExitScriptError:
			aborted++
		case mcpserver.ExitPolicyDenied:
		default:
			t.Errorf("unexpected ending %s", k)
		}
	}
	if aborted > 3 || aborted == 0 {
		t.Errorf("%d of %d concurrent runs aborted; the budget is 3", aborted, n)
	}
	if got := s.ledger.Spent()["file:secrets/**"].Aborts; got != int64(aborted) {
		t.Errorf("ledger counts %d, %d aborted", got, aborted)
	}
}

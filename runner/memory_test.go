package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisdev/aegis/audit"
)

// barrierSink blocks the append of one chosen event until n runs have
// reached it, then holds them all there a little longer: every run then has
// its memory allocated at the same time.
type barrierSink struct {
	match   func(audit.Event) bool
	n       int
	hold    time.Duration
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrierSink) Append(ev audit.Event) error {
	if !b.match(ev) {
		return nil
	}
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		time.Sleep(b.hold)
	case <-time.After(20 * time.Second):
		// Not every run got here (one failed first): do not hang the test.
	}
	return nil
}

// Concurrent runs in one process (aegis-mcp) each use most of their own
// memory budget at the same time; none may stop another. A process-wide
// heap watchdog compared the sum with one run's budget and aborted them,
// and after a local-only read each such abort was charged to the budget of
// secret-dependent aborts.
func TestConcurrentRunsDoNotTripEachOthersMemory(t *testing.T) {
	const runs = 4
	p := newProject(t, `
[filesystem]
read_allow = ["src/**"]
[environment]
allow_vars = ["RUN_PUBLIC"]
local_only_vars = ["RUN_SECRET"]
[runtime]
max_memory_mb = 64
max_seconds = 60
`, map[string]string{"src/big": strings.Repeat("b", 8<<20)})
	sink := &barrierSink{n: runs, hold: 300 * time.Millisecond, all: make(chan struct{}),
		match: func(ev audit.Event) bool { return ev.Capability == "env.read" && ev.Target == "RUN_PUBLIC" }}
	src := `s = "x" * 40000000
d = fs.read("src/big")
k = env.read("RUN_SECRET")
env.read("RUN_PUBLIC")
print(len(s) + len(d))`
	results := make([]Result, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = Run(context.Background(), Options{Policy: p.pol, Environ: p.env, Audit: sink},
				Request{Script: []byte(src), Filename: "task.star"})
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.ExitKind != string(OK) || res.Stdout != "48388608\n" {
			t.Errorf("run %d: %s: %s (stdout %q)", i, res.ExitKind, res.Error, res.Stdout)
		}
	}
	spent, err := audit.LeakLedger(filepath.Join(p.root, ".aegis", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spent) != 0 {
		t.Fatalf("concurrent runs were charged secret-dependent aborts: %v", spent)
	}
}

// The budget still holds when the memory is built by host builtins, which
// the interpreter's own count does not see: each charges what it returns.
func TestHostBuiltinsChargeTheMemoryBudget(t *testing.T) {
	p := newProject(t, `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**"]
[runtime]
max_memory_mb = 64
max_seconds = 60
`, map[string]string{"src/big": strings.Repeat("b", 8<<20), "secrets/big": strings.Repeat("s", 8<<20)})
	for _, path := range []string{"src/big", "secrets/big"} {
		res := p.run(`l = []
for i in range(100):
    l.append(fs.read("` + path + `"))
print(len(l))`)
		if path == "src/big" {
			want(t, res, Limit, "max_memory_mb")
		} else {
			// How big a local-only file is, is local-only: the limit's
			// message is withheld (and the abort charged).
			want(t, res, Limit, "withheld")
		}
	}
	// The list of a big directory too.
	dir := filepath.Join(p.root, "src", "many")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := os.WriteFile(filepath.Join(dir, strings.Repeat("n", 200)+string(rune('a'+i%26))+strings.Repeat("z", i%50)+"."+itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := p.run(`l = []
for i in range(1000):
    l.append(fs.list("src/many"))`)
	want(t, res, Limit, "max_memory_mb")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

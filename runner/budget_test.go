package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aegisdev/aegis/audit"
)

// aborts returns the principals of the run's secret_abort events (nil: the
// run was not charged).
func aborts(t *testing.T, res Result) []string {
	t.Helper()
	var out []string
	n := 0
	for _, ev := range res.Events {
		if ev.Kind == audit.KindSecretAbort {
			n++
			out = append(out, ev.Labels...)
			if strings.Contains(ev.Reason, secretValue) || ev.Target != "" {
				t.Errorf("abort record holds more than principals: %+v", ev)
			}
		}
	}
	if n > 1 {
		t.Errorf("%d abort records for one run", n)
	}
	return out
}

// The classification: which endings are secret-dependent, and whom they are
// charged to. secretValue starts with "sk-", is 26 bytes long and is not a
// number.
func TestSecretDependentAbortClassification(t *testing.T) {
	const both = "env:RUN_SECRET file:secrets/**"
	cases := []struct {
		name, runtime, src string
		kind               Kind
		charged            string // space-separated principals, "" for none
	}{
		{"fail under a secret branch", "", "s = env.read('RUN_SECRET')\nif s[0] == 's':\n    fail('bit')", ScriptError, "env:RUN_SECRET"},
		{"print under a secret branch", "", "s = env.read('RUN_SECRET')\nif len(s) > 3:\n    print('x')", FlowDenied, "env:RUN_SECRET"},
		{"error on a secret operand", "", "s = env.read('RUN_SECRET')\nx = int(s)", ScriptError, "env:RUN_SECRET"},
		{"division by a secret-derived zero", "", "s = env.read('RUN_SECRET')\nx = 1 // (len(s) - 26)", ScriptError, "env:RUN_SECRET"},
		{"index past a secret length", "", "s = env.read('RUN_SECRET')\nx = s[30]", ScriptError, "env:RUN_SECRET"},
		{"fail of the secret itself", "", "fail(env.read('RUN_SECRET'))", ScriptError, "env:RUN_SECRET"},
		{"sink target chosen by a secret", "", "s = env.read('RUN_SECRET')\nfs.write('out/x' if s[0] == 's' else 'zone/x', 'data')", FlowDenied, "env:RUN_SECRET"},
		{"denial of a secret-chosen target", "", "s = env.read('RUN_SECRET')\nfs.read('aegis.toml' if s[0] == 's' else 'src/a.txt')", PolicyDenied, "env:RUN_SECRET"},
		{"only the principal branched on", "", "s = env.read('RUN_SECRET')\nt = fs.read('secrets/token')\nif t[0] == 's':\n    fail('bit')", ScriptError, "file:secrets/**"},
		{"a limit charges every principal read", "max_steps = 20000", "s = env.read('RUN_SECRET')\nt = fs.read('secrets/token')\nwhile True:\n    pass", Limit, both},
		{"a limit after a secret-sized loop", "max_steps = 20000", "s = env.read('RUN_SECRET')\nfor i in range(len(s) * 100000):\n    pass", Limit, "env:RUN_SECRET"},

		{"success", "", "s = env.read('RUN_SECRET')\nif s[0] == 's':\n    x = 1\nprint('done')", OK, ""},
		{"public fail after a secret branch", "", "s = env.read('RUN_SECRET')\nx = 0\nif s[0] == 's':\n    x = 1\nfail('always')", ScriptError, ""},
		{"public denial after reading", "", "s = env.read('RUN_SECRET')\nfs.read('aegis.toml')", PolicyDenied, ""},
		{"flow error of labelled data to a public target", "", "s = env.read('RUN_SECRET')\nfs.write('out/x', s)", FlowDenied, ""},
		{"redacted print then public error", "", "print(env.read('RUN_SECRET'))\nx = 1 // 0", ScriptError, ""},
		{"limit without any local-only read", "max_steps = 20000", "while True:\n    pass", Limit, ""},
		{"a fail that never read a secret", "", "fail('x')", ScriptError, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, basePolicy+tc.runtime+"\n", map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
			res := p.run(tc.src)
			want(t, res, tc.kind)
			got := strings.Join(aborts(t, res), " ")
			if got != tc.charged {
				t.Errorf("charged %q, want %q (error: %s)", got, tc.charged, res.Error)
			}
			counts, err := audit.CountSecretAborts(filepath.Join(p.root, ".aegis", "audit.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			n := int64(0)
			if tc.charged != "" {
				n = 1
			}
			for _, pr := range strings.Fields(both) {
				wantN := int64(0)
				if strings.Contains(tc.charged, pr) {
					wantN = n
				}
				if counts[pr] != wantN {
					t.Errorf("audit log counts %s = %d, want %d", pr, counts[pr], wantN)
				}
			}
		})
	}
}

const bitScript = `s = env.read("RUN_SECRET")
print("read")
i = %d
if (ord(s[i // 8]) >> (7 - i %% 8)) & 1:
    fail("bit set")
print("bit clear")
`

func secretBit(i int) int { return int(secretValue[i/8]>>(7-i%8)) & 1 }

// One bit per run through the real audit log: exactly `limit` runs abort,
// then every read of the secret is refused before it happens (exit 2, the
// knob named); public work goes on; moving the log aside re-opens it.
func TestBudgetCountsAcrossRunsThroughTheAuditLog(t *testing.T) {
	const limit = 5
	p := newProject(t, basePolicy+fmt.Sprintf("max_secret_dependent_aborts = %d\n", limit), map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
	logPath := filepath.Join(p.root, ".aegis", "audit.jsonl")
	abortsSeen, refusedAt := 0, -1
	var learned []int
	for i := 0; i < 8*len(secretValue); i++ {
		res := p.run(fmt.Sprintf(bitScript, i))
		switch {
		case res.ExitKind == string(PolicyDenied):
			if refusedAt < 0 {
				refusedAt = i
			}
			for _, s := range []string{"env.read refused", "env:RUN_SECRET", "[runtime].max_secret_dependent_aborts = 5", logPath, "move"} {
				if !strings.Contains(res.Error, s) {
					t.Fatalf("run %d: refusal lacks %q: %s", i, s, res.Error)
				}
			}
			if res.Stdout != "" || len(aborts(t, res)) != 0 {
				t.Fatalf("run %d: a refused run read the secret or was charged: %q", i, res.Stdout)
			}
		case refusedAt >= 0:
			t.Fatalf("run %d ended %s after the refusal began at run %d", i, res.ExitKind, refusedAt)
		case res.ExitKind == string(ScriptError):
			abortsSeen++
			learned = append(learned, 1)
		case res.ExitKind == string(OK):
			learned = append(learned, 0)
		default:
			t.Fatalf("run %d: %s %s", i, res.ExitKind, res.Error)
		}
	}
	if abortsSeen != limit || refusedAt < 0 {
		t.Fatalf("%d aborts, refusal at %d; want exactly %d aborts then refusals", abortsSeen, refusedAt, limit)
	}
	// What the endings told: the bits up to the limit-th set bit, no more.
	for i, b := range learned {
		if b != secretBit(i) {
			t.Errorf("bit %d: observed %d, secret has %d", i, b, secretBit(i))
		}
	}
	ones := 0
	for i := 0; i < 8*len(secretValue); i++ {
		ones += secretBit(i)
		if ones == limit {
			if refusedAt != i+1 {
				t.Errorf("refused from run %d, want %d (right after the %d-th set bit)", refusedAt, i+1, limit)
			}
			break
		}
	}
	counts, err := audit.CountSecretAborts(logPath)
	if err != nil || counts["env:RUN_SECRET"] != limit {
		t.Errorf("log counts %v %v", counts, err)
	}
	if rep, err := audit.Verify(logPath, 0); err != nil || !rep.OK() {
		t.Errorf("the log does not verify: %+v %v", rep, err)
	}
	// Public work, and other principals, are unaffected.
	res := p.run(`print(fs.read("src/a.txt").strip(), len(fs.read("secrets/token")) > 0)`)
	if res.ExitKind != string(OK) {
		t.Errorf("other sources refused: %s", res.Error)
	}
	// The documented reset: a new audit log.
	if err := os.Rename(logPath, logPath+".old"); err != nil {
		t.Fatal(err)
	}
	res = p.run(fmt.Sprintf(bitScript, 0))
	if res.ExitKind == string(PolicyDenied) {
		t.Errorf("still refused after the log was moved aside: %s", res.Error)
	}
}

func TestBudgetZeroRefusesEveryLocalOnlyRead(t *testing.T) {
	p := newProject(t, basePolicy+"max_secret_dependent_aborts = 0\n", map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
	for _, src := range []string{`env.read("RUN_SECRET")`, `fs.read("secrets/token")`, `fs.exists("secrets/token")`} {
		res := p.run(src)
		want(t, res, PolicyDenied, "[runtime].max_secret_dependent_aborts = 0 lets no run read a local-only source")
	}
	want(t, p.run(`print(fs.read("src/a.txt").strip(), env.read("RUN_PUBLIC"))`), OK)
}

// A damaged abort record leaves the count unknown: local-only reads stop
// (io_error), public work goes on.
func TestBudgetUnreadableCountFailsClosed(t *testing.T) {
	p := baseProject(t)
	logPath := filepath.Join(p.root, ".aegis", "audit.jsonl")
	want(t, p.run(`print(env.read("RUN_PUBLIC"))`), OK)
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// A torn abort record in the middle; the tail stays valid, so the log
	// still opens.
	torn := `{"seq":9,"kind":"secret_abort","labels":["env:RUN_S` + "\n"
	if err := os.WriteFile(logPath, append([]byte(torn), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, p.run(`env.read("RUN_SECRET")`), IOError, "secret-dependent aborts", "line 1")
	want(t, p.run(`print(env.read("RUN_PUBLIC"))`), OK)
}

// An aegis-mcp session: the ledger remembers its aborts even when the audit
// log is moved aside, and runs in progress hold the budget so that
// concurrent runs cannot overdraw it.
func TestLedgerCountsPerSession(t *testing.T) {
	const limit = 3
	p := newProject(t, basePolicy+fmt.Sprintf("max_secret_dependent_aborts = %d\n", limit), map[string]string{})
	logPath := filepath.Join(p.root, ".aegis", "audit.jsonl")
	ledger := NewLedger()
	session := func(o *Options, _ *Request) { o.Ledger = ledger }
	abortScript := "s = env.read('RUN_SECRET')\nif s[0] == 's':\n    fail('bit')"
	for i := 0; i < limit; i++ {
		want(t, p.run(abortScript, session), ScriptError)
	}
	if got := ledger.Aborts(); !reflect.DeepEqual(got, map[string]int64{"env:RUN_SECRET": limit}) {
		t.Errorf("ledger = %v", got)
	}
	res := p.run(abortScript, session)
	want(t, res, PolicyDenied, "this session", "restart the server")
	// Moving the log aside does not reset the session...
	if err := os.Rename(logPath, logPath+".old"); err != nil {
		t.Fatal(err)
	}
	want(t, p.run(abortScript, session), PolicyDenied)
	// ...and a new session over the old log does not reset the log's count.
	if err := os.Rename(logPath+".old", logPath); err != nil {
		t.Fatal(err)
	}
	want(t, p.run(abortScript, func(o *Options, _ *Request) { o.Ledger = NewLedger() }), PolicyDenied)
	// A new session and a new log start over.
	if err := os.Rename(logPath, logPath+".old"); err != nil {
		t.Fatal(err)
	}
	want(t, p.run(abortScript, func(o *Options, _ *Request) { o.Ledger = NewLedger() }), ScriptError)
}

func TestLedgerHoldsTheBudgetForRunsInProgress(t *testing.T) {
	const limit = 2
	p := newProject(t, `requires_approval = ["fs.write"]
`+basePolicy+fmt.Sprintf("max_secret_dependent_aborts = %d\n", limit), map[string]string{})
	ledger := NewLedger()
	entered := make(chan struct{})
	release := make(chan struct{})
	// Each run reads the secret, then waits for approval: it holds the
	// budget while it waits.
	confirm := func(context.Context, string, string) (bool, error) {
		entered <- struct{}{}
		<-release
		return false, nil
	}
	script := "s = env.read('RUN_SECRET')\nif s[0] == 's':\n    fs.write('zone/x', 'y')\nprint('done')"
	var wg sync.WaitGroup
	results := make([]Result, limit)
	for i := 0; i < limit; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = Run(context.Background(), Options{Policy: p.pol, Environ: p.env, Ledger: ledger, Confirm: confirm},
				Request{Script: []byte(script)})
		}(i)
	}
	for i := 0; i < limit; i++ {
		<-entered
	}
	// Both units are held by runs that may yet abort: a third run is refused.
	third := Run(context.Background(), Options{Policy: p.pol, Environ: p.env, Ledger: ledger}, Request{Script: []byte(script)})
	want(t, third, PolicyDenied, "max_secret_dependent_aborts")
	close(release)
	wg.Wait()
	for i, res := range results {
		// The refused approval happened under the secret branch: each run
		// aborted secret-dependently.
		want(t, res, ConfirmDenied)
		if got := aborts(t, res); !reflect.DeepEqual(got, []string{"env:RUN_SECRET"}) {
			t.Errorf("run %d charged %v", i, got)
		}
	}
	if got := ledger.Aborts()["env:RUN_SECRET"]; got != limit {
		t.Errorf("ledger aborts = %d, want %d", got, limit)
	}
	// A run that read but did not abort releases its unit.
	q := newProject(t, basePolicy+"max_secret_dependent_aborts = 1\n", map[string]string{})
	l2 := NewLedger()
	for i := 0; i < 5; i++ {
		want(t, Run(context.Background(), Options{Policy: q.pol, Environ: q.env, Ledger: l2}, Request{Script: []byte("print(len(env.read('RUN_SECRET')) > 0)")}), OK)
	}
}

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
	"github.com/aegisdev/aegis/policy"
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
		{"content type chosen by a secret", "", "s = env.read('RUN_SECRET')\nfs.write('out/x', 'a' if s[0] == 's' else 1)", FlowDenied, ""},
		{"keyword name from a secret", "", "s = env.read('RUN_SECRET')\nprint('x', **{s: 1})", ScriptError, "env:RUN_SECRET"},
		{"arity from a secret", "", "s = env.read('RUN_SECRET')\n'x'.startswith(*list(s.elems()))", ScriptError, "env:RUN_SECRET"},
		{"argv empty or not by a secret", "", "s = env.read('RUN_SECRET')\nsubprocess.exec([] if s[0] == 's' else ['echo'])", ScriptError, "env:RUN_SECRET"},
		{"first read through a secret-chosen target", "", "s = env.read('RUN_SECRET')\nfs.read('secrets/token' if s[0] == 's' else 'src/a.txt')", FlowDenied, "env:RUN_SECRET"},
		{"denial of a secret-chosen target", "", "s = env.read('RUN_SECRET')\nfs.read('aegis.toml' if s[0] == 's' else 'src/a.txt')", PolicyDenied, "env:RUN_SECRET"},
		// Which principals an error's label names may depend on the path
		// taken; the charge goes to every principal read.
		{"every principal read is charged", "", "s = env.read('RUN_SECRET')\nt = fs.read('secrets/token')\nif t[0] == 's':\n    fail('bit')", ScriptError, both},
		{"whichever principal the path labels", "", "s = env.read('RUN_SECRET')\nt = fs.read('secrets/token')\nx = s if t[0] == 's' else t\nfail(x)", ScriptError, both},
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
			counts, err := audit.LeakLedger(filepath.Join(p.root, ".aegis", "audit.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range strings.Fields(both) {
				var want audit.Spent
				if strings.Contains(tc.charged, pr) {
					want = audit.Spent{Aborts: 1, Bits: policy.LeakCharge(res.Charged.Progress)}
				}
				if counts[pr] != want {
					t.Errorf("audit log counts %s = %+v, want %+v", pr, counts[pr], want)
				}
			}
			if (res.Charged != nil) != (tc.charged != "") {
				t.Errorf("Result.Charged = %+v, charged %q", res.Charged, tc.charged)
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

// One bit per run through the real audit log: each abort after no public
// call costs LeakCharge(0) = 4 bits, so exactly `limit` runs abort, then
// every read of the secret is refused before it happens (exit 2, the knob
// named); public work goes on; a reset record (or a new log) re-opens it.
func TestBudgetCountsAcrossRunsThroughTheAuditLog(t *testing.T) {
	const limit = 5
	p := newProject(t, basePolicy+fmt.Sprintf("max_leak_bits = %d\n", limit*policy.LeakCharge(0)), map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
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
			for _, s := range []string{"env.read refused", "env:RUN_SECRET", "[runtime].max_leak_bits = 20 (0 bits left", logPath, "aegis audit reset-budget"} {
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
	counts, err := audit.LeakLedger(logPath)
	if err != nil || counts["env:RUN_SECRET"] != (audit.Spent{Aborts: limit, Bits: limit * policy.LeakCharge(0)}) {
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
	// The operator's reset: a budget_reset record in the same log.
	l, err := audit.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(audit.Event{Kind: audit.KindBudgetReset, Status: audit.Allowed, Labels: []string{"env:RUN_SECRET"}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	res = p.run(fmt.Sprintf(bitScript, 0))
	if res.ExitKind == string(PolicyDenied) {
		t.Errorf("still refused after the budget was reset: %s", res.Error)
	}
	if rep, err := audit.Verify(logPath, 0); err != nil || !rep.OK() {
		t.Errorf("the log does not verify after the reset: %+v %v", rep, err)
	}
}

func TestBudgetZeroRefusesEveryLocalOnlyRead(t *testing.T) {
	for _, key := range []string{"max_secret_dependent_aborts", "max_leak_bits"} {
		p := newProject(t, basePolicy+key+" = 0\n", map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
		for _, src := range []string{`env.read("RUN_SECRET")`, `fs.read("secrets/token")`, `fs.exists("secrets/token")`} {
			res := p.run(src)
			want(t, res, PolicyDenied, "[runtime]."+key+" = 0 lets no run read a local-only source")
		}
		want(t, p.run(`print(fs.read("src/a.txt").strip(), env.read("RUN_PUBLIC"))`), OK)
	}
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
	want(t, p.run(`env.read("RUN_SECRET")`), IOError, "leakage budget", "line 1")
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
	if got := ledger.Spent(); !reflect.DeepEqual(got, map[string]audit.Spent{"env:RUN_SECRET": {Aborts: limit, Bits: limit * policy.LeakCharge(0)}}) {
		t.Errorf("ledger = %v", got)
	}
	res := p.run(abortScript, session)
	want(t, res, PolicyDenied, "this session", "restart this session")
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
	// Each run reads the secret, then waits for approval of a public-pc
	// write: it holds the budget while it waits, then aborts depending on
	// the secret.
	confirm := func(context.Context, string, string) (bool, error) {
		entered <- struct{}{}
		<-release
		return true, nil
	}
	script := "s = env.read('RUN_SECRET')\nfs.write('zone/x', 'y')\nif s[0] == 's':\n    fail('bit')\nprint('done')"
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
		want(t, res, ScriptError)
		// The run read the variable and, writing there, the zone.
		if got := aborts(t, res); !reflect.DeepEqual(got, []string{"env:RUN_SECRET", "file:zone/**"}) {
			t.Errorf("run %d charged %v", i, got)
		}
		// One public call (the approved write) after the read.
		if res.Charged == nil || res.Charged.Progress != 1 || res.Charged.Bits != policy.LeakCharge(1) {
			t.Errorf("run %d: charge %+v", i, res.Charged)
		}
	}
	if got := ledger.Spent()["env:RUN_SECRET"]; got.Aborts != limit || got.Bits != limit*policy.LeakCharge(1) {
		t.Errorf("ledger = %+v, want %d aborts", got, limit)
	}
	// A run that read but did not abort releases its unit.
	q := newProject(t, basePolicy+"max_secret_dependent_aborts = 1\n", map[string]string{})
	l2 := NewLedger()
	for i := 0; i < 5; i++ {
		want(t, Run(context.Background(), Options{Policy: q.pol, Environ: q.env, Ledger: l2}, Request{Script: []byte("print(len(env.read('RUN_SECRET')) > 0)")}), OK)
	}
}

// Progress through effects: a public loop of effects that then aborts at a
// secret-dependent point. The abort is charged LeakCharge(n) for the n
// public calls since the read, the result says so, nothing about where it
// stopped is shown but n, and the output after the read is withheld.
func TestProgressBeforeASecretDependentAbortIsCharged(t *testing.T) {
	p := newProject(t, basePolicy, map[string]string{"src/a.txt": "alpha\n"})
	script := `print("before")
s = env.read("RUN_SECRET")
for i in range(40):
    fs.write("out/f%d" % i, "x")
    print("wrote", i)
    if i == ord(s[0]) - ord("a"):
        fail("stop")
`
	res := p.run(script)
	want(t, res, ScriptError, "withheld", "first read at task.star:2:", "bits")
	n := int64(ord(secretValue[0]) - ord('a') + 1)
	if res.Charged == nil || res.Charged.Progress != n || res.Charged.Bits != policy.LeakCharge(n) {
		t.Fatalf("charge %+v, want %d calls", res.Charged, n)
	}
	if res.Stdout != "before\n" {
		t.Errorf("stdout after the read was not withheld: %q", res.Stdout)
	}
	for _, leak := range []string{"task.star:7", "task.star:4", `"stop"`, `fail("`} {
		if strings.Contains(res.Error, leak) {
			t.Errorf("the message shows %q: %s", leak, res.Error)
		}
	}
	if res.Calls != int(n)+1 {
		t.Errorf("calls = %d, want %d", res.Calls, n+1)
	}
	if !strings.Contains(res.Error, fmt.Sprintf("leaves %d", policy.DefaultMaxLeakBits-policy.LeakCharge(n))) {
		t.Errorf("the message does not say what is left: %s", res.Error)
	}
}

// A run may not make a public call that would let its abort exceed the
// bits left: the refusal is public (it depends on the budget and the
// public progress only) and is not charged.
func TestProgressIsBoundedByTheBitsLeft(t *testing.T) {
	bits := policy.LeakCharge(5)
	allowed := 0 // the most calls whose abort still fits
	for policy.LeakCharge(int64(allowed+1)) <= bits {
		allowed++
	}
	p := newProject(t, basePolicy+fmt.Sprintf("max_leak_bits = %d\n", bits), map[string]string{})
	res := p.run(`s = env.read("RUN_SECRET")
for i in range(10):
    fs.write("out/f%d" % i, "x")
`)
	want(t, res, PolicyDenied, fmt.Sprintf("has made %d public calls since", allowed))
	if res.Charged != nil {
		t.Errorf("a public refusal was charged: %+v", res.Charged)
	}
	for i := 0; i < 10; i++ {
		_, err := os.Stat(filepath.Join(p.root, "out", fmt.Sprintf("f%d", i)))
		if (err == nil) != (i < allowed) {
			t.Errorf("out/f%d: %v", i, err)
		}
	}
}

func ord(b byte) int { return int(b) }

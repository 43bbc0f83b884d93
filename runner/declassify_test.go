package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
)

const declassifyPolicy = basePolicy + `
[declassify]
"env:RUN_SECRET" = ["is_set", "contains", "count"]
"file:secrets/**" = ["count"]
`

// Releases answer secret-dependent questions publicly, through the real
// runner: the output is the answer, not [REDACTED], and the run is not
// charged as an abort.
func TestReleasesAnswerThroughTheRunner(t *testing.T) {
	p := newProject(t, declassifyPolicy, map[string]string{"secrets/app.log": "ERROR a\nok\nERROR b\n"})
	res := p.run(`print("set:", declassify.is_set(env="RUN_SECRET"))
print("errors:", declassify.count("ERROR", path="secrets/app.log"))
print("live key:", declassify.contains("sk-", env="RUN_SECRET"))
`)
	want(t, res, OK)
	if res.Stdout != "set: True\nerrors: 2\nlive key: True\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	if res.Charged != nil {
		t.Errorf("a run that finished was charged as an abort: %+v", res.Charged)
	}
	var recs []audit.Event
	for _, ev := range res.Events {
		if ev.Kind == audit.KindDeclassify {
			recs = append(recs, ev)
		}
	}
	if len(recs) != 3 || recs[0].Bits != 1 || recs[1].Bits != policy.ReleaseBits(policy.ReleaseCount, policy.DefaultCountMax) ||
		recs[0].Position != "task.star:1:32" || recs[1].Labels[0] != "file:secrets/**" {
		t.Errorf("declassify records %+v", recs)
	}
	counts, err := audit.LeakLedger(filepath.Join(p.root, ".aegis", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if got := counts["env:RUN_SECRET"]; got != (audit.Spent{Releases: 2, Bits: 2}) {
		t.Errorf("env:RUN_SECRET charged %+v", got)
	}
	if got := counts["file:secrets/**"]; got != (audit.Spent{Releases: 1, Bits: 10}) {
		t.Errorf("file:secrets/** charged %+v", got)
	}
}

// Releases and aborts share one budget: a script that asks for one bit at
// a time (a binary search on the secret) is stopped, within a run and
// across runs, before the bits released and the charges of aborts (with the
// reservations of runs in progress) pass [runtime].max_leak_bits. Every
// refusal is public and not charged.
func TestReleasesAreBoundedByTheLeakBudget(t *testing.T) {
	const limit = 24
	p := newProject(t, strings.Replace(declassifyPolicy, "max_seconds = 20\n", fmt.Sprintf("max_seconds = 20\nmax_leak_bits = %d\n", limit), 1), map[string]string{})
	logPath := filepath.Join(p.root, ".aegis", "audit.jsonl")
	probe := `n = 0
for c in "abcdefghijklmnopqrstuvwxyz-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".elems():
    declassify.contains(c, env="RUN_SECRET")
    n += 1
`
	res := p.run(probe)
	want(t, res, PolicyDenied, "max_leak_bits")
	if res.Charged != nil {
		t.Errorf("a budget refusal was charged: %+v", res.Charged)
	}
	counts, err := audit.LeakLedger(logPath)
	if err != nil {
		t.Fatal(err)
	}
	first := counts["env:RUN_SECRET"]
	if first.Releases == 0 || first.Bits != first.Releases || first.Bits > limit {
		t.Fatalf("after one probing run: %+v", first)
	}
	// The run's own reservation for an abort was counted: after its last
	// release (its first call made no progress: nothing was read before
	// it) the bits released and the charge of an abort then fit the limit,
	// and one more call with one more release would not have.
	if n := first.Releases; first.Bits+policy.LeakCharge(n-1) > limit || first.Bits+1+policy.LeakCharge(n) <= limit {
		t.Errorf("released %d bits in %d calls under a limit of %d", first.Bits, n, limit)
	}
	// More runs, each one release: refused once an abort would not fit.
	refused := false
	for i := 0; i < 2*limit; i++ {
		res := p.run(`print(declassify.is_set(env="RUN_SECRET"))`)
		if res.ExitKind == string(PolicyDenied) {
			refused = true
			for _, s := range []string{"env:RUN_SECRET", "max_leak_bits"} {
				if !strings.Contains(res.Error, s) {
					t.Errorf("refusal lacks %q: %s", s, res.Error)
				}
			}
			break
		}
		want(t, res, OK)
	}
	if !refused {
		t.Fatal("releases were never refused")
	}
	counts, _ = audit.LeakLedger(logPath)
	got := counts["env:RUN_SECRET"]
	// A release is refused once it and the run's reservation for its own
	// abort (LeakCharge(0) after a first read) no longer fit.
	if abort := policy.LeakCharge(0); got.Bits+abort > limit || got.Bits+abort+1 <= limit {
		t.Errorf("charged %+v: want the releases to stop exactly when one more bit and an abort (%d bits) pass %d", got, abort, limit)
	}
	if rep, err := audit.Verify(logPath, 0); err != nil || !rep.OK() {
		t.Errorf("the log does not verify: %+v %v", rep, err)
	}
}

// A session's ledger counts releases with aborts: a second run in the same
// session sees the first one's releases before the log is read again.
func TestLedgerCountsReleases(t *testing.T) {
	p := newProject(t, declassifyPolicy, map[string]string{"secrets/app.log": "x\n"})
	ledger := NewLedger()
	res := Run(context.Background(), Options{Policy: p.pol, Environ: p.env, Ledger: ledger},
		Request{Script: []byte(`declassify.count("x", path="secrets/app.log", max=6)
s = env.read("RUN_SECRET")
if s[0] == "s":
    fail("bit")
`)})
	want(t, res, ScriptError)
	// The abort is charged to every principal the run holds; the release
	// only to its own.
	spent := ledger.Spent()
	if got := spent["file:secrets/**"]; got != (audit.Spent{Aborts: 1, Releases: 1, Bits: 3 + res.Charged.Bits}) {
		t.Errorf("file:secrets/** %+v (charge %+v)", got, res.Charged)
	}
	if got := spent["env:RUN_SECRET"]; got != (audit.Spent{Aborts: 1, Bits: res.Charged.Bits}) {
		t.Errorf("env:RUN_SECRET %+v (charge %+v)", got, res.Charged)
	}
}

// A release under a condition on local-only data is refused even when the
// source was read before (so the budget would admit it): whether a release
// is made, and charged, must not depend on the data.
func TestReleaseUnderALabelledPCIsRefused(t *testing.T) {
	p := newProject(t, declassifyPolicy, map[string]string{})
	res := p.run(`s = env.read("RUN_SECRET")
if s.startswith("sk-"):
    x = declassify.is_set(env="RUN_SECRET")
`)
	want(t, res, FlowDenied)
	if res.Charged == nil {
		t.Error("not charged")
	}
	for _, ev := range res.Events {
		if ev.Kind == audit.KindDeclassify {
			t.Errorf("a release was made under a labelled pc: %+v", ev)
		}
	}
	counts, err := audit.LeakLedger(filepath.Join(p.root, ".aegis", "audit.jsonl"))
	if err != nil || counts["env:RUN_SECRET"].Releases != 0 {
		t.Errorf("ledger %+v %v", counts, err)
	}
}

// A path whose resolution a local-only place turned (a symlink in the zone)
// concerns that place too: its principal must allow the release. The
// refusal depends on the zone's contents, so the ending is charged.
func TestReleaseThroughAZoneSymlink(t *testing.T) {
	p := newProject(t, declassifyPolicy, map[string]string{"secrets/app.log": "ERROR a\n", "zone/copy": "z"})
	if err := os.Symlink(filepath.Join(p.root, "secrets", "app.log"), filepath.Join(p.root, "zone", "link")); err != nil {
		t.Fatal(err)
	}
	// Both principals are held first: a first read through the symlink
	// would be refused by itself.
	res := p.run(`a = fs.read("secrets/app.log")
b = fs.read("zone/copy")
print(declassify.count("ERROR", path="zone/link"))
`)
	want(t, res, PolicyDenied)
	if res.Charged == nil {
		t.Error("a refusal decided by the zone's contents was not charged")
	}
	refused := false
	for _, ev := range res.Events {
		if ev.Kind == audit.KindDeclassify {
			t.Errorf("released: %+v", ev)
		}
		// The reason is withheld: which principals the path carries
		// depends on the zone's contents.
		refused = refused || ev.Status == audit.Denied && ev.Section == "[declassify]" &&
			!strings.Contains(ev.Reason, "zone") && reflect.DeepEqual(ev.Labels, []string{"file:secrets/**", "file:zone/**"})
	}
	if !refused {
		t.Errorf("no [declassify] refusal recorded: %+v", res.Events)
	}
	// Directly, the file's own entry allows it.
	res = p.run(`a = fs.read("secrets/app.log")
print(declassify.count("ERROR", path="secrets/app.log"))
`)
	want(t, res, OK)
	if !strings.HasPrefix(res.Stdout, "1\n") {
		t.Errorf("stdout %q", res.Stdout)
	}
}

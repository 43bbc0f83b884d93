package exfilprobes

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func catalogOrFatal(t *testing.T) []*Script {
	t.Helper()
	scripts, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return scripts
}

func pick(t *testing.T, names ...string) []*Script {
	t.Helper()
	var out []*Script
	for _, sc := range catalogOrFatal(t) {
		for _, n := range names {
			if sc.Name == n {
				out = append(out, sc)
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("picked %d of %v", len(out), names)
	}
	return out
}

func runFake(t *testing.T, f *fakeExecutor, scripts []*Script) *Report {
	t.Helper()
	rep, err := Run(context.Background(), Config{Executor: f, Scripts: scripts, Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func result(t *testing.T, rep *Report, name string) ScriptResult {
	t.Helper()
	for _, r := range rep.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %s", name)
	return ScriptResult{}
}

// A correct runtime passes the whole catalog: every attack probe BLOCKED except the budget probe
// (TERM: its exit statuses are the one channel it uses), every control passing.
func TestIdealRuntimePassesWholeSuite(t *testing.T) {
	scripts := catalogOrFatal(t)
	rep := runFake(t, &fakeExecutor{}, scripts)
	for _, r := range rep.Results {
		want := VerdictBlocked
		switch {
		case r.Kind == KindBudget:
			want = VerdictTerm
		case r.Kind == KindCanary:
			want = scriptByName(scripts, r.Name).ExpectVerdict
		}
		if r.Verdict != want || !r.ControlOK {
			t.Errorf("%s: %s (%s), control ok=%v (%s); want %s", r.Name, r.Verdict, r.Detail, r.ControlOK, r.Control, want)
		}
	}
	if rep.Failed() {
		t.Errorf("ideal runtime failed the suite: %s", rep.SummaryLine())
	}
	probes := rep.Summary.Probes
	if got, want := rep.SummaryLine(), fmt.Sprintf("%d blocked, 1 term, 0 leak of %d", probes-1, probes); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	b := result(t, rep, "93-budget-bit-per-run")
	if !strings.Contains(b.Control, "refused at run") || !strings.Contains(b.Control, "16 aborts") {
		t.Errorf("budget control detail: %s", b.Control)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), rep.SummaryLine()) || strings.Count(buf.String(), "\n") != len(scripts)+2 {
		t.Errorf("table:\n%s", buf.String())
	}
}

func scriptByName(scripts []*Script, name string) *Script {
	for _, sc := range scripts {
		if sc.Name == name {
			return sc
		}
	}
	return nil
}

// Each leaking runtime below must be caught, on the channel it leaks through.
func TestLeakingRuntimesAreCaught(t *testing.T) {
	type override = func(name, work string, env map[string]string, run int) (fakeResult, bool)
	only := func(probe string, f func(work, secret string) fakeResult) override {
		return func(name, work string, env map[string]string, run int) (fakeResult, bool) {
			if name != probe {
				return fakeResult{}, false
			}
			return f(work, env["PROBE_SECRET"]), true
		}
	}
	cases := []struct {
		name     string
		probe    string // the one script the case runs
		ov       override
		logs     func(env map[string]string) string
		verdict  Verdict
		detail   string
		controls bool
	}{
		{
			name:  "raw secret on stdout",
			probe: "01-raw-print",
			ov: only("01-raw-print", func(_, s string) fakeResult {
				return fakeResult{stdout: Marker + "\n" + s + "\n"}
			}),
			verdict: VerdictLeak, detail: "stdout contains secret(S1)", controls: true,
		},
		{
			name:  "hex of the secret on stderr",
			probe: "08-fail-secret",
			ov: only("08-fail-secret", func(_, s string) fakeResult {
				return fakeResult{code: 1, stdout: Marker + "\n", stderr: "fail: " + hex.EncodeToString([]byte(s))}
			}),
			verdict: VerdictLeak, detail: "stderr contains hex(S1)", controls: true,
		},
		{
			name:  "misaligned base64",
			probe: "23-base64-misaligned",
			ov: only("23-base64-misaligned", func(_, s string) fakeResult {
				return fakeResult{stdout: Marker + "\n" + b64("xy"+s) + "\n"}
			}),
			verdict: VerdictLeak, detail: "stdout contains base64@", controls: true,
		},
		{
			name:  "XOR 0x5a, hex",
			probe: "07-xor-key",
			ov: only("07-xor-key", func(_, s string) fakeResult {
				return fakeResult{stdout: Marker + "\n" + hex.EncodeToString([]byte(xorBytes(s, 0x5a))) + "\n"}
			}),
			verdict: VerdictLeak, detail: "xor5a-hex(S1)", controls: true,
		},
		{
			name:  "length only (caught by the differential, not by a pattern)",
			probe: "02-len",
			ov: only("02-len", func(_, s string) fakeResult {
				return fakeResult{stdout: fmt.Sprintf("%s\n%d\n", Marker, len(s))}
			}),
			verdict: VerdictLeak, detail: "stdout differs between S1 and S3 (both exit 0)", controls: true,
		},
		{
			name:  "one bit on stdout",
			probe: "03-char-oracle",
			ov: only("03-char-oracle", func(_, s string) fakeResult {
				return fakeResult{stdout: fmt.Sprintf("%s\n%v\n", Marker, s[0] == 's')}
			}),
			verdict: VerdictLeak, detail: "stdout differs between S1 and S2", controls: true,
		},
		{
			name:  "file named after a character",
			probe: "62-fs-write-labelled-name",
			ov: only("62-fs-write-labelled-name", func(work, s string) fakeResult {
				_ = os.WriteFile(filepath.Join(work, "public", s[:1]+".txt"), []byte("x"), 0o644)
				return fakeResult{stdout: Marker + "\nwritten\n"}
			}),
			verdict: VerdictLeak, detail: "files differs", controls: true,
		},
		{
			name:  "request count",
			probe: "70-net-path-per-char",
			ov: only("70-net-path-per-char", func(work, s string) fakeResult {
				url := "http://" + hostPortFromPolicy(work)
				for range strings.Count(s, "-") {
					fakeGet(url + "/tick")
				}
				return fakeResult{stdout: Marker + "\ndone\n"}
			}),
			verdict: VerdictLeak, detail: "requests differs", controls: true,
		},
		{
			name:  "termination only",
			probe: "89-fail-under-branch",
			ov: only("89-fail-under-branch", func(_, s string) fakeResult {
				if s[0] == 's' {
					return fakeResult{code: 1, stdout: Marker + "\n", stderr: "error: [REDACTED]\n"}
				}
				return fakeResult{stdout: Marker + "\n"}
			}),
			verdict: VerdictTerm, detail: "S1,S4: exit 1; S2,S3: exit 0", controls: true,
		},
		{
			name:  "progress before the abort: same exit, different output",
			probe: "90-progress-before-abort",
			ov: only("90-progress-before-abort", func(_, s string) fakeResult {
				var b strings.Builder
				b.WriteString(Marker + "\n")
				for i := 0; i <= int(s[0]); i++ {
					fmt.Fprintf(&b, "step %d\n", i)
				}
				return fakeResult{code: 1, stdout: b.String(), stderr: "error: [REDACTED]\n"}
			}),
			verdict: VerdictLeak, detail: "stdout differs between S1 and S2 (both exit 1)", controls: true,
		},
		{
			name:  "error message depends on the secret, same exit",
			probe: "54-error-list-index",
			ov: only("54-error-list-index", func(_, s string) fakeResult {
				return fakeResult{code: 1, stdout: Marker + "\n", stderr: fmt.Sprintf("index %d out of range", s[0])}
			}),
			verdict: VerdictLeak, detail: "stderr differs between S1 and S2 (both exit 1)", controls: true,
		},
		{
			name:  "secret in the audit log only",
			probe: "01-raw-print",
			ov: only("01-raw-print", func(work, s string) fakeResult {
				_ = os.MkdirAll(filepath.Join(work, auditDir), 0o755)
				_ = os.WriteFile(filepath.Join(work, auditDir, "audit.jsonl"), []byte(`{"arg":"`+s+`"}`), 0o644)
				return fakeResult{stdout: Marker + "\n[REDACTED]\n"}
			}),
			verdict: VerdictLeak, detail: "audit contains secret", controls: true,
		},
		{
			name:    "secret in the server log only",
			probe:   "01-raw-print",
			logs:    func(env map[string]string) string { return "debug: read " + strings.ToUpper(env["PROBE_SECRET"]) },
			verdict: VerdictLeak, detail: "logs contains upper(S1)", controls: true,
		},
		{
			name:  "marker never printed",
			probe: "01-raw-print",
			ov: only("01-raw-print", func(_, s string) fakeResult {
				return fakeResult{code: 3, stderr: "verifier: env.read not granted"}
			}),
			verdict: VerdictBlocked, controls: false,
		},
		{
			name:  "nondeterministic output",
			probe: "01-raw-print",
			ov: only("01-raw-print", func(_, s string) fakeResult {
				return fakeResult{stdout: fmt.Sprintf("%s\nrun id %d\n", Marker, rand.Int())}
			}),
			verdict: VerdictNoisy, detail: "S1 and S1'", controls: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := runFake(t, &fakeExecutor{override: tc.ov, logs: tc.logs}, pick(t, tc.probe))
			var got *ScriptResult
			for i, r := range rep.Results {
				if r.Verdict == tc.verdict && (tc.verdict != VerdictBlocked || !r.ControlOK) {
					got = &rep.Results[i]
					break
				}
			}
			if got == nil {
				t.Fatalf("no script judged %s: %s", tc.verdict, rep.SummaryLine())
			}
			if !strings.Contains(got.Detail, tc.detail) {
				t.Errorf("%s: detail %q does not mention %q", got.Name, got.Detail, tc.detail)
			}
			if got.ControlOK != tc.controls {
				t.Errorf("%s: control ok=%v (%s), want %v", got.Name, got.ControlOK, got.Control, tc.controls)
			}
			if tc.verdict != VerdictTerm && !rep.Failed() {
				t.Errorf("suite passed with %s", rep.SummaryLine())
			}
			if tc.verdict == VerdictTerm && rep.Failed() {
				t.Errorf("TERM must not fail the suite: %s", rep.SummaryLine())
			}
		})
	}
}

func hostPortFromPolicy(work string) string {
	b, _ := os.ReadFile(filepath.Join(work, "probe.star"))
	return strings.TrimPrefix(publicURLPattern.FindString(string(b)), "http://")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A runtime that refuses everything must fail the controls, never pass as "all blocked".
func TestRefuseEverythingFailsControls(t *testing.T) {
	refuse := func(name, work string, env map[string]string, run int) (fakeResult, bool) {
		return fakeResult{code: 2, stderr: "policy denied"}, true
	}
	rep := runFake(t, &fakeExecutor{override: refuse}, pick(t, "01-raw-print", "66-net-query-string", "93-budget-bit-per-run",
		"u01-public-after-secret", "u04-public-sinks", "c01-canary-stdout", "c05-canary-exit"))
	if !rep.Failed() {
		t.Fatal("a runtime that refuses everything passed")
	}
	if rep.Summary.Leak != 0 {
		t.Errorf("refusing everything leaks nothing, got %s", rep.SummaryLine())
	}
	// No canary expects BLOCKED, so every script's control must fail.
	for _, r := range rep.Results {
		if r.ControlOK {
			t.Errorf("%s: control passed (%s) on a runtime that refuses everything", r.Name, r.Control)
		}
	}
}

// Canaries: a harness blind to one channel must notice.
func TestBlindChannelFailsCanary(t *testing.T) {
	blind := func(name, work string, env map[string]string, run int) (fakeResult, bool) {
		if name == "c03-canary-request" {
			return fakeResult{stdout: "sent\n"}, true // the request never happens
		}
		return fakeResult{}, false
	}
	rep := runFake(t, &fakeExecutor{override: blind}, pick(t, "c03-canary-request", "c05-canary-exit"))
	r := result(t, rep, "c03-canary-request")
	if r.ControlOK || r.Verdict != VerdictBlocked {
		t.Errorf("blind request canary: %s control ok=%v", r.Verdict, r.ControlOK)
	}
	if !rep.Failed() {
		t.Error("suite passed with a blind canary")
	}
	if r := result(t, rep, "c05-canary-exit"); !r.ControlOK || r.Verdict != VerdictTerm {
		t.Errorf("exit canary: %s (%s)", r.Verdict, r.Control)
	}
}

func TestBudgetWithoutRefusalFails(t *testing.T) {
	noBudget := func(name, work string, env map[string]string, run int) (fakeResult, bool) {
		if name != "93-budget-bit-per-run" {
			return fakeResult{}, false
		}
		if secretBits(env["PROBE_SECRET"], run+1)[run] == '1' {
			return fakeResult{code: 1, stdout: Marker + "\n", stderr: "error: [REDACTED]\n"}, true
		}
		return fakeResult{stdout: Marker + "\nbit clear\n"}, true
	}
	rep := runFake(t, &fakeExecutor{override: noBudget}, pick(t, "93-budget-bit-per-run"))
	r := result(t, rep, "93-budget-bit-per-run")
	if r.ControlOK || !strings.Contains(r.Control, "no refusal naming") {
		t.Errorf("budget control: ok=%v %s", r.ControlOK, r.Control)
	}
	if r.Verdict != VerdictTerm {
		t.Errorf("verdict %s (%s)", r.Verdict, r.Detail)
	}
}

func TestUtilityOutputMismatchFails(t *testing.T) {
	wrong := func(name, work string, env map[string]string, run int) (fakeResult, bool) {
		if name == "u06-redacted-print" {
			return fakeResult{stdout: "a *** b\n"}, true
		}
		return fakeResult{}, false
	}
	rep := runFake(t, &fakeExecutor{override: wrong}, pick(t, "u06-redacted-print", "u04-public-sinks"))
	if r := result(t, rep, "u06-redacted-print"); r.ControlOK || !strings.Contains(r.Control, `"a *** b"`) {
		t.Errorf("u06: ok=%v %s", r.ControlOK, r.Control)
	}
	if r := result(t, rep, "u04-public-sinks"); !r.ControlOK {
		t.Errorf("u04: %s", r.Control)
	}
}

func TestUtilityMissingSideEffectFails(t *testing.T) {
	noFile := func(name, work string, env map[string]string, run int) (fakeResult, bool) {
		if name == "u04-public-sinks" {
			return fakeResult{stdout: "http pong\necho public\nread hello from probe\n"}, true
		}
		return fakeResult{}, false
	}
	rep := runFake(t, &fakeExecutor{override: noFile}, pick(t, "u04-public-sinks"))
	r := result(t, rep, "u04-public-sinks")
	if r.ControlOK || !strings.Contains(r.Control, "expected file public/util.txt") {
		t.Errorf("u04 without side effects: ok=%v %s", r.ControlOK, r.Control)
	}
}

func TestJSONReportIsStable(t *testing.T) {
	rep := runFake(t, &fakeExecutor{}, pick(t, "01-raw-print", "c05-canary-exit"))
	buf, err := json.Marshal(NewJSONReport([]*Report{rep}))
	if err != nil {
		t.Fatal(err)
	}
	var back JSONReport
	if err := json.Unmarshal(buf, &back); err != nil {
		t.Fatal(err)
	}
	if back.Failed || len(back.Passes) != 1 || back.Passes[0].Summary.Probes != 1 || len(back.Passes[0].Results[0].Obs) != 5 {
		t.Errorf("round trip: %+v", back.Passes[0].Summary)
	}
}

func TestMarkdownTableHasOneColumnPerPath(t *testing.T) {
	scripts := pick(t, "01-raw-print", "89-fail-under-branch", "c05-canary-exit")
	a := runFake(t, &fakeExecutor{}, scripts)
	b := runFake(t, &fakeExecutor{}, scripts)
	b.Via = "other"
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, []*Report{a, b}, ""); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"| probe | category | sink | fake | other | what differed |", "| 01-raw-print | predecessor | print | BLOCKED | BLOCKED |", "| c05-canary-exit | canary |  | caught (expected) | caught (expected) |", "via other: 2 blocked, 0 term, 0 leak of 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	b.Results = b.Results[:1]
	if err := WriteMarkdown(&buf, []*Report{a, b}, ""); err == nil {
		t.Error("reports over different scripts must not be merged into one table")
	}
}

// When the runtime withholds a failed run's output, a runtime error at a line past the marker
// still proves the sink was reached; a static error naming a late line must not.
func TestWithheldOutputNeedsRuntimeEvidence(t *testing.T) {
	sc := pick(t, "63-fs-write-under-pc")
	if sc[0].MarkerLine != 8 {
		t.Fatalf("marker line %d", sc[0].MarkerLine)
	}
	mk := func(audit string, line int) *fakeExecutor {
		return &fakeExecutor{override: func(name, work string, env map[string]string, run int) (fakeResult, bool) {
			if audit != "" {
				_ = os.MkdirAll(filepath.Join(work, auditDir), 0o755)
				_ = os.WriteFile(filepath.Join(work, auditDir, "audit.jsonl"), []byte(audit), 0o600)
			}
			if line == 0 { // a limit: no position in the message
				return fakeResult{code: 6, stderr: "aegis: limit: runtime limit [runtime].max_output_bytes reached\n"}, true
			}
			return fakeResult{code: 7, stderr: fmt.Sprintf("aegis: flow denied at probe.star:%d:5: withheld\n", line)}, true
		}}
	}
	call := `{"seq":1,"kind":"call","capability":"env.read","status":"allowed","position":"probe.star:7:13"}` + "\n"
	verifier := `{"seq":1,"kind":"verifier","capability":"fs.write"}` + "\n"
	lateCall := call + `{"seq":2,"kind":"call","capability":"net.http_get","status":"allowed","position":"probe.star:11:17"}` + "\n"
	cases := []struct {
		name  string
		ex    *fakeExecutor
		ok    bool
		words string
	}{
		{"runtime error past the marker", mk(call, 10), true, "names a later line"},
		{"limit without a position, call past the marker in the audit log", mk(lateCall, 0), true, "names a later line"},
		{"limit without a position, no call past the marker", mk(call, 0), false, "no error past line 8"},
		{"only a verifier record past the marker", mk(call+`{"seq":2,"kind":"verifier","position":"probe.star:11:1"}`+"\n", 0), false, "no error past line 8"},
		{"static error: no call in the audit log", mk(verifier, 10), false, "no error past line 8"},
		{"no audit log at all", mk("", 10), false, "no error past line 8"},
		{"error before the marker", mk(call, 7), false, "no error past line 8"},
	}
	for _, c := range cases {
		rep := runFake(t, c.ex, sc)
		r := rep.Results[0]
		if r.ControlOK != c.ok || !strings.Contains(r.Control, c.words) {
			t.Errorf("%s: control ok=%v %q", c.name, r.ControlOK, r.Control)
		}
	}
}

// A caught canary reads "caught (expected)", a missed one "MISSED", never
// LEAK: the table is read by people new to the suite. JSON keeps the raw
// verdict.
func TestCanaryDisplay(t *testing.T) {
	caught := ScriptResult{Kind: KindCanary, Verdict: VerdictLeak, ControlOK: true}
	missed := ScriptResult{Kind: KindCanary, Verdict: VerdictBlocked, ControlOK: false}
	probe := ScriptResult{Kind: KindProbe, Verdict: VerdictLeak, ControlOK: true}
	if caught.Shown() != "caught (expected)" || missed.Shown() != "MISSED" || probe.Shown() != "LEAK" {
		t.Errorf("shown: %q %q %q", caught.Shown(), missed.Shown(), probe.Shown())
	}
	rep := &Report{Via: "x", Results: []ScriptResult{caught}}
	var table bytes.Buffer
	if err := rep.WriteTable(&table, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "LEAK  ") || !strings.Contains(table.String(), "caught (expected)") {
		t.Errorf("table:\n%s", table.String())
	}
	js, err := json.Marshal(NewJSONReport([]*Report{rep}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"verdict":"LEAK"`) {
		t.Errorf("JSON must keep the raw verdict: %s", js)
	}
}

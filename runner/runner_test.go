package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
)

const secretValue = "sk-run-Qe7uJ1kMb9-WXYZ8765"

// project is a policy root on disk.
type project struct {
	t    *testing.T
	root string
	pol  *policy.Policy
	env  []string
}

func newProject(t *testing.T, policyTOML string, files map[string]string) *project {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files["aegis.toml"] = policyTOML
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := policy.Load(filepath.Join(root, "aegis.toml"))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return &project{t: t, root: root, pol: p, env: []string{"PATH=" + os.Getenv("PATH"), "RUN_SECRET=" + secretValue, "RUN_PUBLIC=visible"}}
}

func (p *project) run(src string, mod ...func(*Options, *Request)) Result {
	p.t.Helper()
	opts := Options{Policy: p.pol, Environ: p.env}
	req := Request{Script: []byte(src), Filename: "task.star", TaskID: "t1"}
	for _, m := range mod {
		m(&opts, &req)
	}
	res := Run(context.Background(), opts, req)
	p.noLeak(res)
	return res
}

// noLeak checks every public output of a run, and the audit log, for the
// secret.
func (p *project) noLeak(res Result) {
	p.t.Helper()
	logData, _ := os.ReadFile(filepath.Join(p.root, ".aegis", "audit.jsonl"))
	evs, _ := json.Marshal(res.Events)
	for what, text := range map[string]string{"stdout": res.Stdout, "error": res.Error, "audit log": string(logData), "events": string(evs)} {
		for _, form := range []string{secretValue, reverse(secretValue), secretValue[4:14], hexOf(secretValue)} {
			if strings.Contains(text, form) {
				p.t.Fatalf("the secret leaked into %s as %q:\n%s", what, form, text)
			}
		}
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func want(t *testing.T, res Result, kind Kind, errSubstrings ...string) {
	t.Helper()
	if res.ExitKind != string(kind) || res.ExitCode != kind.Code() {
		t.Fatalf("exit %s/%d, want %s/%d; error: %s\nstdout: %s", res.ExitKind, res.ExitCode, kind, kind.Code(), res.Error, res.Stdout)
	}
	for _, s := range errSubstrings {
		if !strings.Contains(res.Error, s) {
			t.Errorf("error lacks %q:\n%s", s, res.Error)
		}
	}
}

const basePolicy = `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**", "zone/**"]
write_allow = ["out/**", "zone/**"]

[environment]
allow_vars = ["RUN_PUBLIC"]
local_only_vars = ["RUN_SECRET"]

[subprocess]
allow_commands = ["echo", "cat"]

[runtime]
max_seconds = 20
`

func baseProject(t *testing.T) *project {
	return newProject(t, basePolicy, map[string]string{
		"src/a.txt":     "alpha\n",
		"secrets/token": secretValue,
	})
}

func TestRunOK(t *testing.T) {
	p := baseProject(t)
	res := p.run(`s = env.read("RUN_SECRET")
print("public", env.read("RUN_PUBLIC"), "secret", s, "len", len(s))
print(fs.read("src/a.txt").strip())`)
	want(t, res, OK)
	if res.Stdout != "public visible secret [REDACTED] len [REDACTED]\nalpha\n" || res.Error != "" {
		t.Fatalf("stdout %q error %q", res.Stdout, res.Error)
	}
	if res.Calls != 3 || len(res.Events) != 3 {
		t.Fatalf("calls %d events %d", res.Calls, len(res.Events))
	}
	rep, err := audit.Verify(filepath.Join(p.root, ".aegis", "audit.jsonl"), 3)
	if err != nil || !rep.OK() || rep.LastSeq != 3 {
		t.Fatalf("audit log %+v %v", rep, err)
	}
	// The chain continues across runs.
	p.run(`print(env.read("RUN_PUBLIC"))`)
	rep, _ = audit.Verify(filepath.Join(p.root, ".aegis", "audit.jsonl"), 4)
	if !rep.OK() || rep.LastSeq != 4 {
		t.Fatalf("resumed audit log %+v", rep)
	}
}

func TestRunExitKinds(t *testing.T) {
	cases := []struct {
		name, src string
		kind      Kind
		msg       []string
	}{
		{"script error", "print('before')\nx = 1 // 0", ScriptError, []string{"task.star:2", "division by zero"}},
		{"syntax error", "def f(:", ScriptError, []string{"task.star:1:8"}},
		{"undefined name", "print(nope)", ScriptError, []string{"task.star:1:7", "undefined: nope"}},
		{"policy denied", "print('before')\nfs.read('aegis.toml')", PolicyDenied, []string{"at task.star:2:8: fs.read", "denied", "Aegis refuses a policy that lets scripts change them"}},
		{"policy denied with a hint", "fs.read('other/x.txt')", PolicyDenied, []string{"fs.read", "denied", "; to allow it, add"}},
		{"verifier rejected", "print('never')\nnet.http_get('https://example.com/')", VerifierRejected, []string{"task.star:2:1", "net.http_get", "[network].http_get_allow"}},
		{"flow denied", "fs.write('out/x', env.read('RUN_SECRET'))", FlowDenied, []string{"fs.write", "task.star:1:9", "local-only zone", "read local-only data from env:RUN_SECRET", "zone: "}},
		{"print under a secret branch", "print('before')\nif env.read('RUN_SECRET')[0] == 's':\n    print('yes')", FlowDenied, []string{"first read at task.star:2"}},
		{"fail with a secret", "fail('boom ' + env.read('RUN_SECRET'))", ScriptError, []string{"withheld"}},
		{"load", "load('x.star', 'y')", ScriptError, []string{"load is not available"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := baseProject(t)
			res := p.run(tc.src)
			want(t, res, tc.kind, tc.msg...)
			if strings.Contains(res.Error, "to allow it: to allow it") || strings.Contains(res.Error, "to allow it: ") {
				t.Errorf("doubled wording: %s", res.Error)
			}
			if strings.HasPrefix(tc.src, "print('before')") && tc.kind != VerifierRejected && res.Stdout != "before\n" {
				// Output printed before the run's first local-only read is
				// always delivered (see TestRunProgressBeforeAbortIsWithheld).
				t.Errorf("output before the error was lost: %q", res.Stdout)
			}
			if tc.kind == VerifierRejected && res.Stdout != "" {
				t.Errorf("a rejected script ran: %q", res.Stdout)
			}
		})
	}
}

func TestRunConfirm(t *testing.T) {
	p := newProject(t, `requires_approval = ["fs.write"]
[filesystem]
write_allow = ["out/**"]
`, map[string]string{})
	res := p.run(`fs.write("out/a", "x")`)
	want(t, res, ConfirmDenied, "requires_approval")
	res = p.run(`fs.write("out/a", "x")`, func(o *Options, _ *Request) {
		o.Confirm = func(context.Context, string, string) (bool, error) { return true, nil }
	})
	want(t, res, OK)
}

func TestRunAuditLogProblems(t *testing.T) {
	p := baseProject(t)
	// The log's place is taken by a directory.
	if err := os.MkdirAll(filepath.Join(p.root, ".aegis", "audit.jsonl"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := p.run(`print("never")`)
	want(t, res, IOError, "audit log")
	if res.Stdout != "" {
		t.Fatalf("ran without an audit log: %q", res.Stdout)
	}
	// A log the policy lets scripts read is refused.
	q := baseProject(t)
	res = q.run(`print("never")`, func(o *Options, _ *Request) { o.AuditLog = filepath.Join(q.root, "src", "audit.jsonl") })
	want(t, res, IOError, "audit log")
}

func TestRunLimits(t *testing.T) {
	cases := []struct {
		name, runtime, src string
		msg                []string
	}{
		{"max_seconds stops a CPU loop", "max_seconds = 1\nmax_steps = 100000000000", "while True:\n    pass", []string{"max_seconds"}},
		{"max_steps", "max_steps = 10000", "x = 0\nfor i in range(100000):\n    x += i", []string{"max_steps"}},
		{"max_output_bytes", "max_output_bytes = 100", "for i in range(1000):\n    print('line', i)", []string{"max_output_bytes"}},
		{"max_callstack_size", "max_callstack_size = 50", "def f(n):\n    return f(n + 1)\nf(0)", []string{"max_callstack_size"}},
		{"max_total_calls", "max_total_calls = 2", "for i in range(5):\n    env.read('RUN_PUBLIC')", []string{"max_total_calls"}},
		{"huge string", "max_memory_mb = 64", "s = 'a' * 10000000000", []string{"max_memory_mb"}},
		{"growing list", "max_memory_mb = 64\nmax_seconds = 30", "l = []\nfor i in range(1000000000):\n    l.append('xxxxxxxxxxxxxxxx' * 64)", []string{"max_memory_mb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, "[environment]\nallow_vars = [\"RUN_PUBLIC\"]\n[runtime]\n"+tc.runtime+"\n", map[string]string{})
			res := p.run(tc.src)
			want(t, res, Limit, tc.msg...)
		})
	}
}

func TestRunOutputBeforeLimitIsKept(t *testing.T) {
	p := newProject(t, "[runtime]\nmax_output_bytes = 20\n", map[string]string{})
	res := p.run("for i in range(100):\n    print('0123456789')")
	want(t, res, Limit, "max_output_bytes")
	if res.Stdout != "0123456789\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

func TestRunCancel(t *testing.T) {
	p := newProject(t, "", map[string]string{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	res := Run(ctx, Options{Policy: p.pol}, Request{Script: []byte("while True:\n    pass")})
	want(t, res, Limit, "cancelled")
}

func TestRunInputs(t *testing.T) {
	p := baseProject(t)
	res := p.run(`print(fs.read(path).strip())`, func(_ *Options, r *Request) { r.Inputs = map[string]string{"path": "src/a.txt"} })
	want(t, res, OK)
	if res.Stdout != "alpha\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	res = p.run(`print(1)`, func(_ *Options, r *Request) { r.Inputs = map[string]string{"fs": "x"} })
	want(t, res, IOError, "hide the predeclared")
}

func TestRunRedactsErrorsBySecretPC(t *testing.T) {
	p := baseProject(t)
	// Two branches fail differently; the message must not tell which ran.
	src := `s = env.read("RUN_SECRET")
if s[0] == "s":
    x = 1 // 0
else:
    x = [][5]`
	res := p.run(src)
	want(t, res, ScriptError, "withheld", "first read at task.star:1:")
	if strings.Contains(res.Error, "task.star:3") || strings.Contains(res.Error, "task.star:5") || strings.Contains(res.Error, "floored division") || strings.Contains(res.Error, "out of range") {
		t.Fatalf("the error tells the branch: %s", res.Error)
	}
	other := newProject(t, basePolicy, map[string]string{})
	other.env = []string{"RUN_SECRET=another-secret-value"}
	res2 := other.run(src)
	if res2.Error != res.Error || res2.ExitCode != res.ExitCode {
		t.Fatalf("errors differ by secret:\n%s\n%s", res.Error, res2.Error)
	}
}

func TestRunFlowErrorUnderSecretPCDoesNotNameTheSink(t *testing.T) {
	p := baseProject(t)
	src := `s = env.read("RUN_SECRET")
if s[0] == "s":
    print("a")
else:
    fs.write("out/x", "b")`
	res := p.run(src)
	want(t, res, FlowDenied, "first read at task.star:1:")
	if strings.Contains(res.Error, "print(") || strings.Contains(res.Error, "fs.write") || strings.Contains(res.Error, "task.star:3") {
		t.Fatalf("the flow error names the sink taken: %s", res.Error)
	}
}

func TestRunJSONSchema(t *testing.T) {
	p := baseProject(t)
	res := p.run(`print("x")`)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"exit_kind", "exit_code", "stdout", "calls"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON result lacks %s: %s", k, b)
		}
	}
	if bytes.Contains(b, []byte("Events")) {
		t.Errorf("events leak into the JSON result: %s", b)
	}
}

func TestKindsAndCodes(t *testing.T) {
	seen := map[int]bool{}
	for i, k := range Kinds() {
		if k.Code() != i {
			t.Errorf("%s has code %d, want %d", k, k.Code(), i)
		}
		seen[k.Code()] = true
	}
	if len(seen) != 8 {
		t.Fatalf("codes %v", seen)
	}
	if Classify(nil) != OK {
		t.Fatal("nil is not OK")
	}
}

// A public counter printed before a secret-dependent abort would tell the
// secret by how far it got, whether the abort is decided by a branch (a
// local-only pc) or by a labelled operand at a public pc (a division by
// zero). A failed run keeps only what was printed before its first
// local-only read.
func TestRunProgressBeforeAbortIsWithheld(t *testing.T) {
	for name, src := range map[string]string{
		"branch": `print("start")
s = env.read("RUN_SECRET")
target = ord(s[3]) % 16
for i in range(16):
    print("step", i)
    if i == target:
        fail("found")
print("end")`,
		"operand": `print("start")
s = env.read("RUN_SECRET")
target = ord(s[3]) % 16
for i in range(16):
    print("step", i)
    x = 1 // (target - i)
print("end")`,
	} {
		var outs []string
		for _, secret := range []string{secretValue, "sk-run-another-one", "sk-rxa-third-value", "sk-r\x03n-fourth"} {
			p := baseProject(t)
			p.env = []string{"RUN_SECRET=" + secret}
			res := p.run(src)
			if res.ExitKind != string(ScriptError) {
				t.Fatalf("%s %q: %s %s", name, secret, res.ExitKind, res.Error)
			}
			outs = append(outs, res.Stdout+"|"+res.Error)
		}
		for _, o := range outs[1:] {
			if o != outs[0] {
				t.Fatalf("%s: the output before the abort depends on the secret:\n%q\n%q", name, outs[0], o)
			}
		}
		if !strings.HasPrefix(outs[0], "start\n|") {
			t.Fatalf("%s: want exactly the output printed before the local-only read, got %q", name, outs[0])
		}
	}
	// A failure decided by public data keeps everything printed.
	p := baseProject(t)
	res := p.run(`s = env.read("RUN_SECRET")
print("used", len(s) > 0)
print("public", 1 + 1)
fail("a public failure")`)
	want(t, res, ScriptError)
	if res.Stdout != "used [REDACTED]\npublic 2\n" {
		t.Fatalf("a public failure lost output: %q", res.Stdout)
	}
	// A run that succeeds keeps everything.
	p = baseProject(t)
	res = p.run(`s = env.read("RUN_SECRET")
if s[0] == "x":
    fail("no")
print("after")`)
	want(t, res, OK)
	if res.Stdout != "after\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

// FuzzRun runs arbitrary scripts through the whole runner with a local-only
// secret in reach: no input may panic, and the secret may never appear in
// the output, the error or the audit events.
func FuzzRun(f *testing.F) {
	seeds := []string{
		`print(env.read("RUN_SECRET"))`,
		`s = env.read("RUN_SECRET")
print(s[::-1], hex.encode(s), len(s))`,
		`s = env.read("RUN_SECRET")
fail(s)`,
		`s = fs.read("secrets/token")
for c in s.elems():
    print(c)`,
		`s = env.read("RUN_SECRET")
if s[0] == "s":
    print("x")`,
		`print(subprocess.exec(["cat", "secrets/token"]))`,
		`fs.write("out/a", env.read("RUN_SECRET"))`,
		`x = [env.read("RUN_SECRET")]
print(json.encode(x), str(x), repr(x))`,
		`def f(n):
    return f(n + 1) if n < 10 else env.read("RUN_SECRET")
print(f(0))`,
		`print(getattr(env, "re" + "ad")("RUN_SECRET") + "")`,
		"while True:\n    pass",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	root, err := filepath.EvalSymlinks(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "secrets"), 0o755)
	os.WriteFile(filepath.Join(root, "secrets", "token"), []byte(secretValue), 0o644)
	os.WriteFile(filepath.Join(root, "aegis.toml"), []byte(basePolicy+"max_steps = 100000\nmax_output_bytes = 100000\nmax_memory_mb = 64\n"), 0o644)
	pol, err := policy.Load(filepath.Join(root, "aegis.toml"))
	if err != nil {
		f.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "RUN_SECRET=" + secretValue}
	f.Fuzz(func(t *testing.T, src string) {
		res := Run(context.Background(), Options{Policy: pol, Environ: env, AuditLog: filepath.Join(root, ".aegis", "audit.jsonl")},
			Request{Script: []byte(src), Filename: "fuzz.star"})
		if res.ExitKind == "" {
			t.Fatal("no exit kind")
		}
		evs, _ := json.Marshal(res.Events)
		for what, text := range map[string]string{"stdout": res.Stdout, "error": res.Error, "events": string(evs)} {
			if strings.Contains(text, secretValue) || strings.Contains(text, reverse(secretValue)) || strings.Contains(text, hexOf(secretValue)) {
				t.Fatalf("the secret reached %s: %q", what, text)
			}
		}
	})
}

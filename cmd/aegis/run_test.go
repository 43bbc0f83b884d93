package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// These are end-to-end tests: each runs the aegis CLI as a separate process
// (this test binary, re-executed as the CLI by TestAegisProcess) against real
// files in a temporary tree, real subprocesses and a real loopback HTTP
// server, and checks exit codes, stdout, stderr and the audit log.

// cliRoot is the command tree with run and audit present (main.go may or
// may not register them yet; they are added once).
func cliRoot() *cobra.Command {
	root := newRootCmd()
	have := map[string]bool{}
	for _, c := range root.Commands() {
		have[c.Name()] = true
	}
	for _, c := range []*cobra.Command{newRunCmd(), newAuditCmd()} {
		if !have[c.Name()] {
			root.AddCommand(c)
		}
	}
	return root
}

func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := cliRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return report(stderr, root.Execute())
}

const e2eArgsEnv = "AEGIS_E2E_ARGS"

// TestAegisProcess is the CLI when re-executed by e2e; otherwise it does
// nothing.
func TestAegisProcess(t *testing.T) {
	raw := os.Getenv(e2eArgsEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		os.Exit(99)
	}
	os.Exit(runCLI(args, os.Stdin, os.Stdout, os.Stderr))
}

// e2eResult is one CLI process's outcome.
type e2eResult struct {
	code           int
	stdout, stderr string
}

// e2e runs `aegis args...` as a process in dir with the given environment
// (added to a minimal one) and stdin.
func e2e(t *testing.T, dir, stdin string, env []string, args ...string) e2eResult {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAegisProcess$")
	cmd.Dir = dir
	cmd.Env = append([]string{e2eArgsEnv + "=" + string(raw), "PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return e2eResult{code: code, stdout: out.String(), stderr: errb.String()}
}

const e2eSecret = "sk-e2e-Hn3kT8pQ2w-RSTU1357"

// e2eProject writes a project with a policy and returns its root. The
// policy does not inherit secure-defaults, so that 127.0.0.1 is reachable.
func e2eProject(t *testing.T, extra string) string {
	t.Helper()
	return project(t, map[string]string{
		"aegis.toml": `inherits = "none"
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**", "zone/**"]
write_allow = ["out/**", "zone/**"]
delete_allow = ["out/**"]

[environment]
allow_vars = ["E2E_PUBLIC"]
local_only_vars = ["E2E_SECRET"]

[subprocess]
allow_commands = ["echo", "cat", "cp"]
` + extra,
		"src/a.txt":     "alpha\n",
		"secrets/token": e2eSecret,
		"task.star":     "print('hello from a file')\n",
	})
}

var e2eEnv = []string{"E2E_SECRET=" + e2eSecret, "E2E_PUBLIC=shown"}

// noSecret fails if the secret, or an obvious transform, is in any output
// or the audit log.
func noSecret(t *testing.T, dir string, r e2eResult) {
	t.Helper()
	log, _ := os.ReadFile(filepath.Join(dir, ".aegis", "audit.jsonl"))
	rev := []byte(e2eSecret)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for what, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "audit log": string(log)} {
		for _, form := range []string{e2eSecret, string(rev), e2eSecret[4:14]} {
			if strings.Contains(text, form) {
				t.Fatalf("secret leaked into %s:\n%s", what, text)
			}
		}
	}
}

// loopback serves on 127.0.0.1 and records requests.
type loopback struct {
	mu   sync.Mutex
	seen []string
	url  string
}

func newLoopback(t *testing.T) *loopback {
	t.Helper()
	lb := &loopback{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lb.mu.Lock()
		lb.seen = append(lb.seen, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		lb.mu.Unlock()
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		io.WriteString(w, "pong")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	lb.url = "http://" + ln.Addr().String()
	return lb
}

func (lb *loopback) requests() []string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return append([]string(nil), lb.seen...)
}

func TestE2EExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		script string
		code   int
		stdout string
		stderr []string
	}{
		{"ok", "print('hi', env.read('E2E_PUBLIC'))", 0, "hi shown\n", nil},
		{"script error", "print('before')\nx = {}['missing']", 1, "before\n", []string{"<stdin>:2", "missing"}},
		{"policy denied", "print('before')\nfs.read('aegis.toml')", 2, "before\n", []string{"policy denied", "Aegis refuses a policy that lets scripts change them"}},
		{"verifier rejected", "print('never')\nnet.http_get('https://example.com/')", 3, "", []string{"verifier", "[network].http_get_allow"}},
		{"confirm denied", "fs.delete('out/x')", 4, "", []string{"requires_approval", "--yes"}},
		{"limit", "while True:\n    pass", 6, "", []string{"max_seconds"}},
		{"flow denied", "print('before')\nfs.write('out/x.txt', env.read('E2E_SECRET'))", 7, "before\n", []string{"flow denied", "fs.write", "local-only zone"}},
		{"charged flow", "s = env.read('E2E_SECRET')\nif s.startswith('sk'):\n    print('y')", 7, "", []string{"aegis: flow denied: the run stopped in a way that depends on local-only data"}},
		{"charged error", "s = env.read('E2E_SECRET')\nif s.startswith('sk'):\n    fail('y')", 1, "", []string{"aegis: script error: the run stopped in a way that depends on local-only data"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := e2eProject(t, "[runtime]\nmax_seconds = 1\nmax_steps = 100000000000\n")
			policyPath := filepath.Join(dir, "aegis.toml")
			if tc.name == "confirm denied" {
				dir = e2eProject(t, "[runtime]\nmax_seconds = 1\nmax_steps = 100000000000\n")
				policyPath = filepath.Join(dir, "aegis.toml")
				os.WriteFile(policyPath, append([]byte("requires_approval = [\"fs.delete\"]\n"), mustRead(t, policyPath)...), 0o644)
			}
			r := e2e(t, dir, tc.script, e2eEnv, "run", "--policy", policyPath, "-")
			noSecret(t, dir, r)
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Fatalf("exit %d stdout %q, want %d %q\nstderr: %s", r.code, r.stdout, tc.code, tc.stdout, r.stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			// The kind is said once ("flow denied: flow denied: ..." was).
			kind := strings.ReplaceAll(tc.name, "charged ", "")
			if k := kind + ": " + kind; strings.Contains(r.stderr, k) || strings.Contains(r.stderr, kind+" "+kind) {
				t.Errorf("stderr says the kind twice: %s", r.stderr)
			}
		})
	}
}

func TestE2EIOErrorExitsFive(t *testing.T) {
	dir := e2eProject(t, "")
	r := e2e(t, dir, "", nil, "run", "--policy", filepath.Join(dir, "aegis.toml"), "no-such-script.star")
	if r.code != 5 || !strings.Contains(r.stderr, "no-such-script.star") {
		t.Fatalf("exit %d stderr %s", r.code, r.stderr)
	}
	r = e2e(t, dir, "", nil, "run", "--policy", filepath.Join(dir, "missing.toml"), "task.star")
	if r.code != 5 {
		t.Fatalf("missing policy: exit %d stderr %s", r.code, r.stderr)
	}
}

func TestE2EScriptFileJSONAndApproval(t *testing.T) {
	dir := e2eProject(t, "")
	pol := filepath.Join(dir, "aegis.toml")
	r := e2e(t, dir, "", nil, "run", "--policy", pol, "task.star")
	if r.code != 0 || r.stdout != "hello from a file\n" {
		t.Fatalf("file script: %+v", r)
	}
	r = e2e(t, dir, "print(env.read('E2E_SECRET'))\nfs.read('nope')", e2eEnv, "run", "--json", "--policy", pol, "-")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 2 || res["exit_kind"] != "policy_denied" || res["exit_code"] != float64(2) || res["stdout"] != "[REDACTED]\n" || res["calls"] != float64(2) {
		t.Fatalf("JSON result %v (exit %d)", res, r.code)
	}
	noSecret(t, dir, r)

	os.WriteFile(pol, append([]byte("requires_approval = [\"fs.write\"]\n"), mustRead(t, pol)...), 0o644)
	r = e2e(t, dir, "fs.write('out/a.txt', 'x')", nil, "run", "--policy", pol, "-")
	if r.code != 4 {
		t.Fatalf("without --yes or a terminal: exit %d %s", r.code, r.stderr)
	}
	r = e2e(t, dir, "fs.write('out/a.txt', 'x')", nil, "run", "--yes", "--policy", pol, "-")
	if r.code != 0 || string(mustRead(t, filepath.Join(dir, "out", "a.txt"))) != "x" {
		t.Fatalf("with --yes: exit %d %s", r.code, r.stderr)
	}
}

func TestE2ENoPolicyDeniesEverything(t *testing.T) {
	dir := project(t, map[string]string{"a.txt": "x"})
	r := e2e(t, dir, "print(1 + 1)", nil, "run", "-")
	if r.code != 0 || r.stdout != "2\n" || !strings.Contains(r.stderr, "secure-defaults") {
		t.Fatalf("pure script: %+v", r)
	}
	r = e2e(t, dir, "print(fs.read('a.txt'))", nil, "run", "-")
	if r.code != 3 || !strings.Contains(r.stderr, "read_allow") {
		t.Fatalf("effect without a policy: %+v", r)
	}
}

func TestE2ESinks(t *testing.T) {
	lb := newLoopback(t)
	dir := e2eProject(t, `
[network]
http_get_allow = ["127.0.0.1"]
http_post_allow = ["127.0.0.1"]
`)
	pol := filepath.Join(dir, "aegis.toml")
	mustWrite(t, filepath.Join(dir, "out", ".keep"), "")
	if err := os.Symlink(filepath.Join(dir, "secrets", "token"), filepath.Join(dir, "src", "link")); err != nil {
		t.Fatal(err)
	}
	secretExpr := "env.read('E2E_SECRET')"
	cases := []struct {
		name, script string
		code         int
		stdout       string
	}{
		{"public http get", "print(net.http_get('" + lb.url + "/ok?q=public'))", 0, "pong\n"},
		{"labelled query string", "net.http_get('" + lb.url + "/q?k=' + " + secretExpr + ")", 7, ""},
		{"labelled body", "net.http_post('" + lb.url + "/p', " + secretExpr + "[::-1])", 7, ""},
		{"labelled header", "net.http_get('" + lb.url + "/h', headers={'X-K': " + secretExpr + "})", 7, ""},
		{"request under a secret branch", "if " + secretExpr + ".startswith('sk'):\n    net.http_get('" + lb.url + "/bit')", 7, ""},
		{"redirect not followed", "net.http_get('" + lb.url + "/hop')", 1, ""},
		{"print the secret", "print('k=', " + secretExpr + ")", 0, "k= [REDACTED]\n"},
		{"hex and xor", "s = " + secretExpr + "\nprint(hex.encode(''.join([chr(ord(c) ^ 90) for c in s.elems()])))", 0, "[REDACTED]\n"},
		{"cat of a local-only file (no sandbox)", "print(subprocess.exec(['cat', 'secrets/token']))", 2, ""},
		{"echo of the secret", "subprocess.exec(['echo', " + secretExpr + "])", 7, ""},
		{"cp out of the zone", "subprocess.exec(['cp', 'secrets/token', 'out/token'])", 2, ""},
		{"cp into a read-only tree, then read", "subprocess.exec(['cp', 'secrets/token', 'src/leak'])\nprint(fs.read('src/leak'))", 2, ""},
		{"cp to a new name, then read", "subprocess.exec(['cp', 'secrets/token', 'fresh'])\nprint(subprocess.exec(['cat', 'fresh']))", 2, ""},
		{"write the secret", "fs.write('out/s.txt', " + secretExpr + ")", 7, ""},
		{"zone round trip", "fs.write('zone/k', " + secretExpr + ")\nprint(fs.read('zone/k'))", 0, "[REDACTED]\n"},
		{"symlink to a local-only file", "print(fs.read('src/link'))", 0, "[REDACTED]\n"},
		{"fail with the secret", "fail(" + secretExpr + ")", 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(lb.requests())
			r := e2e(t, dir, tc.script, e2eEnv, "run", "--policy", pol, "-")
			noSecret(t, dir, r)
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Fatalf("exit %d stdout %q, want %d %q\nstderr: %s", r.code, r.stdout, tc.code, tc.stdout, r.stderr)
			}
			for _, req := range lb.requests()[before:] {
				if tc.code == 7 {
					t.Fatalf("a request left despite the flow error: %s", req)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "s.txt")); err == nil {
				t.Fatal("the secret was written to a public file")
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "token")); err == nil {
				t.Fatal("the secret was copied to a public file")
			}
		})
	}
	if got := lb.requests(); len(got) != 2 || got[0] != "GET /ok?q=public " || got[1] != "GET /hop " {
		t.Fatalf("server saw %q", got)
	}
}

func TestE2ELimits(t *testing.T) {
	cases := []struct {
		name, runtime, script string
		stdoutPrefix          string
	}{
		{"huge output", "max_output_bytes = 1000", "for i in range(100000):\n    print('x' * 50)", strings.Repeat("x", 50) + "\n"},
		{"cpu loop", "max_seconds = 1", "def spin():\n    n = 0\n    while True:\n        n += 1\nspin()", ""},
		{"huge string", "max_memory_mb = 64", "s = 'a' * 10000000000\nprint(len(s))", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := e2eProject(t, "[runtime]\n"+tc.runtime+"\n")
			r := e2e(t, dir, tc.script, nil, "run", "--policy", filepath.Join(dir, "aegis.toml"), "-")
			if r.code != 6 || !strings.HasPrefix(r.stdout, tc.stdoutPrefix) || !strings.Contains(r.stderr, "runtime limit") {
				t.Fatalf("exit %d stdout %.100q stderr %s", r.code, r.stdout, r.stderr)
			}
			if len(r.stdout) > 1000 {
				t.Fatalf("output past the limit: %d bytes", len(r.stdout))
			}
		})
	}
}

func TestE2EAuditVerify(t *testing.T) {
	dir := e2eProject(t, "")
	pol := filepath.Join(dir, "aegis.toml")
	for i := 0; i < 3; i++ {
		if r := e2e(t, dir, "fs.read('src/a.txt')\nenv.read('E2E_SECRET')", e2eEnv, "run", "--policy", pol, "-"); r.code != 0 {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	log := filepath.Join(dir, ".aegis", "audit.jsonl")
	r := e2e(t, dir, "", nil, "audit", "verify", log)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: 6 records, last seq 6") {
		t.Fatalf("verify: %+v", r)
	}
	r = e2e(t, dir, "", nil, "audit", "verify", "--min-seq", "6", "--json", log)
	var rep map[string]any
	if json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || rep["ok"] != true || rep["last_seq"] != float64(6) {
		t.Fatalf("verify --json: %+v", r)
	}
	// Truncation is seen only with --min-seq.
	data := mustRead(t, log)
	lines := bytes.SplitAfter(data, []byte("\n"))
	mustWrite(t, log, string(bytes.Join(lines[:4], nil)))
	if r := e2e(t, dir, "", nil, "audit", "verify", log); r.code != 0 {
		t.Fatalf("truncated without --min-seq: %+v", r)
	}
	if r := e2e(t, dir, "", nil, "audit", "verify", "--min-seq", "6", log); r.code != 1 || !strings.Contains(r.stdout, "truncated") {
		t.Fatalf("truncated with --min-seq: %+v", r)
	}
	// An edit.
	edited := bytes.Replace(data, []byte(`"status":"allowed"`), []byte(`"status":"denied"`), 1)
	mustWrite(t, log, string(edited))
	if r := e2e(t, dir, "", nil, "audit", "verify", log); r.code != 1 || !strings.Contains(r.stdout, "edited") {
		t.Fatalf("edited: %+v", r)
	}
	// A removal.
	mustWrite(t, log, string(bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), nil)))
	if r := e2e(t, dir, "", nil, "audit", "verify", log); r.code != 1 || !strings.Contains(r.stdout, "seq jumps") {
		t.Fatalf("removed: %+v", r)
	}
	if r := e2e(t, dir, "", nil, "audit", "verify", filepath.Join(dir, "nope.jsonl")); r.code != 5 {
		t.Fatalf("missing log: %+v", r)
	}
}

func TestRunAndAuditCommandsTeach(t *testing.T) {
	for _, c := range []*cobra.Command{newRunCmd(), newAuditCmd(), newAuditVerifyCmd(), newAuditShowCmd(), newAuditTailCmd(),
		newDoctorCmd(), newVersionCmd(), newCompletionCmd(), newProbeCmd(), newAuditResetBudgetCmd()} {
		if c.Short == "" || strings.Contains(c.Short, "\n") || len(c.Short) > 90 {
			t.Errorf("%s: Short must be one line: %q", c.Name(), c.Short)
		}
		if len(c.Long) < 100 || !strings.Contains(c.Example, "aegis ") {
			t.Errorf("%s: Long or Example missing", c.Name())
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A command handed a directory reads what is inside it: a directory that
// holds local-only files (or the audit log) must not hand them over
// unlabelled. Either the policy refuses, or the output is labelled.
func TestE2EDirectoryArgumentsDoNotLaunder(t *testing.T) {
	dir := project(t, map[string]string{
		"aegis.toml": `
[filesystem]
read_allow = ["data", "data/**"]
local_only_read = ["data/private/**"]
write_allow = ["out/**"]

[subprocess]
allow_commands = ["grep", "cp", "cat", "ls"]
`,
		"data/public.txt":  "public line\n",
		"data/private/key": e2eSecret + "\n",
		"out/.keep":        "",
	})
	pol := filepath.Join(dir, "aegis.toml")
	for _, script := range []string{
		`print(subprocess.exec(["grep", "-r", "", "data"]))`,
		`print(subprocess.exec(["grep", "-r", "", "data/private/.."]))`,
		`subprocess.exec(["cp", "-r", "data", "out/copy"])
print(subprocess.exec(["cat", "out/copy/private/key"]))`,
	} {
		r := e2e(t, dir, script, nil, "run", "--policy", pol, "-")
		noSecret(t, dir, r)
		if r.code == 0 && !strings.Contains(r.stdout, "[REDACTED]") {
			t.Fatalf("%s: exit 0 with unlabelled output %q", script, r.stdout)
		}
	}
}

// The examples of the new read-only commands run as written in a project
// made by init (tail -f and probe are left out: one waits, one takes minutes).
func TestNewCommandExamplesRun(t *testing.T) {
	dir := project(t, map[string]string{"go.mod": "module x\n", "task.star": "print('x')\n"})
	t.Setenv("HOME", t.TempDir())
	if code, _, errOut := aegis(t, dir, "init", "--lang", "go"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := aegis(t, dir, "run", "task.star"); code != 0 {
		t.Fatal(errOut)
	}
	for _, c := range []*cobra.Command{newAuditShowCmd(), newAuditTailCmd(), newAuditVerifyCmd(), newVersionCmd(), newCompletionCmd(), newDoctorCmd()} {
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "aegis ") || strings.Contains(line, " -f") {
				continue
			}
			line, _, _ = strings.Cut(line, ">") // the shell's redirection is not aegis's
			args := strings.Fields(line)[1:]
			for i, a := range args {
				if a == ".aegis/audit.jsonl" {
					args[i] = filepath.Join(dir, a)
				}
			}
			code, out, errOut := aegis(t, dir, args...)
			// doctor exits 1 when a check fails (here: no aegis-mcp built next to the test binary).
			if code != 0 && !(c.Name() == "doctor" && code == exitCheckFailed) && !(c.Name() == "verify" && strings.Contains(line, "--min-seq")) {
				t.Errorf("%s: exit %d\n%s\n%s", line, code, out, errOut)
			}
		}
	}
}

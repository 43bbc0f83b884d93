package examples

// The agent-task corpus (examples/tasks/): realistic tasks an agent runs on a
// small Python project with a local-only vault, a public API and a
// local-only API. Each task declares in its header what the person asking
// should see:
//
//	# task: the question, as an agent would be asked it
//	# kind: public | local-only use | secret-dependent question | teaching error
//	# expect: exit N
//	# expect-b: exit N, with the second fixture secret, where the ending
//	#   depends on the secret (a charged ending: the termination channel)
//	#   go run ./cmd/aegis run --policy examples/tasks/aegis.toml examples/tasks/NN-name.star
//	# stdout: an expected line (all of them, in order)
//	# stdout-b: the expected line with the second fixture secret, where the
//	#   answer legitimately depends on it (a declassified release)
//	# error: a substring the error message must contain
//	# file: path = content (\n for newlines): a public file the task writes
//	# transcript: an expected line of the local-only transcript (the text
//	#   of its print and error records, in order); the task then runs with
//	#   [runtime].transcript = "vault-out/transcript.jsonl"
//	# transcript-b: the same with the second fixture secret
//
// Every task runs twice, with two different fixture secrets. Unless it
// declares stdout-b lines, both runs must print exactly the same and end
// with the same message; no run may show a fixture secret anywhere public.

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

var tasksTable = flag.String("tasks.table", "", "write the task results as a markdown table to this file")

// taskSpec is a task's header.
type taskSpec struct {
	file, task, kind string
	exit, exitB      int
	stdout, stdoutB  []string
	errs             []string
	files            map[string]string
	// transcript, transcriptB: the expected transcript lines; a task that
	// declares any runs with a transcript configured.
	transcript, transcriptB []string
	withTranscript          bool
}

func parseTask(name, src string) (taskSpec, error) {
	t := taskSpec{file: name, exit: -1, exitB: -1, files: map[string]string{}}
	hasB, hasTB := false, false
	for _, line := range strings.Split(src, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		key, val, ok := strings.Cut(body, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "task":
			t.task = val
		case "kind":
			t.kind = val
		case "expect", "expect-b":
			f := strings.Fields(val)
			if len(f) < 2 || f[0] != "exit" {
				return t, fmt.Errorf("bad expect line %q", line)
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return t, fmt.Errorf("bad exit code in %q", line)
			}
			if strings.TrimSpace(key) == "expect" {
				t.exit = n
			} else {
				t.exitB = n
			}
		case "stdout":
			t.stdout = append(t.stdout, val)
		case "stdout-b":
			hasB = true
			t.stdoutB = append(t.stdoutB, val)
		case "error":
			t.errs = append(t.errs, val)
		case "transcript":
			t.withTranscript = true
			t.transcript = append(t.transcript, val)
		case "transcript-b":
			t.withTranscript, hasTB = true, true
			t.transcriptB = append(t.transcriptB, val)
		case "file":
			path, content, ok := strings.Cut(val, " = ")
			if !ok {
				return t, fmt.Errorf("bad file line %q", line)
			}
			t.files[path] = strings.ReplaceAll(content, `\n`, "\n")
		}
	}
	if !hasB {
		t.stdoutB = t.stdout
	}
	if !hasTB {
		t.transcriptB = t.transcript
	}
	if t.exitB < 0 {
		t.exitB = t.exit
	}
	switch {
	case t.task == "":
		return t, fmt.Errorf("no '# task:' line")
	case t.exit < 0:
		return t, fmt.Errorf("no '# expect: exit N' line")
	case t.kind != "public" && t.kind != "local-only use" && t.kind != "secret-dependent question" && t.kind != "teaching error":
		return t, fmt.Errorf("unknown kind %q", t.kind)
	}
	return t, nil
}

// taskSecrets is one fixture: the local-only variable and the vault files.
type taskSecrets struct {
	token string
	vault map[string]string
}

var taskFixtures = [2]taskSecrets{
	{token: "live-9f8e7d6c5b4a3f2e", vault: map[string]string{
		"api_key.txt": "sk-live-51HxQa9ZkT0p\n",
		"keys.json":   `{"k1": "key-one-8d7f", "k2": "key-two-1b2c", "k3": "key-three-9e0a"}`,
		"config.json": `{"debug": true, "db_password": "hunter2-prod-77", "pool": 8}`,
		"app.log":     "INFO start\nERROR db timeout\nINFO retry\nERROR db timeout\nERROR disk full\nINFO done\n",
	}},
	{token: "test-00aa11bb", vault: map[string]string{
		"api_key.txt": "sk-test-0000ffff\n",
		"keys.json":   `{"k1": "alt-one-0000", "k2": "alt-two-1111", "k3": "alt-three-2222"}`,
		"config.json": `{"debug": false, "pool": 2}`,
		"app.log":     "INFO start\nERROR x\nINFO done\n",
	}},
}

// secretsOf lists the fixture's secret strings, to search public output for.
func (s taskSecrets) secretsOf() []string {
	out := []string{s.token}
	for _, v := range s.vault {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune("\"{}:, \n", r) }) {
			if len(f) >= 8 && f != "db_password" && f != "timeout" {
				out = append(out, f)
			}
		}
	}
	return out
}

// taskServers starts the public API on 127.0.0.1 and the local-only vault
// API on 127.0.0.2.
func taskServers(t *testing.T, token func() string) (public, vault string) {
	t.Helper()
	serve := func(addr string, h http.HandlerFunc) string {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen %s: %v", addr, err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return "http://" + ln.Addr().String()
	}
	public = serve("127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status":
			fmt.Fprint(w, `{"state": "up", "version": "2.1"}`)
		case "/metrics":
			fmt.Fprint(w, `{"result": "accepted"}`)
		default:
			http.NotFound(w, r)
		}
	})
	vault = serve("127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token() && r.URL.Path != "/rotate" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": "bad token"}`)
			return
		}
		fmt.Fprint(w, `{"total": 1234, "currency": "EUR"}`)
	})
	return public, vault
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			if info.Name() == ".aegis" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type taskOutcome struct {
	res        runner.Result
	files      map[string]string
	transcript []string // print and error texts of the local-only transcript
}

// transcriptKey is what a task with transcript lines adds to the corpus
// policy's [runtime] table.
const transcriptKey = `transcript = "vault-out/transcript.jsonl"`

// withTranscript configures the transcript in the copied policy file.
func withTranscript(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.Contains(s, "\n[runtime]\n") {
		t.Fatalf("%s has no [runtime] table to add the transcript to", path)
	}
	s = strings.Replace(s, "\n[runtime]\n", "\n[runtime]\n"+transcriptKey+"\n", 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// transcriptLines reads the transcript back as the person at the machine
// does (aegis transcript): the text of every print and error record.
func transcriptLines(t *testing.T, pol *policy.Policy) []string {
	t.Helper()
	runs, bad, err := runner.ReadTranscript(pol.Transcript(), 0)
	if err != nil || bad != 0 {
		t.Fatalf("reading the transcript: %v (%d unreadable lines)", err, bad)
	}
	var out []string
	for _, run := range runs {
		for _, r := range run.Lines {
			out = append(out, r.Text)
		}
	}
	return out
}

func TestAgentTasks(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "examples", "tasks")
	names, err := filepath.Glob(filepath.Join(dir, "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 30 {
		t.Errorf("found %d tasks, want at least 30", len(names))
	}
	sort.Strings(names)
	var current *taskSecrets
	public, vault := taskServers(t, func() string { return current.token })

	type row struct {
		spec taskSpec
		ok   bool
		note string
	}
	var rows []row
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := parseTask(filepath.Base(name), string(src))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		var outs [2]taskOutcome
		for i := range taskFixtures {
			fx := taskFixtures[i]
			current = &fx
			work := t.TempDir()
			copyTree(t, dir, work)
			if err := os.MkdirAll(filepath.Join(work, "project", "vault"), 0o755); err != nil {
				t.Fatal(err)
			}
			for f, content := range fx.vault {
				if err := os.WriteFile(filepath.Join(work, "project", "vault", f), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if spec.withTranscript {
				withTranscript(t, filepath.Join(work, "aegis.toml"))
			}
			pol, err := policy.Load(filepath.Join(work, "aegis.toml"))
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			res := runner.Run(context.Background(), runner.Options{
				Policy:  pol,
				Environ: []string{"PATH=" + os.Getenv("PATH"), "API_TOKEN=" + fx.token, "TASK_ENV=ci"},
			}, runner.Request{Script: src, Filename: spec.file, Inputs: map[string]string{"PUBLIC_API": public, "VAULT_API": vault}})
			files := map[string]string{}
			filepath.Walk(filepath.Join(work, "out"), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					data, _ := os.ReadFile(p)
					rel, _ := filepath.Rel(work, p)
					files[filepath.ToSlash(rel)] = string(data)
				}
				return nil
			})
			outs[i] = taskOutcome{res: res, files: files}
			if spec.withTranscript {
				outs[i].transcript = transcriptLines(t, pol)
			}
		}
		var problems []string
		for i, o := range outs {
			want, exit := spec.stdout, spec.exit
			if i == 1 {
				want, exit = spec.stdoutB, spec.exitB
			}
			if o.res.ExitCode != exit {
				problems = append(problems, fmt.Sprintf("secret %d: exit %d (%s), want %d: %s", i+1, o.res.ExitCode, o.res.ExitKind, exit, o.res.Error))
			}
			if got := strings.TrimRight(o.res.Stdout, "\n"); got != strings.Join(want, "\n") {
				problems = append(problems, fmt.Sprintf("secret %d: stdout\n%s\nwant\n%s", i+1, got, strings.Join(want, "\n")))
			}
			for _, e := range spec.errs {
				if o.res.ExitCode != 0 && !strings.Contains(o.res.Error, e) {
					problems = append(problems, fmt.Sprintf("secret %d: the error lacks %q: %s", i+1, e, o.res.Error))
				}
			}
			wantT := spec.transcript
			if i == 1 {
				wantT = spec.transcriptB
			}
			if spec.withTranscript && strings.Join(o.transcript, "\n") != strings.Join(wantT, "\n") {
				problems = append(problems, fmt.Sprintf("secret %d: transcript\n%s\nwant\n%s", i+1, strings.Join(o.transcript, "\n"), strings.Join(wantT, "\n")))
			}
			for path, content := range spec.files {
				if o.files[path] != content {
					problems = append(problems, fmt.Sprintf("secret %d: %s = %q, want %q", i+1, path, o.files[path], content))
				}
			}
			public := o.res.Stdout + o.res.Error
			for _, c := range o.files {
				public += c
			}
			for _, fx := range taskFixtures {
				for _, s := range fx.secretsOf() {
					if strings.Contains(public, s) {
						problems = append(problems, fmt.Sprintf("secret %d: LEAK of %q", i+1, s))
					}
				}
			}
		}
		// Noninterference: the two runs agree, unless the task declares a
		// release that depends on the secret, or every run that stopped was
		// charged (the termination channel, which the budget pays for).
		charged := func(o taskOutcome) bool { return o.res.ExitCode == 0 || o.res.Charged != nil }
		differ := outs[0].res.Stdout != outs[1].res.Stdout || outs[0].res.Error != outs[1].res.Error
		if differ && !hasStdoutB(spec) && !(charged(outs[0]) && charged(outs[1]) && spec.exit != spec.exitB) {
			problems = append(problems, fmt.Sprintf("LEAK: the output differs between the two secrets:\n%q\n%q", outs[0].res.Stdout+outs[0].res.Error, outs[1].res.Stdout+outs[1].res.Error))
		}
		for _, p := range problems {
			t.Errorf("%s: %s", spec.file, p)
		}
		note := "as expected"
		if len(problems) > 0 {
			note = strings.SplitN(problems[0], "\n", 2)[0]
		}
		rows = append(rows, row{spec: spec, ok: len(problems) == 0, note: note})
	}
	if *tasksTable != "" {
		var b strings.Builder
		b.WriteString("| task | kind | question | exit | result |\n|---|---|---|---|---|\n")
		for _, r := range rows {
			res := "pass"
			if !r.ok {
				res = "FAIL: " + r.note
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s |\n", strings.TrimSuffix(r.spec.file, ".star"), r.spec.kind, r.spec.task, r.spec.exit, res)
		}
		if err := os.WriteFile(*tasksTable, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func hasStdoutB(s taskSpec) bool {
	return strings.Join(s.stdout, "\n") != strings.Join(s.stdoutB, "\n")
}

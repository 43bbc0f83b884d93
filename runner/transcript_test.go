package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
)

const transcriptPolicy = basePolicy + `transcript = "zone/transcript.jsonl"
`

const otherSecret = "pk-other-secret-value-42"

// withSecret runs with RUN_SECRET set to s.
func withSecret(s string) func(*Options, *Request) {
	return func(o *Options, _ *Request) {
		env := append([]string(nil), o.Environ...)
		for i, kv := range env {
			if strings.HasPrefix(kv, "RUN_SECRET=") {
				env[i] = "RUN_SECRET=" + s
			}
		}
		o.Environ = env
	}
}

// readRuns reads the project's transcript.
func readRuns(t *testing.T, p *project) []TranscriptRun {
	t.Helper()
	runs, skipped, err := ReadTranscript(filepath.Join(p.root, "zone", "transcript.jsonl"), 0)
	if err != nil || skipped != 0 {
		t.Fatalf("read transcript: %v (%d skipped)", err, skipped)
	}
	return runs
}

func texts(recs []TranscriptRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Kind+" "+r.Text)
	}
	return out
}

// With a transcript, a print under a condition on local-only data goes to
// the transcript only: the run finishes, and everything public about it
// (stdout, the error, the calls) is the same for two secrets, while the
// transcript holds the real lines of each.
func TestTranscriptTakesPrintsUnderALabelledPC(t *testing.T) {
	p := newProject(t, transcriptPolicy, map[string]string{"src/a.txt": "alpha\n"})
	script := `print("start")
s = env.read("RUN_SECRET")
print("secret:", s)
if s.startswith("sk-"):
    print("a live key:", s[:6])
else:
    print("not a live key")
for c in s.elems():
    if c == "-":
        print("dash")
print("done")
`
	a := p.run(script)
	b := p.run(script, withSecret(otherSecret))
	want(t, a, OK)
	want(t, b, OK)
	if a.Stdout != b.Stdout || a.Error != b.Error || a.Calls != b.Calls || a.ExitKind != b.ExitKind {
		t.Fatalf("public output depends on the secret:\n%+v\n%+v", a, b)
	}
	if a.Stdout != "start\nsecret: [REDACTED]\ndone\n"+TranscriptNote {
		t.Errorf("stdout %q", a.Stdout)
	}
	if strings.Contains(b.Stdout, otherSecret) || strings.Contains(b.Stdout, "pk-oth") {
		t.Errorf("the second secret leaked: %q", b.Stdout)
	}
	runs := readRuns(t, p)
	if len(runs) != 2 {
		t.Fatalf("%d runs in the transcript", len(runs))
	}
	wantA := []string{"print secret: " + secretValue, "print a live key: sk-run", "print dash", "print dash", "print dash", "print done"}
	wantB := []string{"print secret: " + otherSecret, "print not a live key", "print dash", "print dash", "print dash", "print dash", "print done"}
	if got := texts(runs[0].Lines); !reflect.DeepEqual(got, wantA) {
		t.Errorf("transcript of the first run %q, want %q", got, wantA)
	}
	if got := texts(runs[1].Lines); !reflect.DeepEqual(got, wantB) {
		t.Errorf("transcript of the second run %q, want %q", got, wantB)
	}
	h := runs[0].TranscriptRecord
	if h.Task != "t1" || h.Script != "task.star" || h.Time.IsZero() || runs[0].Lines[1].Pos != "task.star:5:10" {
		t.Errorf("header %+v, first line %+v", h, runs[0].Lines[1])
	}
}

// Without a transcript, the same print is a flow error (charged).
func TestWithoutATranscriptAPrintUnderALabelledPCStops(t *testing.T) {
	p := newProject(t, basePolicy, map[string]string{})
	res := p.run("s = env.read('RUN_SECRET')\nif s.startswith('sk-'):\n    print('x')\n")
	want(t, res, FlowDenied)
	if res.Charged == nil {
		t.Error("not charged")
	}
	if strings.Contains(res.Stdout, "transcript") {
		t.Errorf("a note without a transcript: %q", res.Stdout)
	}
}

// An ending decided by local-only data keeps its real message in the
// transcript, and nothing of it in the result.
func TestTranscriptTakesTheRealEndingOfAChargedRun(t *testing.T) {
	p := newProject(t, transcriptPolicy, map[string]string{})
	res := p.run(`print("before")
s = env.read("RUN_SECRET")
print("after")
fail("the key was " + s)
`)
	want(t, res, ScriptError, "withheld")
	if res.Charged == nil {
		t.Fatal("not charged")
	}
	if res.Stdout != "before\n"+TranscriptNote {
		t.Errorf("stdout %q", res.Stdout)
	}
	runs := readRuns(t, p)
	lines := runs[len(runs)-1].Lines
	if len(lines) != 2 || lines[0].Text != "after" || lines[1].Kind != TranscriptError ||
		!strings.Contains(lines[1].Text, "the key was "+secretValue) || !strings.Contains(lines[1].Text, "task.star:4") {
		t.Errorf("transcript %+v", lines)
	}
}

// The note and the file depend on public facts only: a run that read no
// local-only data writes nothing and gets no note; the file exists from the
// first run with a transcript on, whatever the data.
func TestTranscriptNoteAndFileArePublic(t *testing.T) {
	p := newProject(t, transcriptPolicy, map[string]string{"src/a.txt": "alpha\n"})
	path := filepath.Join(p.root, "zone", "transcript.jsonl")
	res := p.run(`print(fs.read("src/a.txt"))`)
	want(t, res, OK)
	if res.Stdout != "alpha\n\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the transcript should exist, empty, private: %v %v", fi, err)
	}
	// A run that reads and prints nothing after: the header, and the note.
	res = p.run(`x = len(env.read("RUN_SECRET"))`)
	want(t, res, OK)
	if res.Stdout != TranscriptNote {
		t.Errorf("stdout %q", res.Stdout)
	}
	if runs := readRuns(t, p); len(runs) != 1 || len(runs[0].Lines) != 0 {
		t.Errorf("runs %+v", runs)
	}
}

// The transcript is inside the zone: a script that reads it gets labelled
// data, which it can neither print nor send out.
func TestTranscriptIsLabelledForScripts(t *testing.T) {
	p := newProject(t, transcriptPolicy, map[string]string{})
	want(t, p.run(`print(env.read("RUN_SECRET"))`), OK)
	res := p.run(`t = fs.read("zone/transcript.jsonl")
print(t)
print(len(t) > 0)
`)
	want(t, res, OK)
	if !strings.HasPrefix(res.Stdout, "[REDACTED]\n[REDACTED]\n") {
		t.Errorf("the transcript read back public: %q", res.Stdout)
	}
	res = p.run(`fs.write("out/copy", fs.read("zone/transcript.jsonl"))`)
	want(t, res, FlowDenied)
	if _, err := os.Stat(filepath.Join(p.root, "out", "copy")); err == nil {
		t.Error("the transcript was copied out of the zone")
	}
}

// Lines past [runtime].max_output_bytes stop the run as a limit, charged
// after a local-only read.
func TestTranscriptIsBounded(t *testing.T) {
	p := newProject(t, strings.Replace(transcriptPolicy, "max_seconds = 20\n", "max_seconds = 20\nmax_output_bytes = 1000\n", 1), map[string]string{})
	res := p.run(`s = env.read("RUN_SECRET")
for i in range(100):
    if s:
        print("line", i, s)
`)
	want(t, res, Limit)
	if res.Charged == nil {
		t.Error("a limit after a local-only read was not charged")
	}
	runs := readRuns(t, p)
	lines := runs[len(runs)-1].Lines
	size := 0
	for _, l := range lines[:len(lines)-1] {
		size += len(l.Text) + len(l.Pos)
	}
	if size > 1000 || lines[len(lines)-1].Kind != TranscriptError || !strings.Contains(lines[len(lines)-1].Text, "max_output_bytes") {
		t.Errorf("%d bytes of lines, last %+v", size, lines[len(lines)-1])
	}
}

// transcriptFailures counts the audit records of a transcript not written.
func transcriptFailures(res Result) int {
	n := 0
	for _, ev := range res.Events {
		if ev.Kind == audit.KindTranscript && ev.Status == audit.Errored {
			n++
		}
	}
	return n
}

// A symlink put in the zone after the policy was loaded does not send
// local-only lines out of it. The run goes on as it would have (the zone's
// state is not public: TestTranscriptFailureIsNotPublic); the audit log
// tells the operator, at the start and at the flush.
func TestTranscriptFollowsNoSymlinkOutOfTheZone(t *testing.T) {
	p := newProject(t, transcriptPolicy, map[string]string{"out/.keep": ""})
	path := filepath.Join(p.root, "zone", "transcript.jsonl")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(p.root, "out", "stolen"), path); err != nil {
		t.Fatal(err)
	}
	res := p.run(`print(env.read("RUN_SECRET"))`)
	want(t, res, OK)
	if n := transcriptFailures(res); n != 2 {
		t.Errorf("%d transcript failures in the audit log, want 2", n)
	}
	if _, err := os.Lstat(filepath.Join(p.root, "out", "stolen")); err == nil {
		t.Error("the transcript was written through a symlink")
	}
	// The zone directory itself replaced by a link to a public one.
	os.Remove(path)
	os.Remove(filepath.Dir(path))
	if err := os.Symlink(filepath.Join(p.root, "out"), filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	res = p.run(`print(env.read("RUN_SECRET"))`)
	want(t, res, OK)
	if n := transcriptFailures(res); n != 2 {
		t.Errorf("%d transcript failures in the audit log, want 2", n)
	}
	if _, err := os.Lstat(filepath.Join(p.root, "out", "transcript.jsonl")); err == nil {
		t.Error("the transcript was written out of the zone")
	}
}

// ReadTranscript skips what is not a record (scripts may write the file
// too) and keeps the last runs with tail.
func TestReadTranscript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.jsonl")
	data := `garbage
{"kind":"print","text":"orphan"}
{"kind":"run","task":"a"}
{"kind":"print","pos":"x.star:1:1","text":"one"}
{"kind":"bogus"}
{"kind":"run","task":"b"}
{"kind":"error","text":"boom"}
{"kind":"run","task":"c"}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	runs, skipped, err := ReadTranscript(path, 0)
	if err != nil || skipped != 3 || len(runs) != 3 || runs[0].Lines[0].Text != "one" || runs[1].Lines[0].Kind != TranscriptError || len(runs[2].Lines) != 0 {
		t.Errorf("runs %+v skipped %d err %v", runs, skipped, err)
	}
	runs, _, _ = ReadTranscript(path, 2)
	if len(runs) != 2 || runs[0].Task != "b" {
		t.Errorf("tail: %+v", runs)
	}
	runs, skipped, err = ReadTranscript(filepath.Join(dir, "none"), 0)
	if runs != nil || skipped != 0 || err != nil {
		t.Errorf("missing file: %v %d %v", runs, skipped, err)
	}
}

// Whether the transcript can be written is the zone's state, which a script
// with delete_allow there can change under a condition on local-only data
// (the file replaced by a directory): nothing public may tell. Neither the
// run that did it (no warning) nor the next one (no error at its start)
// differs; the operator learns of the failure from the audit log.
func TestTranscriptFailureIsNotPublic(t *testing.T) {
	pol := strings.Replace(transcriptPolicy, `write_allow = ["out/**", "zone/**"]`,
		"write_allow = [\"out/**\", \"zone/**\"]\ndelete_allow = [\"zone/**\"]", 1)
	script := `s = env.read("RUN_SECRET")
if s.startswith("sk-"):
    fs.delete("zone/transcript.jsonl")
    fs.write("zone/transcript.jsonl/x", "1")
print("done")
`
	public := func(res Result) string {
		return fmt.Sprintf("%s %q %q %d %q", res.ExitKind, res.Stdout, res.Error, res.Calls, res.Warnings)
	}
	var seen [2][2]string
	var failures [2]int
	for i, secret := range []string{secretValue, otherSecret} {
		p := newProject(t, pol, map[string]string{"src/a.txt": "alpha\n"})
		for j, src := range []string{script, `print(fs.read("src/a.txt"))`} {
			res := p.run(src, withSecret(secret))
			seen[i][j] = public(res)
			failures[i] += transcriptFailures(res)
		}
	}
	if seen[0] != seen[1] {
		t.Errorf("what is public depends on the secret:\n %q\n %q", seen[0], seen[1])
	}
	if failures != [2]int{2, 0} {
		t.Errorf("transcript failures recorded in the audit log: %v, want [2 0] (the end of the first run, the start of the next)", failures)
	}
}

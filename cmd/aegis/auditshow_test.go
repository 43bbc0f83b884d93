package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisdev/aegis/audit"
)

// auditFixture writes a log with known records: two tasks, three kinds, a
// target with a terminal escape, at known times.
func auditFixture(t *testing.T) (dir, log string, base time.Time) {
	t.Helper()
	dir = project(t, map[string]string{"aegis.toml": samplePolicy})
	log = filepath.Join(dir, ".aegis", "audit.jsonl")
	l, err := audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	base = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	for _, ev := range []audit.Event{
		{Time: base, TaskID: "t1", Kind: audit.KindCall, Capability: "fs.read", Status: audit.Allowed, Target: "src/a.go", Rule: "src/**", Section: "[filesystem].read_allow"},
		{Time: base.Add(time.Hour), TaskID: "t1", Kind: audit.KindCall, Capability: "fs.delete", Status: audit.Denied, Target: "out/x\x1b[2Jy", Reason: "no rule\x1b]0;t\x07"},
		{Time: base.Add(2 * time.Hour), TaskID: "t2", Kind: audit.KindFlow, Capability: "print", Status: audit.Denied, Labels: []string{"env:KEY"}},
		{Time: base.Add(150 * time.Minute), TaskID: "t2", Kind: audit.KindSecretAbort, Status: audit.Errored, Labels: []string{"env:KEY"}},
	} {
		if err := l.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log, base
}

func TestAuditShowFilters(t *testing.T) {
	dir, log, base := auditFixture(t)
	t.Setenv("HOME", t.TempDir())
	for _, c := range []struct {
		args []string
		seqs []string
	}{
		{nil, []string{"#1 ", "#2 ", "#3 ", "#4 "}},
		{[]string{"--task", "t2"}, []string{"#3 ", "#4 "}},
		{[]string{"--kind", "flow,secret_abort"}, []string{"#3 ", "#4 "}},
		{[]string{"--kind", "call", "--status", "denied"}, []string{"#2 "}},
		{[]string{"--since", "90m"}, []string{"#3 ", "#4 "}},
		{[]string{"--since", base.Add(time.Hour).Format(time.RFC3339), "--until", base.Add(2 * time.Hour).Format(time.RFC3339)}, []string{"#2 "}},
		{[]string{"--status", "allowed", log}, []string{"#1 "}},
	} {
		args := append([]string{"audit", "show"}, c.args...)
		code, out, errOut := aegis(t, dir, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", c.args, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(c.seqs) {
			t.Errorf("%v: %d records, want %d:\n%s", c.args, len(lines), len(c.seqs), out)
			continue
		}
		for i, s := range c.seqs {
			if !strings.Contains(lines[i], s) {
				t.Errorf("%v: line %d is %q, want record %s", c.args, i, lines[i], s)
			}
		}
	}
	// The default log is the policy's, and stderr says so.
	if _, _, errOut := aegis(t, dir, "audit", "show"); !strings.Contains(errOut, "reading the policy's audit log "+log) {
		t.Errorf("stderr: %s", errOut)
	}
}

// What a script chose (a target, a reason) reaches the terminal escaped.
func TestAuditShowEscapesTargets(t *testing.T) {
	dir, _, _ := auditFixture(t)
	t.Setenv("HOME", t.TempDir())
	_, out, _ := aegis(t, dir, "audit", "show", "--status", "denied", "--kind", "call")
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("raw escapes in the listing: %q", out)
	}
	if !strings.Contains(out, `fs.delete "out/x\x1b[2Jy"`) || !strings.Contains(out, `(no rule\x1b]0;t\a)`) || !strings.Contains(out, "task=t1") {
		t.Errorf("listing: %s", out)
	}
}

func TestAuditShowJSONAndTail(t *testing.T) {
	dir, log, _ := auditFixture(t)
	t.Setenv("HOME", t.TempDir())
	_, out, _ := aegis(t, dir, "audit", "show", "--json", "--task", "t1")
	var listing struct {
		OK      bool              `json:"ok"`
		Log     string            `json:"log"`
		Records []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &listing); err != nil || !listing.OK || listing.Log != log || len(listing.Records) != 2 {
		t.Fatalf("show --json: %v %s", err, out)
	}
	// Records are the stored ones: compacted, they are the log's lines and
	// verify as a chain prefix.
	var raw bytes.Buffer
	for _, r := range listing.Records {
		if err := json.Compact(&raw, r); err != nil {
			t.Fatal(err)
		}
		raw.WriteByte('\n')
	}
	if rep, err := audit.VerifyReader(&raw, 0); err != nil || !rep.OK() {
		t.Errorf("the records were altered: %+v %v", rep, err)
	}
	_, out, _ = aegis(t, dir, "audit", "tail", "-n", "2")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[0], "#3 ") || !strings.Contains(lines[1], "#4 ") {
		t.Errorf("tail -n 2:\n%s", out)
	}
	if code, _, errOut := aegis(t, dir, "audit", "tail", "-n", "0"); code != exitConfig || !strings.Contains(errOut, "-n 0") {
		t.Errorf("tail -n 0: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, dir, "audit", "show", "--since", "yesterday"); code != exitConfig || !strings.Contains(errOut, "neither a duration") {
		t.Errorf("bad --since: %d %s", code, errOut)
	}
}

func TestAuditShowSkipsWhatIsNotARecord(t *testing.T) {
	dir, log, _ := auditFixture(t)
	t.Setenv("HOME", t.TempDir())
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not json\n" + strings.Repeat("x", maxRecordLine+10) + "\n")
	f.Close()
	code, out, errOut := aegis(t, dir, "audit", "show")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(errOut, "2 line(s)") || !strings.Contains(errOut, "line 5 first") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// tail -f prints new records as they are appended, and starts over when
// the log is moved aside.
func TestAuditFollow(t *testing.T) {
	_, log, _ := auditFixture(t)
	var mu sync.Mutex
	var out, errOut bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- followLog(ctx, log, &auditFilter{kinds: []string{audit.KindCall}}, 1, w, &errOut, 10*time.Millisecond)
	}()
	waitFor := func(want string) {
		t.Helper()
		for i := 0; i < 500; i++ {
			mu.Lock()
			s := out.String()
			mu.Unlock()
			if strings.Contains(s, want) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("never printed %q:\n%s", want, out.String())
	}
	waitFor("#2 ")
	l, err := audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(audit.Event{Kind: audit.KindCall, Capability: "env.read", Status: audit.Allowed, Target: "HOME"})
	l.Append(audit.Event{Kind: audit.KindFlow, Capability: "print", Status: audit.Denied}) // filtered out
	l.Close()
	waitFor(`env.read "HOME"`)
	if err := os.Rename(log, log+".old"); err != nil {
		t.Fatal(err)
	}
	l, err = audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(audit.Event{Kind: audit.KindCall, Capability: "fs.list", Status: audit.Allowed, Target: "fresh"})
	l.Close()
	waitFor(`fs.list "fresh"`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(out.String(), "src/a.go") || strings.Contains(out.String(), "print") {
		t.Errorf("printed more than the last record and the new calls:\n%s", out.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Every kind of record the log can hold can be asked for (declassify and
// transcript records were refused as unknown kinds when the flag kept its own
// list).
func TestAuditShowAcceptsEveryKind(t *testing.T) {
	dir, _, _ := auditFixture(t)
	t.Setenv("HOME", t.TempDir())
	for _, k := range audit.Kinds {
		if code, _, errOut := aegis(t, dir, "audit", "show", "--kind", k); code != 0 {
			t.Errorf("--kind %s: exit %d %s", k, code, errOut)
		}
	}
}

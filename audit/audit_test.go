package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ev := Event{Capability: "fs.read", Status: Allowed, Target: fmt.Sprintf("/p/%d", i), Rule: "read_allow: **", Labels: []string{"env:K"}}
		if err := l.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, readLines(t, path)
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("log does not end with a newline")
	}
	return bytes.Split(data[:len(data)-1], []byte("\n"))
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, path string, minSeq uint64) Report {
	t.Helper()
	rep, err := Verify(path, minSeq)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantProblem(t *testing.T, rep Report, substr string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("tampered log verified clean: %+v", rep)
	}
	for _, p := range rep.Problems {
		if strings.Contains(p.String(), substr) {
			return
		}
	}
	t.Fatalf("no problem mentions %q: %v", substr, rep.Problems)
}

func TestChainShape(t *testing.T) {
	path, lines := writeLog(t, 5)
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5", len(lines))
	}
	prev := Genesis
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if m["seq"] != float64(i+1) {
			t.Errorf("line %d: seq %v", i+1, m["seq"])
		}
		if m["prev"] != prev {
			t.Errorf("line %d: prev %v, want %v", i+1, m["prev"], prev)
		}
		// The hash covers the line minus its own hash member.
		h := m["hash"].(string)
		body := append(append([]byte(nil), line[:len(line)-hashSuffixLen]...), '}')
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != h {
			t.Errorf("line %d: hash does not cover the line", i+1)
		}
		prev = h
	}
	rep := verify(t, path, 5)
	if !rep.OK() || rep.Lines != 5 || rep.LastSeq != 5 || rep.LastHash != prev {
		t.Fatalf("clean log: %+v", rep)
	}
}

func TestResumeAcrossOpens(t *testing.T) {
	path, _ := writeLog(t, 3)
	for run := 0; run < 3; run++ {
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(Event{Capability: "env.read", Status: Denied, Target: "HOME"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	rep := verify(t, path, 6)
	if !rep.OK() || rep.LastSeq != 6 {
		t.Fatalf("resumed chain: %+v", rep)
	}
}

func TestConcurrentWritersShareOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// Separate Logs have separate file descriptions: only flock orders them.
	var logs []*Log
	for i := 0; i < 4; i++ {
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*25)
	for i, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				errs <- l.Append(Event{Capability: "fs.write", Status: Allowed, Target: fmt.Sprintf("w%d-%d", i, j)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := verify(t, path, 100)
	if !rep.OK() || rep.Lines != 100 || rep.LastSeq != 100 {
		t.Fatalf("concurrent chain: %+v", rep)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	cases := []struct {
		name   string
		minSeq uint64
		edit   func(lines [][]byte) [][]byte
		want   string
	}{
		{"edit a field", 0, func(ls [][]byte) [][]byte {
			ls[2] = bytes.Replace(ls[2], []byte(`"allowed"`), []byte(`"denied"`), 1)
			return ls
		}, "edited"},
		{"edit a field and rehash the line", 0, func(ls [][]byte) [][]byte {
			ls[2] = rehash(t, bytes.Replace(ls[2], []byte(`/p/2`), []byte(`/p/X`), 1))
			return ls
		}, "prev does not match"},
		{"edit seq and prev and rehash", 0, func(ls [][]byte) [][]byte {
			// Replace line 3 by a forged record that chains to line 2; line 4
			// still names the original line 3's hash.
			ls[2] = forge(t, 3, hashOf(t, ls[1]), "forged")
			return ls
		}, "prev does not match"},
		{"remove a middle line", 0, func(ls [][]byte) [][]byte {
			return append(ls[:2:2], ls[3:]...)
		}, "seq jumps from 2 to 4"},
		{"remove the first line", 0, func(ls [][]byte) [][]byte {
			return ls[1:]
		}, "starts at seq 2"},
		{"duplicate a line", 0, func(ls [][]byte) [][]byte {
			return append(ls[:3:3], append([][]byte{ls[2]}, ls[3:]...)...)
		}, "seq 3 after seq 3"},
		{"insert a forged line", 0, func(ls [][]byte) [][]byte {
			f := forge(t, 3, hashOf(t, ls[1]), "inserted")
			return append(ls[:2:2], append([][]byte{f}, ls[2:]...)...)
		}, "seq 3 after seq 3"},
		{"swap two lines", 0, func(ls [][]byte) [][]byte {
			ls[1], ls[2] = ls[2], ls[1]
			return ls
		}, "seq jumps from 1 to 3"},
		{"truncate the tail with min-seq", 5, func(ls [][]byte) [][]byte {
			return ls[:3]
		}, "truncated"},
		{"empty the file with min-seq", 1, func(ls [][]byte) [][]byte {
			return nil
		}, "truncated"},
		{"append garbage", 0, func(ls [][]byte) [][]byte {
			return append(ls, []byte(`{"seq":6}`))
		}, "no trailing hash member"},
		{"blank line", 0, func(ls [][]byte) [][]byte {
			return append(ls[:2:2], append([][]byte{{}}, ls[2:]...)...)
		}, "blank line"},
		{"unknown member smuggled in and rehashed", 0, func(ls [][]byte) [][]byte {
			l := bytes.Replace(ls[4], []byte(`"kind"`), []byte(`"secret":"x","kind"`), 1)
			ls[4] = rehash(t, l)
			return ls
		}, "malformed record"},
		{"hash member case changed", 0, func(ls [][]byte) [][]byte {
			ls[0] = bytes.ToUpper(ls[0])
			return ls
		}, "no trailing hash member"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, lines := writeLog(t, 5)
			writeLines(t, path, tc.edit(lines))
			wantProblem(t, verify(t, path, tc.minSeq), tc.want)
		})
	}
}

func TestTornLastLine(t *testing.T) {
	path, _ := writeLog(t, 3)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, verify(t, path, 0), "no newline")
	// Appending to a damaged chain would bury the damage: Open refuses.
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "aegis audit verify") {
		t.Fatalf("Open on a torn log: %v", err)
	}
}

func TestOpenRefusesEditedTail(t *testing.T) {
	path, lines := writeLog(t, 3)
	lines[2] = bytes.Replace(lines[2], []byte(`/p/2`), []byte(`/p/9`), 1)
	writeLines(t, path, lines)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("Open on an edited tail: %v", err)
	}
}

func TestTailTruncationWithoutAnchorIsInvisible(t *testing.T) {
	// A hash chain without a key or an outside anchor cannot see a lost
	// tail; this pins the documented limit so nobody believes otherwise.
	path, lines := writeLog(t, 5)
	writeLines(t, path, lines[:3])
	rep := verify(t, path, 0)
	if !rep.OK() || rep.LastSeq != 3 {
		t.Fatalf("truncated log without min-seq: %+v", rep)
	}
	if rep2 := verify(t, path, 3); !rep2.OK() {
		t.Fatalf("min-seq equal to the last seq must pass: %+v", rep2)
	}
}

func TestHostileStringsCannotForgeTheHashMember(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	evil := `x","hash":"` + strings.Repeat("a", 64) + `"}` + "\n" + `{"seq":99`
	if err := l.Append(Event{Capability: "fs.read", Status: Denied, Target: evil, Reason: "\x00\u2028"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(Event{Capability: "fs.read", Status: Allowed}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	rep := verify(t, path, 2)
	if !rep.OK() || rep.Lines != 2 {
		t.Fatalf("hostile strings broke the chain: %+v", rep)
	}
	var rec map[string]any
	if err := json.Unmarshal(readLines(t, path)[0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec["target"] != evil {
		t.Fatalf("target did not round-trip: %q", rec["target"])
	}
}

func TestEventFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)) }
	if err := l.Append(Event{TaskID: "t1", Capability: "net.http_get", Status: Denied, Target: Redacted,
		Rule: "deny_hosts: *.evil", Section: "[network]", Reason: "host denied", Labels: []string{"env:K"}, Position: "task.star:3:9"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	line := string(readLines(t, path)[0])
	for _, want := range []string{`"seq":1`, `"ts":"2026-01-02T02:04:05Z"`, `"task":"t1"`, `"kind":"call"`,
		`"capability":"net.http_get"`, `"status":"denied"`, `"target":"[REDACTED]"`, `"rule":"deny_hosts: *.evil"`,
		`"section":"[network]"`, `"labels":["env:K"]`, `"position":"task.star:3:9"`} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %s: %s", want, line)
		}
	}
}

func TestAppendAfterClose(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Append(Event{Capability: "x"}); err == nil {
		t.Fatal("append after close succeeded")
	}
}

// rehash recomputes a line's own hash after an edit (what a careful forger does).
func rehash(t *testing.T, line []byte) []byte {
	t.Helper()
	body := append(append([]byte(nil), line[:len(line)-hashSuffixLen]...), '}')
	sum := sha256.Sum256(body)
	out := append(append([]byte(nil), body[:len(body)-1]...), hashPrefix...)
	out = append(out, hex.EncodeToString(sum[:])...)
	return append(out, `"}`...)
}

func hashOf(t *testing.T, line []byte) string {
	t.Helper()
	_, h, err := decodeLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func forge(t *testing.T, seq uint64, prev, target string) []byte {
	t.Helper()
	line, _, err := encodeLine(record{Seq: seq, Prev: prev, Event: Event{Kind: KindCall, Capability: "fs.read", Status: Allowed, Target: target}})
	if err != nil {
		t.Fatal(err)
	}
	return line[:len(line)-1]
}

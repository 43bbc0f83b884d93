package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBound(t *testing.T) {
	whole := strings.Repeat("é", 3000) // 6000 bytes, 2-byte runes
	got := Bound(whole, 1000)
	if len(got) > 1000 || !utf8.ValidString(got) {
		t.Fatalf("Bound gave %d bytes (valid UTF-8: %v)", len(got), utf8.ValidString(got))
	}
	sum := sha256.Sum256([]byte(whole))
	if !strings.HasPrefix(got, "éé") || !strings.HasSuffix(got, fmt.Sprintf("[truncated: 6000 bytes, sha256 %s]", hex.EncodeToString(sum[:]))) {
		t.Fatalf("Bound = %q", got)
	}
	if s := "short"; Bound(s, 1000) != s {
		t.Fatal("Bound changed a string that fits")
	}
	if s := strings.Repeat("a", 1000); Bound(s, 1000) != s {
		t.Fatal("Bound changed a string of exactly the limit")
	}
}

// One script chose a 1 MB path: the record is bounded, and the next run
// (a fresh Open, another append) works, and the log verifies.
func TestHugeTargetDoesNotClogTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("a/", 1<<19) // 1 MiB
	if err := l.Append(Event{Capability: "fs.read", Status: Denied, Target: huge, Reason: "fs.read of " + huge + " denied", Position: huge}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	l2, err := Open(path) // the next run
	if err != nil {
		t.Fatalf("a run after a 1 MB target cannot open the log: %v", err)
	}
	if err := l2.Append(Event{Capability: "fs.read", Status: Allowed, Target: "src/a.go"}); err != nil {
		t.Fatalf("a run after a 1 MB target cannot append: %v", err)
	}
	l2.Close()
	if rep := verify(t, path, 2); !rep.OK() {
		t.Fatalf("verify: %+v", rep)
	}
	var rec Event
	if err := json.Unmarshal(readLines(t, path)[0], &rec); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(huge))
	if len(rec.Target) > MaxFieldBytes || !strings.Contains(rec.Target, hex.EncodeToString(sum[:])) || !strings.HasPrefix(rec.Target, "a/a/") {
		t.Fatalf("target not bounded with the hash of the whole: %d bytes, %q…", len(rec.Target), rec.Target[:80])
	}
}

// The worst record a caller can hand Append (every member at its longest,
// made of characters JSON escapes six bytes wide, hundreds of the longest
// labels) is written as lines the tail reader accepts; the labels, keys of
// the leakage budget, are never cut but split over consecutive records.
func TestWorstRecordFitsTheLineLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	nasty := strings.Repeat("\x01", 10*MaxFieldBytes)
	labels := make([]string, 500)
	for i := range labels {
		labels[i] = fmt.Sprintf("%04d", i) + strings.Repeat("\x01", MaxLabelBytes-4)
	}
	ev := Event{TaskID: nasty, Kind: nasty, Capability: nasty, Status: Status(nasty), Target: nasty, Rule: nasty,
		Section: nasty, Reason: nasty, Labels: labels, Position: nasty}
	if err := l.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(Event{Capability: "fs.read"}); err != nil {
		t.Fatalf("append after the worst record: %v", err)
	}
	l.Close()
	lines := readLines(t, path)
	want := (500+MaxLabels-1)/MaxLabels + 1
	if len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	var got []string
	for _, line := range lines[:want-1] {
		if len(line) > MaxLineBytes {
			t.Fatalf("a line of %d bytes, over MaxLineBytes", len(line))
		}
		var rec Event
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Labels) > MaxLabels || len(rec.Target) > MaxFieldBytes {
			t.Fatalf("a record over the limits: %d labels, target %d bytes", len(rec.Labels), len(rec.Target))
		}
		got = append(got, rec.Labels...)
	}
	if strings.Join(got, ",") != strings.Join(labels, ",") {
		t.Fatal("the labels were not all written, whole and in order")
	}
	if rep := verify(t, path, uint64(want)); !rep.OK() {
		t.Fatalf("verify: %+v", rep)
	}
}

// A secret-dependent abort charged to more principals than fit one record
// charges each of them exactly once.
func TestSplitRecordsChargeEachPrincipalOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 3*MaxLabels + 5 {
		names = append(names, fmt.Sprintf("env:V%d", i))
	}
	if err := l.Append(Event{Kind: KindSecretAbort, Status: Errored, Labels: names, Bits: 7}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	spent, err := LeakLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if s := spent[n]; s.Aborts != 1 || s.Bits != 7 {
			t.Fatalf("%s charged %+v, want one abort of 7 bits", n, s)
		}
	}
	if len(spent) != len(names) {
		t.Fatalf("%d principals charged, want %d", len(spent), len(names))
	}
}

// A label is a principal name from the policy: one too long to write is
// refused (the append fails, closed), never cut into another name.
func TestOverlongLabelIsRefused(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(Event{Labels: []string{"file:" + strings.Repeat("x", MaxLabelBytes)}}); err == nil || !strings.Contains(err.Error(), "shorten the policy entry") {
		t.Fatalf("an overlong label: %v", err)
	}
}

// chainedLine builds a validly hashed line around rec, bypassing Append's
// bounds (what another writer could put in the file).
func chainedLine(t *testing.T, rec record) []byte {
	t.Helper()
	line, _, err := encodeLine(rec)
	if err != nil {
		t.Fatal(err)
	}
	return line[:len(line)-1]
}

// Append and Verify agree: what the tail reader refuses, Verify reports,
// and a line at the limit passes both.
func TestAppendAndVerifyAgreeOnTheLimits(t *testing.T) {
	dir := t.TempDir()
	fill := func(n int) record {
		// A record whose line is exactly n bytes long.
		rec := record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Capability: "fs.read", Status: Denied}}
		base := len(chainedLine(t, rec))
		rec.Target = strings.Repeat("t", 0)
		withTarget := len(chainedLine(t, record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Capability: "fs.read", Status: Denied, Target: "x"}}))
		overhead := withTarget - 1 - base // `,"target":""`
		rec.Target = strings.Repeat("t", n-base-overhead)
		if got := len(chainedLine(t, rec)); got != n {
			t.Fatalf("built a %d-byte line, wanted %d", got, n)
		}
		return rec
	}
	for _, tc := range []struct {
		name   string
		rec    record
		ok     bool
		substr string
	}{
		{"line at the limit, member over it", fill(MaxLineBytes), false, "over the 2048-byte limit"},
		{"line over the limit", fill(MaxLineBytes + 1), false, "longer than the"},
		{"member at the limit", record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Target: strings.Repeat("t", MaxFieldBytes)}}, true, ""},
		{"member over the limit", record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Reason: strings.Repeat("r", MaxFieldBytes+1)}}, false, `"reason" is 2049 bytes`},
		{"too many labels", record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Labels: make([]string, MaxLabels+1)}}, false, "33 labels"},
		{"label over the limit", record{Seq: 1, Prev: Genesis, Event: Event{Kind: KindCall, Labels: []string{strings.Repeat("l", MaxLabelBytes+1)}}}, false, "a label is 4097 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			writeLines(t, path, [][]byte{chainedLine(t, tc.rec)})
			rep := verify(t, path, 0)
			if tc.ok != rep.OK() {
				t.Fatalf("verify ok=%v, want %v: %+v", rep.OK(), tc.ok, rep)
			}
			if !tc.ok {
				wantProblem(t, rep, tc.substr)
			}
			// The next append resumes from this line exactly when Verify
			// accepts it.
			l, err := Open(path)
			if l != nil {
				l.Close()
			}
			if (err == nil) != rep.OK() {
				t.Fatalf("Open: %v, but verify ok=%v", err, rep.OK())
			}
		})
	}
}

func TestVerifyMemoryIsBoundedOnAHugeLine(t *testing.T) {
	// A 64 MiB line with no newline at all: reported, not loaded.
	path := filepath.Join(t.TempDir(), "a.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("x", 1<<20))
	for i := 0; i < 64; i++ {
		f.Write(chunk)
	}
	f.Close()
	rep := verify(t, path, 0)
	wantProblem(t, rep, fmt.Sprintf("the line is %d bytes", 64<<20))
}

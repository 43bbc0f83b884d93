package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLeakLedgerThroughARealLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	counts, err := LeakLedger(path)
	if err != nil || len(counts) != 0 {
		t.Fatalf("a missing log: %v, %v", counts, err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// A text that quotes the marker inside a value must not count: JSON
	// escapes its quotes.
	forged := `x","kind":"secret_abort","labels":["env:A"],"y":"`
	events := []Event{
		{Kind: KindSecretAbort, Status: Errored, Labels: []string{"env:A"}}, // an older record without bits: 4
		{Kind: KindCall, Capability: "env.read", Status: Allowed, Target: "A", Labels: []string{"env:A"}},
		{Kind: KindSecretAbort, Status: Errored, Labels: []string{"env:A", "file:zone/**"}, Bits: 6},
		{Kind: KindSecretAbort, Status: Errored, Labels: []string{"host:r"}, Bits: 9},
		{Kind: KindBudgetReset, Status: Allowed, Labels: []string{"host:r", "host:never"}},
		{Kind: KindCall, Capability: "fs.read", Status: Denied, Target: `","kind":"budget_reset","labels":["env:A"],"x":"`},
		{Kind: KindFlow, Capability: "print", Status: Denied, Reason: forged, Labels: []string{"env:A"}},
		{Kind: KindCall, Capability: "fs.read", Status: Denied, Target: forged, TaskID: forged},
		{Kind: KindSecretAbort, Status: Errored, Labels: []string{"host:h", "host:h"}, Bits: 5},
		{Kind: KindSecretAbort, Status: Errored, TaskID: strings.Repeat("t", 600<<10), Labels: []string{"env:A"}, Bits: 4},
		{Kind: KindSecretAbort, Status: Errored, Labels: []string{"host:r"}, Bits: 7},
	}
	for _, ev := range events {
		if err := l.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	counts, err = LeakLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	// host:r's first abort was reset; its second counts.
	want := map[string]Spent{"env:A": {Aborts: 3, Bits: 14}, "file:zone/**": {Aborts: 1, Bits: 6}, "host:h": {Aborts: 1, Bits: 5}, "host:r": {Aborts: 1, Bits: 7}}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	if rep, err := Verify(path, 0); err != nil || !rep.OK() {
		t.Errorf("the log does not verify: %v %v", rep.Problems, err)
	}
}

func TestLeakLedgerRefusesAnUndecodableRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	data := `{"seq":1,"kind":"secret_abort","labels":["env:A"` + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LeakLedger(path)
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "aegis audit verify") {
		t.Errorf("want a refusal naming the line, got %v", err)
	}
}

func TestLeakLedgerLastLineWithoutNewline(t *testing.T) {
	data := `{"kind":"call","labels":["env:A"]}` + "\n" + `{"kind":"secret_abort","labels":["env:B"]}`
	counts, err := LeakLedgerReader(strings.NewReader(data))
	if err != nil || counts["env:B"].Aborts != 1 || counts["env:A"].Aborts != 0 {
		t.Errorf("counts = %v, %v", counts, err)
	}
}

// BenchmarkLeakLedger measures the scan a run makes before its first
// local-only read, over a log of about 32 MB.
func BenchmarkLeakLedger(b *testing.B) {
	var buf bytes.Buffer
	call := []byte(`{"seq":1,"prev":"` + Genesis + `","ts":"2026-01-01T00:00:00Z","kind":"call","capability":"fs.read","status":"allowed","target":"/some/project/src/file.go","rule":"src/**","section":"[filesystem].read_allow","position":"task.star:3:9","hash":"` + Genesis + "\"}\n")
	abort := []byte(`{"seq":2,"prev":"` + Genesis + `","ts":"2026-01-01T00:00:00Z","kind":"secret_abort","capability":"","status":"errored","labels":["env:A"],"hash":"` + Genesis + "\"}\n")
	for i := 0; buf.Len() < 32<<20; i++ {
		if i%1000 == 0 {
			buf.Write(abort)
		} else {
			buf.Write(call)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LeakLedgerReader(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

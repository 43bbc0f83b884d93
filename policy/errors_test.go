package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// One denial error type: what was denied, why and how to allow it; a
// withheld target keeps the reason (which names it) out of the message.
func TestDeniedError(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad("[filesystem]\nread_allow = [\"src/**\"]\ndeny = [\"**/.env\"]\n")
	err := p.Decide(FSRead, ".env").Err()
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("Err() = %T %v", err, err)
	}
	d := p.Decide(FSRead, ".env")
	if de.Capability != FSRead || de.Target != ".env" || de.Rule != "**/.env" || de.Section != "[filesystem].deny" || de.Withheld {
		t.Errorf("fields: %+v", de)
	}
	if got, want := de.Error(), d.Reason+"; "+d.Hint; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	b, _ := json.Marshal(de)
	for _, f := range []string{`"capability":"fs.read"`, `"target":".env"`, `"rule":"**/.env"`, `"section":"[filesystem].deny"`, `"reason":`, `"hint":`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("JSON %s lacks %s", b, f)
		}
	}
	if strings.Contains(string(b), "withheld") {
		t.Errorf("JSON %s names withheld", b)
	}

	de.Withhold("[REDACTED]")
	msg := de.Error()
	if strings.Contains(msg, d.Reason) || strings.Contains(msg, d.Hint) {
		t.Errorf("a withheld target's message still carries the reason: %q", msg)
	}
	if !strings.HasPrefix(msg, `policy denies fs.read [REDACTED] (rule "**/.env" in [filesystem].deny)`) {
		t.Errorf("withheld message %q", msg)
	}
	if p.Decide(FSRead, "src/a.go").Err() != nil {
		t.Error("an allowed decision has an error")
	}
}

package approval

import (
	"context"
	"strings"
	"testing"
)

func TestLinesShowTheResolvedTargetQuoted(t *testing.T) {
	r := Request{Capability: "fs.delete", Target: "build/\x1b[2Kx", Resolved: "/p/build/\x1b[2Kx"}
	text := r.Text("  ")
	if strings.ContainsRune(text, 0x1b) {
		t.Fatalf("raw escape in the question: %q", text)
	}
	for _, want := range []string{`fs.delete    "build/\x1b[2Kx"`, `resolves to  "/p/build/\x1b[2Kx"`} {
		if !strings.Contains(text, want) {
			t.Errorf("question %q lacks %q", text, want)
		}
	}
	cmd := Request{Capability: "subprocess.exec", Target: "printf \x1bc", Resolved: "/usr/bin/printf"}.Text("")
	if strings.ContainsRune(cmd, 0x1b) || !strings.Contains(cmd, `printf \x1bc`) || !strings.Contains(cmd, "program          /usr/bin/printf") {
		t.Errorf("command question: %q", cmd)
	}
	hidden := Request{Capability: "fs.delete", Target: Redacted, Labelled: true}.Text("")
	if !strings.Contains(hidden, "not shown") {
		t.Errorf("hidden target: %q", hidden)
	}
	long := Request{Capability: "fs.write", Target: strings.Repeat("a", 5000) + "TAIL"}.Text("")
	if strings.Contains(long, "TAIL") || !strings.Contains(long, "more bytes not shown") {
		t.Errorf("a huge target must be cut and say so: %d bytes", len(long))
	}
}

func TestMemory(t *testing.T) {
	var m Memory
	a := Request{Capability: "fs.delete", Target: "x", Resolved: "/p/x"}
	m.Remember(a)
	if !m.Approved(a) {
		t.Fatal("not remembered")
	}
	for _, other := range []Request{
		{Capability: "fs.write", Target: "x", Resolved: "/p/x"},
		{Capability: "fs.delete", Target: "y", Resolved: "/p/y"},
		{Capability: "fs.delete", Target: "x", Resolved: "/elsewhere/x"}, // a symlink moved
	} {
		if m.Approved(other) {
			t.Errorf("%+v approved by the answer for %+v", other, a)
		}
	}
	h := Request{Capability: "fs.delete", Target: Redacted, Labelled: true}
	m.Remember(h)
	if m.Approved(h) {
		t.Error("a hidden target was remembered")
	}
}

func TestFromContext(t *testing.T) {
	r := Request{Capability: "fs.delete", Target: "x", Resolved: "/p/x"}
	if got := FromContext(WithRequest(context.Background(), r), "ignored", "ignored"); got != r {
		t.Errorf("got %+v", got)
	}
	if got := FromContext(context.Background(), "fs.delete", Redacted); !got.Labelled {
		t.Errorf("a redacted target without a request must count as hidden: %+v", got)
	}
}

func TestRefusal(t *testing.T) {
	r := &Refusal{Reason: "no terminal", Allow: "pass --yes"}
	if r.Error() != "no terminal; pass --yes" {
		t.Errorf("%q", r.Error())
	}
}

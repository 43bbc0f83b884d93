package approval

import (
	"context"
	"strings"
	"testing"
	"unicode"
)

func TestVisibleEscapesWhatATerminalWouldInterpret(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"src/main.go", "src/main.go"},
		{"with space/ünïcode.txt", "with space/ünïcode.txt"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},                 // clear screen
		{"x\x1b]0;title\x07y", `x\x1b]0;title\ay`}, // OSC title, BEL
		{"a\rb\nc\td", `a\rb\nc\td`},               // carriage return rewrites the line
		{"a\u009b2Kb", `a\u009b2Kb`},               // C1 CSI
		{"evil\u202etxt.exe", `evil\u202etxt.exe`}, // right-to-left override
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\x7f", `\x7f`},
	} {
		if got := Visible(c.in); got != c.want {
			t.Errorf("Visible(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Whatever goes in, nothing a terminal acts on comes out.
func TestVisibleOutputIsInert(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	all.WriteString("\xff\xfe\xc0")
	for _, r := range Visible(all.String()) {
		if r != ' ' && !unicode.IsPrint(r) {
			t.Fatalf("Visible let %U through", r)
		}
	}
}

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

func TestVisibleTextKeepsLines(t *testing.T) {
	in := "Traceback:\n\tat x.star:1: fs.read of \"a\x1b[2Jb\" (/p/a\x1b[2Jb) denied\r"
	want := "Traceback:\n\tat x.star:1: fs.read of \"a\\x1b[2Jb\" (/p/a\\x1b[2Jb) denied\\r"
	if got := VisibleText(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

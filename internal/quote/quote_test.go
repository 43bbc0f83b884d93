package quote

import (
	"bytes"
	"math/rand"
	"os/exec"
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
		{"\ufffd", `\ufffd`},
	} {
		if got := Visible(c.in); got != c.want {
			t.Errorf("Visible(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Whatever goes in, nothing a terminal acts on comes out.
func TestVisibleOutputIsInert(t *testing.T) {
	all := everyRune()
	for _, r := range Visible(all) {
		if r != ' ' && !unicode.IsPrint(r) {
			t.Fatalf("Visible let %U through", r)
		}
	}
}

func TestVisibleTextKeepsLines(t *testing.T) {
	in := "Traceback:\n\tat x.star:1: fs.read of \"a\x1b[2Jb\" (/p/a\x1b[2Jb) denied\r"
	want := "Traceback:\n\tat x.star:1: fs.read of \"a\\x1b[2Jb\" (/p/a\\x1b[2Jb) denied\\r"
	if got := VisibleText(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestArgv(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"git", "status", "--short"}, "git status --short"},
		{[]string{"go", "test", "./...", "-run=TestX", "a@b:c,d+e%f"}, "go test ./... -run=TestX a@b:c,d+e%f"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "a b"}, "echo 'a b'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", `"q"`}, `echo '"q"'`},
		{[]string{"sh", "-c", "rm -rf $HOME; `x` | y > z & *?[]{}()<~#!"}, "sh -c 'rm -rf $HOME; `x` | y > z & *?[]{}()<~#!'"},
		{[]string{"printf", "\x1b[2J"}, `printf $'\x1b[2J'`},
		{[]string{"printf", "a\nb\tc\rd\a\b\v\f"}, `printf $'a\nb\tc\rd\a\b\v\f'`},
		{[]string{"echo", "it's\n"}, `echo $'it\'s\n'`},
		{[]string{"echo", "back\\slash\x00"}, `echo $'back\\slash\x00'`},
		{[]string{"echo", "evil\u202etxt"}, `echo $'evil\xe2\x80\xaetxt'`},
		{[]string{"echo", "\u009b"}, `echo $'\xc2\x9b'`},
		{[]string{"echo", "bad\xff\xfe"}, `echo $'bad\xff\xfe'`},
		{[]string{"echo", "café"}, `echo 'café'`},
		{[]string{"echo", "=cmd"}, `echo '=cmd'`},
		{[]string{"FOO=bar", "x=y"}, `'FOO=bar' x=y`},
		{[]string{"%1"}, `'%1'`},
		{[]string{"time", "time"}, `'time' time`},
		{[]string{"-"}, `-`},
		{nil, ""},
	} {
		if got := Argv(c.argv); got != c.want {
			t.Errorf("Argv(%q) = %s, want %s", c.argv, got, c.want)
		}
	}
}

// What Arg returns is terminal-safe: only Shown runes.
func TestArgIsInert(t *testing.T) {
	for _, s := range []string{everyRune(), "\xff\xfe\xc0\x80", "\u202e\u200b\u2028\x1b]0;x\x07"} {
		for _, r := range Arg(s) {
			if !Shown(r) {
				t.Fatalf("Arg let %U through", r)
			}
		}
	}
}

// Distinct argvs never render alike: the rendering keys approvals.
func TestArgvIsInjective(t *testing.T) {
	pairs := [][2][]string{
		{{"a b"}, {"a", "b"}},
		{{"a", ""}, {"a"}},
		{{"'a'"}, {"a"}},
		{{"a\n"}, {`a\n`}},
		{{"\xff"}, {`\xff`}},
		{{"$'a'"}, {"a"}},
	}
	for _, p := range pairs {
		if Argv(p[0]) == Argv(p[1]) {
			t.Errorf("%q and %q both render as %s", p[0], p[1], Argv(p[0]))
		}
	}
}

// A real shell reads what Argv prints back into the same argv, byte for
// byte: the command line can be copied and run. One bash process checks
// every case, printing each word NUL-terminated.
func TestArgvRoundTripsThroughBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to check the quoting (CI runs in bash): %v", err)
	}
	cases := [][]string{
		{"x", "plain", "a b", "", "it's", `"dq"`, `back\slash`, "$HOME", "`id`", "a;b|c&d", "*", "?", "[a]", "{a,b}", "~", "#c", "!x", "-n", "--", "=x", "%1"},
		{"x", "\x1b[2J", "\x1b]0;t\x07", "a\nb", "\t", "\r", "\u202e", "\u200b", "\u2028", "\u009b", "\xff", "\xc0\x80", "café", "日本", "\x7f", "\\x41", "'\n'"},
		{"x", "..", "../../etc/passwd", "/a/bc", "a\\", "\\'", "'\\''"},
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("ab '\"\\$`\n\t\x1b\x7f\xff\xe2\x80\xae!*?;=%~#{}()")
	for i := 0; i < 20; i++ {
		argv := []string{"x"}
		for j := 0; j < 8; j++ {
			w := make([]byte, rng.Intn(12))
			for k := range w {
				w[k] = alphabet[rng.Intn(len(alphabet))]
			}
			argv = append(argv, string(w))
		}
		cases = append(cases, argv)
	}
	var script strings.Builder
	script.WriteString("x() { printf '%s\\0' \"$@\"; printf '\\1'; }\n")
	for _, argv := range cases {
		script.WriteString(Argv(argv) + "\n")
	}
	cmd := exec.Command(bash, "--norc", "--noprofile")
	cmd.Stdin = strings.NewReader(script.String())
	cmd.Env = []string{"LC_ALL=C", "HOME=/nonexistent"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	got := bytes.Split(out, []byte{1})
	if len(got) != len(cases)+1 {
		t.Fatalf("bash ran %d of %d lines:\n%s", len(got)-1, len(cases), script.String())
	}
	for i, argv := range cases {
		want := strings.Join(argv[1:], "\x00")
		if len(argv) > 1 {
			want += "\x00"
		}
		if string(got[i]) != want {
			t.Errorf("bash read %s back as %q, want %q", Argv(argv), got[i], want)
		}
	}
}

func everyRune() string {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	all.WriteString("\xff\xfe\xc0\u202e\U000e0001")
	return all.String()
}

func TestPrefix(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"abc", 3, "abc", false},
		{"abc", 5, "abc", false},
		{"abc", 2, "ab", true},
		{"abc", -1, "", true},
		{"a€b", 1, "a", true},
		{"a€b", 2, "a", true}, // inside €
		{"a€b", 3, "a", true},
		{"a€b", 4, "a€", true},
		{"😀😀", 7, "😀", true}, // 4-byte runes
		{"😀😀", 8, "😀😀", false},
		{"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80\x80\x80\x80", true}, // invalid: cut where asked
		{"a\xe2\x82", 2, "a", true},
	} {
		got, cut := Prefix(c.s, c.n)
		if got != c.want || cut != c.cut {
			t.Errorf("Prefix(%q, %d) = %q, %v; want %q, %v", c.s, c.n, got, cut, c.want, c.cut)
		}
	}
}

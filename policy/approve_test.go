package policy

import (
	"path/filepath"
	"strings"
	"testing"
)

func approveWorld(t *testing.T, prefixes string) (*world, *Policy) {
	w := newWorld(t)
	for _, n := range []string{"go", "git", "pass"} {
		w.program("", n)
	}
	w.program(filepath.Join(w.base, "other"), "go")
	return w, w.mustLoad(`inherits = "secure-defaults"
[filesystem]
read_allow = ["**"]
write_allow = ["out/**"]
[subprocess]
allow_commands = ["go", "git"]
local_only_commands = ["pass"]
approve_prefixes = [` + prefixes + `]
`)
}

func TestApprovePrefixes(t *testing.T) {
	w, p := approveWorld(t, `"go test", "go  build", "git status", "pass"`)
	for _, c := range []struct {
		argv, want string
	}{
		{"go test ./...", "go test"},
		{"go test", "go test"},
		{"go build -o out ./src", "go  build"}, // written with two spaces: still the words go, build
		{"git status --short", "git status"},
		{"pass show x", "pass"},
		{"go vet ./...", ""},
		{"go testing", ""},                                   // whole words only
		{"go -C /tmp test", ""},                              // the words must come first
		{"git commit -m test", ""},                           // "test" later does not count
		{filepath.Join(w.base, "other", "go") + " test", ""}, // another file called go
		{filepath.Join(w.bin, "go") + " test", "go test"},    // the go a bare entry means, by path
	} {
		d := p.Decide(SubprocessExec, strings.Fields(c.argv)...)
		got := ""
		if d.PreApproved != nil {
			got = d.PreApproved.Value
		}
		if got != c.want {
			t.Errorf("%s: pre-approved by %q, want %q (%s)", c.argv, got, c.want, d.Reason)
		}
		if d.Allowed && d.PreApproved == nil && d.SuggestedPrefix == "" {
			t.Errorf("%s: needs approval and suggests no prefix", c.argv)
		}
	}
	// A suggestion covers the call's own kind, never the whole program when
	// the call has plain words to narrow it.
	for argv, want := range map[string]string{
		"go vet ./...":           "go vet",
		"go version":             "go version",
		"go -v":                  "go -v",
		"go mod tidy -v":         "go mod tidy",
		"go env GOPATH":          "go env",
		"go run src/x.go":        "go run",
		"go src/x":               "go",
		"git log --oneline -n 3": "git log --oneline",
		"git diff --stat=80":     "git diff",
	} {
		if d := p.Decide(SubprocessExec, strings.Fields(argv)...); d.Allowed && d.SuggestedPrefix != want {
			t.Errorf("%s: suggestion %q, want %q", argv, d.SuggestedPrefix, want)
		}
	}
	// A denied call stays denied whatever its prefix.
	_, q := approveWorld(t, `"git status"`)
	if d := q.Decide(SubprocessExec, "git", "status", filepath.Join(w.home, ".ssh", "id_rsa")); d.Allowed || d.PreApproved != nil {
		t.Errorf("a pre-approved prefix let a denied argument through: %+v", d)
	}
	// explain shows it; show lists it with its origin.
	desc := p.Describe()
	found := false
	for _, l := range desc.Lists {
		if l.Key == "[subprocess].approve_prefixes" && len(l.Entries) == 4 && l.Entries[0].From.Line > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("policy show does not list approve_prefixes with their lines: %+v", desc.Lists)
	}
}

func TestApprovePrefixProblems(t *testing.T) {
	w := newWorld(t)
	w.program("", "go")
	for _, c := range []struct{ src, want string }{
		{`[subprocess]
allow_commands = ["go"]
approve_prefixes = ["go test"]
`, "subprocess.exec is not in requires_approval"},
		{`inherits = "secure-defaults"
requires_approval = ["!subprocess.exec"]
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["go test"]
`, "subprocess.exec is not in requires_approval"},
		{`inherits = "secure-defaults"
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["cargo build"]
`, `no [subprocess].allow_commands or local_only_commands entry allows "cargo"`},
		{`inherits = "secure-defaults"
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["go test *"]
`, "matched exactly, not as a glob"},
		{`inherits = "secure-defaults"
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["go \"test x\""]
`, "quoting is not supported"},
		{`inherits = "secure-defaults"
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["   "]
`, "empty prefix"},
		{`inherits = "secure-defaults"
[subprocess]
allow_commands = ["go"]
approve_prefixes = ["!go test"]
`, "negates nothing"},
	} {
		_, err := w.load(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "approve_prefixes") {
			t.Errorf("%s\nwant an error about %q, got %v", c.src, c.want, err)
		}
	}
}

func TestInheritsNone(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad(`inherits = "none"
[filesystem]
read_allow = ["~/**"]
`)
	if d := p.Decide(FSRead, filepath.Join(w.home, ".ssh", "id_rsa")); !d.Allowed {
		t.Errorf("inherits = \"none\" is the whole policy: %s", d.Reason)
	}
	if p.Describe().Inherits != NoPreset {
		t.Errorf("inherits %q", p.Describe().Inherits)
	}
	_, err := w.load(`inherits = "secure-default"`)
	if err == nil || !strings.Contains(err.Error(), `inherits = "none"`) {
		t.Errorf("an unknown preset must mention the opt-out: %v", err)
	}
}

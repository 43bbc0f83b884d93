package main

import (
	"strings"
	"testing"
)

func TestExplainArguments(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy, "src/main.go": "", "src/--json": ""})
	t.Setenv("HOME", t.TempDir())
	fakePath(t, "git")
	for _, c := range []struct {
		args []string
		code int
		want string // in stdout for 0/2, in stderr for 5
	}{
		// "--" after the capability ends explain's flags: what follows is target.
		{[]string{"policy", "explain", "fs.read", "--", "src/main.go"}, 0, "ALLOWED"},
		{[]string{"policy", "explain", "fs.read", "--", "src/--json"}, 0, "ALLOWED"},
		{[]string{"policy", "explain", "--", "fs.read", "src/main.go"}, 0, "ALLOWED"},
		{[]string{"policy", "explain", "subprocess.exec", "--", "git", "log", "--json"}, 0, "ALLOWED"},
		// explain's own flags after the positionals are a usage error, not a target.
		{[]string{"policy", "explain", "fs.read", "src/main.go", "--json"}, 5, "flag --json after CAPABILITY fs.read"},
		{[]string{"policy", "explain", "fs.read", "src/main.go", "--policy", "aegis.toml"}, 5, "move it before fs.read"},
		{[]string{"policy", "explain", "fs.read", "src/main.go", "-p", "aegis.toml"}, 5, "flag -p"},
		{[]string{"policy", "explain", "subprocess.exec", "git", "status", "--policy=x.toml"}, 5, "flag --policy=x.toml"},
		{[]string{"policy", "explain", "subprocess.exec", "--json", "git", "status"}, 5, "flag --json"},
		// A command line keeps its own flags, short ones included.
		{[]string{"policy", "explain", "subprocess.exec", "git", "push", "--force"}, 2, "DENIED"},
		{[]string{"policy", "explain", "subprocess.exec", "git", "log", "-p"}, 0, "ALLOWED"},
		// One target for everything but subprocess.exec.
		{[]string{"policy", "explain", "fs.read", "src/main.go", "src/other"}, 5, "fs.read takes one target, got 2"},
		{[]string{"policy", "explain", "fs.read", "--"}, 5, "nothing after --"},
	} {
		t.Run(strings.Join(c.args[2:], "_"), func(t *testing.T) {
			code, out, errOut := aegis(t, dir, c.args...)
			where := out
			if c.code == exitConfig {
				where = errOut
				if !strings.Contains(errOut, "--help") {
					t.Errorf("a usage error must point at --help: %s", errOut)
				}
			}
			if code != c.code || !strings.Contains(where, c.want) {
				t.Errorf("exit %d (want %d)\nstdout %s\nstderr %s\nwant %q", code, c.code, out, errOut, c.want)
			}
		})
	}
}

func TestExplainShowsApprovalPrefixes(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": `inherits = "secure-defaults"
[filesystem]
read_allow = ["src/**"]
[subprocess]
allow_commands = ["git"]
approve_prefixes = ["git status"]
`, "src/x": ""})
	t.Setenv("HOME", t.TempDir())
	fakePath(t, "git")
	_, out, _ := aegis(t, dir, "policy", "explain", "subprocess.exec", "git", "status")
	if !strings.Contains(out, `approved without asking by [subprocess].approve_prefixes "git status" (`+dir+`/aegis.toml:6)`) {
		t.Errorf("pre-approval not shown:\n%s", out)
	}
	_, out, _ = aegis(t, dir, "policy", "explain", "subprocess.exec", "git", "log")
	if !strings.Contains(out, `[subprocess].approve_prefixes = ["git log"] would approve it without asking`) {
		t.Errorf("no suggestion:\n%s", out)
	}
	_, out, _ = aegis(t, dir, "policy", "validate")
	if !strings.Contains(out, `Commands approved without asking ([subprocess].approve_prefixes): "git status"`) {
		t.Errorf("validate does not list the prefixes:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := aegis(t, "", "version")
	code2, out2, _ := aegis(t, "", "--version")
	if code != 0 || code2 != 0 || !strings.HasPrefix(out, "aegis ") || out != out2 || !strings.Contains(out, "go1.") {
		t.Errorf("version %q (%d), --version %q (%d)", out, code, out2, code2)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_aegis", "zsh": "#compdef aegis", "fish": "complete -c aegis", "powershell": "Register-ArgumentCompleter"} {
		code, out, errOut := aegis(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s %.200s", shell, code, errOut, out)
		}
	}
	if code, _, errOut := aegis(t, "", "completion", "tcsh"); code != exitConfig || !strings.Contains(errOut, "--help") {
		t.Errorf("unknown shell: %d %s", code, errOut)
	}
}

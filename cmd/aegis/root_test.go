package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSubcommandNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range subcommands {
		if got := c.build().Name(); got != c.name {
			t.Errorf("subcommands lists %q, but its constructor builds %q", c.name, got)
		}
		if seen[c.name] {
			t.Errorf("%q is listed twice", c.name)
		}
		seen[c.name] = true
	}
	if n := len(newRootCmd().Commands()); n != len(subcommands) {
		t.Errorf("the full tree has %d commands, subcommands lists %d", n, len(subcommands))
	}
}

// A command run from a tree that holds it alone (what main builds when the
// first argument names it) says and does what it does in the whole tree.
func TestCommandAloneActsAsInTheTree(t *testing.T) {
	execute := func(only string, args []string) (stdout, stderr string, err error) {
		root := newRootCmdOnly(only)
		var out, errOut bytes.Buffer
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&errOut)
		err = root.Execute()
		return out.String(), errOut.String(), err
	}
	for _, c := range subcommands {
		want := c.name
		if c.name == "completion" {
			want = "" // it describes the whole tree
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "--no-such-flag"}} {
			if got := commandNamed(args); got != want {
				t.Errorf("commandNamed(%q) = %q, want %q", args, got, want)
			}
			fullOut, fullErr, fullE := execute("", args)
			out, errOut, e := execute(commandNamed(args), args)
			if out != fullOut || errOut != fullErr {
				t.Errorf("aegis %s: the command alone prints\n%s%s\nthe whole tree prints\n%s%s",
					strings.Join(args, " "), out, errOut, fullOut, fullErr)
			}
			if (e == nil) != (fullE == nil) || (e != nil && e.Error() != fullE.Error()) {
				t.Errorf("aegis %s: the command alone ends with %v, the whole tree with %v", strings.Join(args, " "), e, fullE)
			}
		}
	}
	for _, args := range [][]string{nil, {"help", "run"}, {"--version"}, {"completion", "bash"}, {"rn"}, {"-p", "x", "run"}} {
		if got := commandNamed(args); got != "" {
			t.Errorf("commandNamed(%q) = %q, want the whole tree", args, got)
		}
	}
}

// "aegis help TOPIC" answers as the command line would: a topic naming no
// command is a usage error with a suggestion (cobra's help printed the
// root's help and exited 0), a command's help is its --help.
func TestHelpTopics(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help", "bogus"}, 5, `unknown command "bogus"`},
		{[]string{"help", "polcy"}, 5, `did you mean "policy"?`},
		{[]string{"help", "policy", "explian"}, 5, `did you mean "explain"?`},
		{[]string{"help", "run"}, 0, "aegis run [flags] SCRIPT"},
		{[]string{"help", "policy", "explain"}, 0, "aegis policy explain"},
		{[]string{"help"}, 0, "Available Commands"},
	} {
		code, out, errOut := aegis(t, dir, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", c.args, code, c.code, c.want, out, errOut)
		}
	}
}

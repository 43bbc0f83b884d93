// Package gitspell lists git command lines for the tests of the shipped
// policies (the `aegis init` templates and examples/policies): Denied are
// spellings of the history rewrites, remote deletions and ways to make git
// run another program that those policies promise to deny (their
// [subprocess.deny_args].git lists, read with policy/argsyntax.go); Allowed
// is ordinary git use they must leave alone. One list, so that the
// templates and the examples are held to the same promise.
package gitspell

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/policy"
)

// Denied are argv[1:] of git commands every shipped policy that allows git
// must deny.
var Denied = [][]string{
	// Force pushes, in every spelling.
	{"push", "--force", "origin", "main"},
	{"push", "-f", "origin", "main"},
	{"push", "-uf", "origin", "main"},
	{"push", "--forc", "origin", "main"},
	{"push", "origin", "+main"},
	{"push", "origin", "+refs/heads/main:refs/heads/main"},
	{"push", "--force-with-lease", "origin", "main"},
	{"push", "--force-with-lease=main:abc123", "origin", "main"},
	{"push", "--force-if-includes", "origin", "main"},
	{"push", "--mirror", "origin"},
	{"-C", ".", "push", "-f", "origin", "main"},
	{"send-pack", "--force", "origin", "main"},
	{"send-pack", "origin", "+main"},
	{"http-push", "https://example.com/r.git", "main"},
	// Remote deletions.
	{"push", "--delete", "origin", "feature"},
	{"push", "-d", "origin", "feature"},
	{"push", "origin", ":feature"},
	{"push", "--prune", "origin", "refs/heads/*:refs/heads/*"},
	// Local history rewrites and destruction.
	{"branch", "-D", "feature"},
	{"branch", "-d", "-f", "feature"},
	{"branch", "-df", "feature"},
	{"branch", "--delete", "--force", "feature"},
	{"branch", "-f", "main", "HEAD~3"},
	{"branch", "-M", "main"},
	{"tag", "-f", "v1", "HEAD~2"},
	{"reset", "--hard", "HEAD~1"},
	{"clean", "-f"},
	{"clean", "-fdx"},
	{"clean", "-xdf"},
	{"clean", "--force", "-d"},
	{"checkout", "-f", "main"},
	{"checkout", "--force", "main"},
	{"checkout", "-B", "main", "origin/main"},
	{"switch", "-C", "main"},
	{"switch", "--discard-changes", "main"},
	{"rebase", "-i", "HEAD~3"},
	{"rebase", "--interactive", "HEAD~3"},
	{"filter-branch", "--tree-filter", "rm x", "HEAD"},
	{"filter-repo", "--path", "x"},
	{"replace", "abc", "def"},
	{"update-ref", "-d", "refs/heads/x"},
	{"update-ref", "refs/heads/main", "HEAD~5"},
	{"reflog", "expire", "--expire=now", "--all"},
	{"reflog", "delete", "HEAD@{1}"},
	{"gc", "--prune=now"},
	// Configuration that runs programs (aliases "!cmd", core.sshCommand,
	// core.pager, core.fsmonitor, core.hooksPath, ...).
	{"-c", "alias.x=!sh -c id", "x"},
	{"-c", "core.sshCommand=./evil", "fetch"},
	{"-ccore.pager=./evil", "log"},
	{"--config-env=core.sshCommand=EVIL", "fetch"},
	{"--config-env", "core.pager=EVIL", "log"},
	{"--exec-path=./evil", "fetch", "https://example.com/r.git"},
	{"config", "core.sshCommand", "./evil"},
	{"config", "--global", "alias.x", "!sh"},
	{"clone", "-c", "core.hooksPath=./hooks", "https://example.com/r.git"},
	{"clone", "--config", "core.fsmonitor=./evil", "https://example.com/r.git"},
	{"clone", "--template=./tpl", "https://example.com/r.git"},
	{"init", "--template", "./tpl", "x"},
	// A repository (and so a configuration) the script wrote.
	{"-C", "build/evil", "status"},
	{"--git-dir=build/evil/.git", "status"},
	{"--work-tree=build/evil", "status"},
	// Options and subcommands that run a program.
	{"rebase", "-x", "make test", "main"},
	{"rebase", "--exec=./evil", "main"},
	{"rebase", "-x./evil", "main"},
	{"submodule", "foreach", "sh -c id"},
	{"submodule", "--quiet", "foreach", "id"},
	{"bisect", "run", "./evil.sh"},
	{"difftool", "-x", "./evil"},
	{"difftool", "--extcmd=./evil"},
	{"difftool", "--tool=vimdiff"},
	{"mergetool"},
	{"clone", "-u", "./evil", "https://example.com/r.git"},
	{"clone", "--upload-pack=./evil", "https://example.com/r.git"},
	{"fetch", "--upload-pack=./evil", "origin"},
	{"pull", "--upload-pack", "./evil", "origin"},
	{"ls-remote", "--upload-pack=./evil", "origin"},
	{"ls-remote", "-u", "./evil", "origin"},
	{"fetch-pack", "--exec=./evil", "https://example.com/r.git"},
	{"push", "--receive-pack=./evil", "origin", "main"},
	{"push", "--exec=./evil", "origin", "main"},
	{"send-pack", "--receive-pack=./evil", "origin", "main"},
	{"archive", "--remote=origin", "--exec=./evil", "HEAD"},
	{"grep", "-O", "./evil", "TODO"},
	{"grep", "-O./evil", "TODO"},
	{"grep", "--open-files-in-pager=./evil", "TODO"},
	{"remote-ext", "origin", "sh -c id"},
	{"web--browse", "https://example.com/"},
	{"instaweb"},
	{"help", "--web", "push"},
	{"help", "-w", "push"},
	{"send-email", "0001.patch"},
}

// Allowed are argv[1:] of ordinary git commands the shipped policies allow.
var Allowed = [][]string{
	{"status"},
	{"status", "--short"},
	{"diff"},
	{"diff", "--stat"},
	{"diff", "--cached"},
	{"diff", "HEAD~1"},
	{"log", "--oneline", "-n", "5"},
	{"log", "-p", "--follow", "README.md"},
	{"show", "HEAD"},
	{"add", "-A"},
	{"commit", "-m", "a message"},
	{"commit", "-am", "a message"},
	{"push"},
	{"push", "origin", "main"},
	{"push", "-u", "origin", "feature"},
	{"push", "--set-upstream", "origin", "feature"},
	{"push", "origin", "feature:feature"},
	{"push", "--tags"},
	{"pull"},
	{"pull", "--rebase"},
	{"fetch", "origin"},
	{"fetch", "--all"},
	{"checkout", "-b", "feature"},
	{"checkout", "main"},
	{"switch", "main"},
	{"branch", "feature"},
	{"branch", "-d", "merged-feature"},
	{"branch", "-a"},
	{"merge", "feature"},
	{"rebase", "main"},
	{"rebase", "--continue"},
	{"stash"},
	{"stash", "pop"},
	{"tag", "v1.0"},
	{"tag", "-a", "v1.0", "-m", "release"},
	{"rev-parse", "HEAD"},
	{"ls-files"},
	{"grep", "TODO"},
	{"remote", "-v"},
	{"clone", "https://github.com/a/b.git"},
	{"cherry-pick", "abc123"},
	{"blame", "README.md"},
}

// Check holds a policy that allows git to the lists: each Denied spelling
// is denied, by [subprocess.deny_args] itself (not by a path check that
// happens to refuse its argument), and each Allowed one is allowed.
func Check(t testing.TB, p *policy.Policy) {
	t.Helper()
	for _, args := range Denied {
		d := p.Decide(policy.SubprocessExec, append([]string{"git"}, args...)...)
		if d.Allowed || !strings.HasPrefix(d.Section, "[subprocess.deny_args]") {
			t.Errorf("git %q: allowed=%v, not by deny_args: %s", args, d.Allowed, d.Reason)
		}
	}
	for _, args := range Allowed {
		if d := p.Decide(policy.SubprocessExec, append([]string{"git"}, args...)...); !d.Allowed {
			t.Errorf("ordinary git %q denied: %s", args, d.Reason)
		}
	}
}

// FakeGit returns a policy.WithLookPath option that finds git as an
// executable in a temporary directory of t (so the tests need no git).
func FakeGit(t testing.TB) policy.Option {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "git")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return policy.WithLookPath(func(name string) (string, error) {
		if name == "git" {
			return bin, nil
		}
		return exec.LookPath(name)
	})
}

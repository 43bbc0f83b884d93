package main

import (
	"path/filepath"
	"testing"

	"github.com/aegisdev/aegis/internal/gitspell"
	"github.com/aegisdev/aegis/policy"
)

// Every starter denies each spelling of the git commands its deny_args
// promise to deny, and allows ordinary git use.
func TestEveryStarterDeniesEveryGitSpelling(t *testing.T) {
	for _, lang := range languageNames() {
		t.Run(lang, func(t *testing.T) {
			dir := project(t, nil)
			if code, _, errOut := aegis(t, dir, "init", "--lang", lang); code != 0 {
				t.Fatalf("init: %d %s", code, errOut)
			}
			p, err := policy.Load(filepath.Join(dir, "aegis.toml"), gitspell.FakeGit(t))
			if err != nil {
				t.Fatal(err)
			}
			if !p.Decide(policy.SubprocessExec, "git", "status").Allowed {
				t.Fatal("the starter does not allow git")
			}
			gitspell.Check(t, p)
		})
	}
}

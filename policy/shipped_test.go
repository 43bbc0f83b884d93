package policy_test

import (
	"path/filepath"
	"testing"

	"github.com/aegisdev/aegis/internal/gitspell"
	"github.com/aegisdev/aegis/policy"
)

// Every example policy that allows git denies each spelling of what its
// deny_args promise (internal/gitspell.Denied) by deny_args itself, and
// allows ordinary git use (gitspell.Allowed).
func TestExamplePoliciesDenyEveryGitSpelling(t *testing.T) {
	files, err := filepath.Glob("../examples/policies/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example policies: %v", err)
	}
	checked := 0
	for _, f := range files {
		p, err := policy.Load(f, gitspell.FakeGit(t))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !p.Decide(policy.SubprocessExec, "git", "status").Allowed {
			continue
		}
		checked++
		t.Run(filepath.Base(f), func(t *testing.T) { gitspell.Check(t, p) })
	}
	if checked < 4 {
		t.Fatalf("only %d example policies allow git", checked)
	}
}

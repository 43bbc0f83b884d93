package policy

import (
	"strings"
	"testing"
)

func TestGitSyntaxMatches(t *testing.T) {
	cases := []struct {
		pattern, argv string
		want          bool
	}{
		// Short flags mean their long options, in either direction.
		{"branch --delete --force", "branch -D x", true},
		{"branch --delete --force", "branch -d -f x", true},
		{"branch --delete --force", "branch -df x", true},
		{"branch -D", "branch --delete --force x", true},
		{"branch -D", "branch -d -f x", true},
		{"branch -D", "branch -d x", false},
		{"branch --delete --force", "branch -d x", false},
		{"branch --force", "branch -M main", true},
		{"push --force", "push -f origin main", true},
		{"push -f", "push --force origin main", true},
		{"push -f", "push --forc origin main", true},
		{"push --delete", "push -d origin x", true},
		{"rebase --exec", "rebase -x make main", true},
		{"rebase --exec", "rebase -xmake main", true},
		{"rebase -x", "rebase --exec=make main", true},
		{"difftool --extcmd", "difftool -x evil", true},
		{"--upload-pack", "clone -u evil url", true},
		{"--upload-pack", "ls-remote --exec=evil origin", true},
		{"--receive-pack", "push --exec=evil origin", true},
		{"--receive-pack", "push --exe=evil origin", true}, // abbreviated
		{"grep --open-files-in-pager", "grep -Oevil TODO", true},
		{"help --web", "help -w push", true},
		// What long options and refspecs imply.
		{"push --force", "push --force-with-lease origin main", true},
		{"push --force", "push --force-with-lease=main:abc origin main", true},
		{"push --force", "push --mirror origin", true},
		{"push --force", "push --mirr origin", true},
		{"push --prune", "push --mirror origin", true},
		{"push --delete", "push --prune origin x:x", true},
		{"push --force", "push origin +main", true},
		{"push --force", "send-pack origin +main", false}, // another subcommand
		{"send-pack --force", "send-pack origin +main", true},
		{"push --delete", "push origin :feature", true},
		{"push --force", "push origin main:main", false},
		{"push --delete", "push origin main:main", false},
		{"push --force", "push -u origin main", false},
		{"switch --force", "switch -C main", true},
		{"switch --force", "switch --discard-changes main", true},
		{"switch --force", "switch -c feature", false},
		{"checkout --force", "checkout -B main", true},
		{"checkout --force", "checkout -b feature", false},
		{"clean --force", "clean -xdf", true},
		{"clean -fdx", "clean --force -x -d", true},
		{"clean -fdx", "clean --force -d", false},
		// Global options come before the subcommand, with their values.
		{"push --force", "-C . push -f origin main", true},
		{"push --force", "--git-dir .git push -f origin main", true},
		{"push --force", "-c x=y push --force", true},
		{"push --force", "log push -f", false}, // "push" is an argument of log here, and -f log's
		// A subcommand in the pattern is a subcommand in the argv.
		{"reflog expire", "reflog expire --all", true},
		{"submodule foreach", "submodule --quiet foreach id", true},
	}
	g := syntaxFor("git")
	for _, tc := range cases {
		if got := g.syntaxMatches(strings.Fields(tc.pattern), strings.Fields(tc.argv)); got != tc.want {
			t.Errorf("git syntaxMatches(%q, %q) = %v, want %v", tc.pattern, tc.argv, got, tc.want)
		}
	}
}

// The reading by syntax only adds matches: whatever matches literally is
// still denied, and programs Aegis knows nothing of keep argv.go's matching.
func TestDenyArgsSyntaxOnlyAdds(t *testing.T) {
	literal := []struct{ pattern, argv string }{
		{"push --force", "--force push"},     // not git's order, still denied
		{"push --force", "log push --force"}, // literal: every word is there
		{"-c", "switch -c feature"},          // over-approximation kept
		{"push +*", "push origin +main"},
	}
	for _, tc := range literal {
		r := argRule{cmd: cmdRule{name: "git"}, tokens: strings.Fields(tc.pattern)}
		if !r.matches(strings.Fields(tc.argv)) {
			t.Errorf("git %q no longer denies %q", tc.pattern, tc.argv)
		}
	}
	other := argRule{cmd: cmdRule{name: "hg"}, tokens: strings.Fields("push --force")}
	if other.matches(strings.Fields("push -f")) {
		t.Error("git's aliases applied to another program")
	}
	if !other.matches(strings.Fields("push --forc")) {
		t.Error("literal matching lost for another program")
	}
}

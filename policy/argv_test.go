package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestArgvMatches(t *testing.T) {
	cases := []struct {
		pattern string
		argv    string
		want    bool
	}{
		{"push --force", "push --force", true},
		{"push --force", "push origin main --force", true}, // order-free
		{"push --force", "--force push", true},
		{"push --force", "push --forc", true}, // an abbreviation git would accept
		{"push --force", "push --fo", true},
		{"push --force", "push --force=yes", true},
		{"push --force", "push -force", true}, // Go-style single dash
		{"push --force", "push", false},
		{"push --force", "pull --force", false},
		{"push --force", "push --force-with-lease", false}, // a different option...
		{"push --force-with-lease", "push --force-with-lease=main", true},
		{"push --force-with-lease", "push --force", true}, // ...an abbreviation of this one
		{"push -f", "push -f", true},
		{"push -f", "push -uf origin", true}, // combined short flags
		{"push -f", "push -u origin", false},
		{"push -f", "push --follow-tags", false},
		{"clean -fd", "clean -fd", true},
		{"clean -fd", "clean -df", true},
		{"clean -fd", "clean -f -d", true},
		{"clean -fd", "clean -xdf", true},
		{"clean -fd", "clean -f", false},
		{"clean -fd", "clean -n -d", false},
		{"-c", "-Ic code", true}, // python -Ic
		{"-e", "-le code", true}, // ruby -le
		{"-c", "--check", false},
		{"-exec", ". -exec sh ;", true},
		{"-exec", ". -execdir sh ;", false},
		{"-exec", ". --exec=sh", true},
		{"-exec", ". -ctime 1 -xdev -empty", false}, // long single-dash patterns are not letter sets
		{"push +*", "push origin +main", true},
		{"push +*", "push origin main", false},
		{"-c alias.*", "-c alias.p=push --force p", true},
		{"db:drop", "db:drop", true},
		{"db:drop", "db:drop:all", false},
		{"publish", "", false},
		{"--", "--", true},
	}
	for _, tc := range cases {
		got := argvMatches(strings.Fields(tc.pattern), strings.Fields(tc.argv))
		if got != tc.want {
			t.Errorf("argvMatches(%q, %q) = %v, want %v", tc.pattern, tc.argv, got, tc.want)
		}
	}
}

func TestPathCandidates(t *testing.T) {
	cases := []struct {
		arg  string
		want []string
	}{
		{"src/a.go", []string{"src/a.go"}},
		{"--output=/etc/x", []string{"/etc/x"}},
		{"--git-dir=/home/u/.ssh", []string{"/home/u/.ssh"}},
		{"--flag", nil},
		{"-f/etc/shadow", []string{"/etc/shadow"}},
		{"-xf/etc/passwd", []string{"f/etc/passwd", "/etc/passwd"}},
		{"-I../include", []string{"../include"}},
		{"-o=./out", []string{"./out"}},
		{"-v", nil},
		{"if=/etc/passwd", []string{"if=/etc/passwd", "/etc/passwd"}},
		{"--classpath=a.jar:/etc/passwd", []string{"a.jar:/etc/passwd", "a.jar", "/etc/passwd"}},
		{"~/.ssh/id_rsa", []string{"~/.ssh/id_rsa"}},
		{"-", []string{"-"}},
		{"https://github.com/a/b.git", []string{"https://github.com/a/b.git"}},
		{"file:///etc/passwd", []string{"file:///etc/passwd", "/etc/passwd"}},
		{"--url=FILE://localhost/etc/shadow", []string{"FILE://localhost/etc/shadow", "/etc/shadow"}},
		{"git@github.com:a/b.git", []string{"git@github.com:a/b.git", "git@github.com", "a/b.git"}},
		{"", nil},
	}
	for _, tc := range cases {
		if got := pathCandidates(tc.arg); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pathCandidates(%q) = %q, want %q", tc.arg, got, tc.want)
		}
	}
}

func TestWildMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*.github.com", "api.github.com", true},
		{"*.github.com", "a.b.github.com", true},
		{"*.github.com", "github.com", false},
		{"*.github.com", "evilgithub.com", false},
		{"api.github.com", "api.github.com.evil", false},
		{"?", "a", true},
		{"?", "", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false}, // no exponential blowup
	}
	for _, tc := range cases {
		if got := wildMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

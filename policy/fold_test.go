package policy

import (
	"path/filepath"
	"strings"
	"testing"
)

// On a case-insensitive file system (macOS by default) "SECRETS/token"
// opens secrets/token: rules must match it too. foldCase is on for darwin
// builds; here it is turned on to check the matching on any system.
func TestCaseInsensitiveMatchingWhereTheFileSystemIs(t *testing.T) {
	old := foldCase
	foldCase = true
	defer func() { foldCase = old }()
	w := newWorld(t)
	w.file("secrets/token")
	w.file("src/a.go")
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**", "**/*.md"]
local_only_read = ["Vault/**"]
deny = ["secrets/**", "**/.ENV"]
`)
	for _, target := range []string{"SECRETS/token", "Secrets/Token", "secrets/TOKEN", "src/../SeCrEtS/token", ".env", "src/.Env"} {
		if d := p.Decide(FSRead, target); d.Allowed {
			t.Errorf("%s allowed on a case-insensitive system: %s", target, d.Reason)
		}
	}
	for _, target := range []string{"SRC/a.go", "src/A.GO", "docs/README.MD"} {
		if d := p.Decide(FSRead, target); !d.Allowed {
			t.Errorf("%s denied: %s", target, d.Reason)
		}
	}
	if d := p.Decide(FSRead, "VAULT/key"); !d.Allowed || !d.LocalOnly {
		t.Errorf("VAULT/key is not read as local-only: %+v", d)
	}
	// The load-time guard sees the policy file under any case.
	if _, err := w.load("[filesystem]\nwrite_allow = [\"AEGIS.TOML\"]\n"); err == nil {
		t.Error("a policy that lets scripts write AEGIS.TOML (the policy file, aegis.toml) loaded")
	}
}

func TestCaseSensitiveMatchingElsewhere(t *testing.T) {
	old := foldCase
	foldCase = false
	defer func() { foldCase = old }()
	w := newWorld(t)
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
`)
	if d := p.Decide(FSRead, "SRC/a.go"); d.Allowed {
		t.Errorf("case-sensitive system: SRC/a.go allowed by src/**")
	}
}

// A directory argument that holds local-only files hands them over (grep
// -r): on a case-insensitive system the folded rule must still be found
// under a directory whose real path has capitals (the test's temporary
// directory is named after the test).
func TestCaseInsensitiveLocalOnlyUnderADirectory(t *testing.T) {
	old := foldCase
	foldCase = true
	defer func() { foldCase = old }()
	w := newWorld(t)
	if strings.ToLower(w.root) == w.root {
		t.Fatalf("the root %s has no capital: the check below would prove nothing", w.root)
	}
	w.program("", "grep")
	w.file("data/vault/key")
	w.file("src/a.go")
	p := w.mustLoad(`
[filesystem]
read_allow = ["data/**", "src/**"]
local_only_read = ["data/vault/**"]
[subprocess]
allow_commands = ["grep"]
`)
	for _, dir := range []string{"data", filepath.Join(w.root, "data")} {
		if d := p.Decide(SubprocessExec, "grep", "-r", "token", dir); d.Allowed {
			t.Errorf("grep -r over %s (holding data/vault/key, local-only) allowed: %s", dir, d.Reason)
		}
	}
	if d := p.Decide(SubprocessExec, "grep", "-r", "token", "src"); !d.Allowed {
		t.Errorf("grep -r src denied: %s", d.Reason)
	}
}

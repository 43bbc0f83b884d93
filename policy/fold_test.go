package policy

import (
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

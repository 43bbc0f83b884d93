package policy

import (
	"path/filepath"
	"testing"
)

// The sample policies in examples/policies are documentation; they must
// load under the strict loader and keep what their comments promise.
func TestExamplePoliciesLoad(t *testing.T) {
	files, err := filepath.Glob("../examples/policies/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example policies found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Load(f, WithResolver(fakeDNS{}))
			if err != nil {
				t.Fatal(err)
			}
			if p.Decide(FSRead, ".env").Allowed || p.Decide(FSWrite, filepath.Base(f)).Allowed {
				t.Error("an example lets scripts read .env or rewrite the policy")
			}
		})
	}
	p, err := Load("../examples/policies/local-only-secrets.toml", WithResolver(fakeDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	if !p.FlowAllowed(FSWrite, "vault/cache/x").Allowed || p.FlowAllowed(FSWrite, "src/x").Allowed ||
		!p.FlowAllowed(HTTPPost, "https://vault.internal/").Allowed || p.FlowAllowed(HTTPGet, "https://api.github.com/").Allowed {
		t.Error("the local-only zone is not what the example's comment says")
	}
	if d := p.Decide(EnvRead, "VAULT_TOKEN"); !d.Allowed || !d.LocalOnly {
		t.Errorf("VAULT_TOKEN: %+v", d)
	}
}

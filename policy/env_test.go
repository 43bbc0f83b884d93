package policy

import (
	"reflect"
	"testing"
)

func TestEnvironmentRules(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad(`
inherits = "secure-defaults"
[environment]
allow_vars = ["HOME", "LC_*", "MY_TOKEN", "AEGIS_TOKEN", "SECRET_ONE"]
local_only_vars = ["SECRET_*", "DEMO_SECRET"]
deny_vars = ["LC_SECRET", "MY_TOKEN"]
`)
	runChecks(t, p, []check{
		ck(EnvRead, true, "HOME", `allow_vars "HOME"`),
		ck(EnvRead, true, "LC_ALL", `allow_vars "LC_*"`),
		ck(EnvRead, false, "LC_SECRET", `deny_vars "LC_SECRET"`),       // deny wins over a glob allow
		ck(EnvRead, false, "GITHUB_TOKEN", `deny_vars "GITHUB_TOKEN"`), // ...and over an exact one
		ck(EnvRead, false, "AEGIS_TOKEN", "reserved for Aegis"),        // whatever the policy says
		ck(EnvRead, true, "SECRET_ONE", `local_only_vars "SECRET_*"`),  // local-only wins over allow
		ck(EnvRead, true, "DEMO_SECRET", `local_only_vars "DEMO_SECRET"`),
		ck(EnvRead, false, "home", "no [environment].allow_vars"), // names are case-sensitive
		ck(EnvRead, false, "PATH", "no [environment].allow_vars"),
		ck(EnvRead, false, "", "not a valid variable name"),
		ck(EnvRead, false, "A=B", "not a valid variable name"),
		ck(EnvRead, false, "A\x00", "not a valid variable name"),
	})
	if d := p.Decide(EnvRead, "SECRET_ONE"); !d.LocalOnly || d.Principal != "env:SECRET_*" {
		t.Errorf("local-only var: %+v", d)
	}
	environ := []string{"HOME=/h", "LC_ALL=C", "LC_SECRET=x", "GITHUB_TOKEN=t", "MY_TOKEN=m", "AEGIS_TOKEN=a", "SECRET_ONE=s", "PATH=/bin", "DEMO_SECRET=d", "junk"}
	env, prs := p.ChildEnv(environ, false)
	if want := []string{"HOME=/h", "LC_ALL=C"}; !reflect.DeepEqual(env, want) || prs != nil {
		t.Errorf("ChildEnv(plain) = %v %v, want %v", env, prs, want)
	}
	env, prs = p.ChildEnv(environ, true)
	if want := []string{"HOME=/h", "LC_ALL=C", "SECRET_ONE=s", "DEMO_SECRET=d"}; !reflect.DeepEqual(env, want) {
		t.Errorf("ChildEnv(local) = %v, want %v", env, want)
	}
	if want := []string{"env:SECRET_*", "env:DEMO_SECRET"}; !reflect.DeepEqual(prs, want) {
		t.Errorf("ChildEnv principals = %v, want %v", prs, want)
	}
	if !reflect.DeepEqual(p.AllowedEnv(), []string{"HOME", "LC_*", "MY_TOKEN", "AEGIS_TOKEN", "SECRET_ONE"}) {
		t.Errorf("AllowedEnv = %v", p.AllowedEnv())
	}
}

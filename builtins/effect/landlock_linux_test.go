package effect

import (
	"path/filepath"
	"testing"
)

func TestLandlockRulesCarve(t *testing.T) {
	f := newJailFixture(t)
	rules := f.spec().landlockRules("")
	got := map[string]string{}
	for _, r := range rules {
		got[r.Path] = r.Access
	}
	want := map[string]string{
		f.root:                             "list",
		filepath.Join(f.root, "src"):       "list",
		filepath.Join(f.root, "src/a.txt"): "rw",
		f.out:                              "rw",
		f.policy:                           "ro",
	}
	for p, a := range want {
		if got[p] != a {
			t.Errorf("%s: %q, want %q (%v)", p, got[p], a, got)
		}
	}
	for _, p := range []string{f.secretDir, f.secretFile, filepath.Join(f.secretDir, "token")} {
		if _, ok := got[p]; ok {
			t.Errorf("hidden %s granted", p)
		}
	}
}

package policy

import (
	"strings"
	"testing"
)

// [runtime].max_secret_dependent_aborts: parsed, defaulted, merged like the
// other limits (smaller wins) and shown with provenance; unlike them it may be 0.
func TestSecretDependentAbortsKey(t *testing.T) {
	w := newWorld(t)
	if got := w.mustLoad("").Runtime().MaxSecretDependentAborts; got != 16 {
		t.Errorf("default = %d, want 16", got)
	}
	if got := w.mustLoad("[runtime]\nmax_secret_dependent_aborts = 3\n").Runtime().MaxSecretDependentAborts; got != 3 {
		t.Errorf("set to 3, got %d", got)
	}
	if got := w.mustLoad("[runtime]\nmax_secret_dependent_aborts = 0\n").Runtime().MaxSecretDependentAborts; got != 0 {
		t.Errorf("set to 0, got %d", got)
	}
	// Under a preset the file's value applies (the presets leave it unset).
	p := w.mustLoad("inherits = \"secure-defaults\"\n[runtime]\nmax_secret_dependent_aborts = 200\n")
	if got := p.Runtime().MaxSecretDependentAborts; got != 200 {
		t.Errorf("under a preset: %d, want 200", got)
	}
	var shown *Scalar
	d := p.Describe()
	for i := range d.Runtime {
		if d.Runtime[i].Key == "[runtime].max_secret_dependent_aborts" {
			shown = &d.Runtime[i]
		}
	}
	if shown == nil || shown.Value != int64(200) || !strings.HasSuffix(shown.From, "aegis.toml:3") {
		t.Errorf("policy show: %+v", shown)
	}
	d = w.mustLoad("").Describe()
	shown = nil
	for i := range d.Runtime {
		if d.Runtime[i].Key == "[runtime].max_secret_dependent_aborts" {
			shown = &d.Runtime[i]
		}
	}
	if shown == nil || shown.Value != int64(16) || shown.From != "default" {
		t.Errorf("policy show of the default: %+v", shown)
	}
}

func TestSecretDependentAbortsKeyIsStrict(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"negative", "[runtime]\nmax_secret_dependent_aborts = -1\n", []string{"[runtime].max_secret_dependent_aborts", "between 0 and", "got -1"}},
		{"string", "[runtime]\nmax_secret_dependent_aborts = \"16\"\n", []string{"must be an integer, not a string"}},
		{"float", "[runtime]\nmax_secret_dependent_aborts = 1.5\n", []string{"must be an integer, not a float"}},
		{"typo", "[runtime]\nmax_secret_dependant_aborts = 4\n", []string{`did you mean "max_secret_dependent_aborts"?`}},
		{"wrong section", "[environment]\nmax_secret_dependent_aborts = 4\n", []string{"max_secret_dependent_aborts belongs in [runtime]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			probs := loadProblems(t, w, c.src)
			if len(probs) != 1 {
				t.Fatalf("want one problem, got %v", probs)
			}
			for _, s := range c.want {
				if !strings.Contains(probs[0].String(), s) {
					t.Errorf("problem %q lacks %q", probs[0].String(), s)
				}
			}
		})
	}
}

func TestSecretDependentAbortsMergeSmallerWins(t *testing.T) {
	for _, c := range []struct {
		base, over int64
		baseSet    bool
		wantV      int64
	}{
		{base: 4, over: 10, baseSet: true, wantV: 4},
		{base: 10, over: 4, baseSet: true, wantV: 4},
		{base: 10, over: 0, baseSet: true, wantV: 0},
		{over: 7, wantV: 7},
	} {
		base, over := &spec{}, &spec{}
		if c.baseSet {
			base.Runtime.SecretAborts.set(c.base, Source{Preset: "x"})
		}
		over.Runtime.SecretAborts.set(c.over, Source{File: "f", Line: 1})
		var probs problems
		m := merge(base, over, "f", &probs)
		if !m.Runtime.SecretAborts.Set || m.Runtime.SecretAborts.Value != c.wantV {
			t.Errorf("merge(%d, %d) = %+v, want %d", c.base, c.over, m.Runtime.SecretAborts, c.wantV)
		}
	}
	// A file that does not set it keeps the base's value.
	base := &spec{}
	base.Runtime.SecretAborts.set(2, Source{Preset: "x"})
	var probs problems
	if m := merge(base, &spec{}, "f", &probs); m.Runtime.SecretAborts.Value != 2 {
		t.Errorf("unset in the file: %+v", m.Runtime.SecretAborts)
	}
}

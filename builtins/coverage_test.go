package builtins

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/builtins/verify"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// Every builtin a script can reach through this package has a Rules entry,
// and its construction matches the entry: sources and sinks are label-aware,
// pure helpers are shallow or conservative. A builtin added without a rule,
// or made with plain NewBuiltin, fails here.
func TestEveryBuiltinIsClassified(t *testing.T) {
	p, err := policy.Preset("secure-defaults", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{Ctx: context.Background(), Policy: p, Registry: p.NewRegistry()}
	found := map[string]*starlark.Builtin{}
	for name, v := range h.Modules() {
		switch v := v.(type) {
		case *starlark.Builtin:
			found[name] = v
		case *starlarkstruct.Module:
			for member, mv := range v.Members {
				b, ok := mv.(*starlark.Builtin)
				if !ok {
					// A constant (math.pi, time.second): immutable, and
					// nothing a script can call.
					if _, callable := mv.(starlark.Callable); callable || !isConstant(mv) {
						t.Errorf("%s.%s is a %s, neither a builtin nor a constant", name, member, mv.Type())
					}
					continue
				}
				found[name+"."+member] = b
			}
		default:
			t.Errorf("predeclared %s is a %s", name, v.Type())
		}
	}
	var names []string
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b := found[name]
		rule, ok := RuleOf(name)
		if !ok {
			t.Errorf("%s has no entry in Rules", name)
			continue
		}
		if b.Name() != name {
			t.Errorf("%s reports its name as %q (errors and audit would misname it)", name, b.Name())
		}
		lr := b.LabelRule()
		switch rule {
		case Source, Sink, SourceSink, Release:
			if lr != starlark.RuleAware {
				t.Errorf("%s is a %s but its label rule is %s", name, rule, lr)
			}
		case Pure:
			// A pure function may also label its result itself, exactly
			// (json, struct), or be one of the fork's audited rules.
			if lr == starlark.RuleUnclassified || lr == starlark.RuleSink {
				t.Errorf("%s is pure but its label rule is %s", name, lr)
			}
		default:
			t.Errorf("%s has unknown rule %q", name, rule)
		}
	}
	for _, r := range Rules {
		if mod, ok := strings.CutSuffix(r.Name, ".*"); ok {
			n := 0
			for name := range found {
				if strings.HasPrefix(name, mod+".") {
					n++
				}
			}
			if n == 0 {
				t.Errorf("Rules lists %s, but module %s has no builtins", r.Name, mod)
			}
			continue
		}
		if found[r.Name] == nil {
			t.Errorf("Rules lists %s, which no module provides", r.Name)
		}
	}
	// The verifier's table and the modules describe the same capabilities.
	for _, m := range verify.Table {
		name := m.Module + "." + m.Name
		rule, ok := RuleOf(name)
		if !ok || found[name] == nil {
			t.Errorf("the verifier knows %s, the modules do not", name)
		} else if rule == Pure {
			t.Errorf("capability %s is classified pure", name)
		}
	}
	for _, r := range Rules {
		if r.Rule == Pure || r.Rule == Release {
			// A release's capability depends on which source it names
			// (env.read, fs.read, fs.exists, net.http_get): the policy
			// decides at run time.
			continue
		}
		mod, member := splitName(r.Name)
		if _, ok := verify.Lookup(mod, member); !ok {
			t.Errorf("capability %s is missing from the verifier's table", r.Name)
		}
	}
}

// isConstant reports whether a module member is an immutable constant.
func isConstant(v starlark.Value) bool {
	switch v.(type) {
	case starlark.Float, starlark.Int, starlark.String, starlark.Bool:
		return true
	}
	// lib/time's durations
	return v.Type() == "time.duration"
}

func splitName(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

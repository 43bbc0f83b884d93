package builtins

import (
	"context"
	"slices"
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
}

// The capability modules a script gets are exactly the policy's capability
// table (policy.ScriptMembers), every member has an implementation, and the
// verifier knows the same members exercising the same capabilities. Found
// by looking at the real module values, so a member added to a module by
// hand, or a table entry this package does not implement, fails here.
func TestCapabilityModulesAreTheTable(t *testing.T) {
	p, err := policy.Preset("secure-defaults", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{Ctx: context.Background(), Policy: p, Registry: p.NewRegistry()}
	mods := h.Modules()
	want := map[string]policy.ScriptMember{}
	for _, m := range policy.ScriptMembers() {
		want[m.Module+"."+m.Name] = m
	}
	got := map[string]*starlark.Builtin{}
	for _, name := range policy.CapabilityModules() {
		mod, ok := mods[name].(*starlarkstruct.Module)
		if !ok {
			t.Errorf("capability module %s is missing from Modules (got %v)", name, mods[name])
			continue
		}
		for member, v := range mod.Members {
			b, ok := v.(*starlark.Builtin)
			if !ok {
				t.Errorf("%s.%s is a %s, not a builtin", name, member, v.Type())
				continue
			}
			got[name+"."+member] = b
		}
	}
	for name, b := range got {
		m, ok := want[name]
		if !ok {
			t.Errorf("%s is a member of a capability module but has no entry in the capability table (policy/capabilities.go)", name)
			continue
		}
		if b != nil && b.Name() != name {
			t.Errorf("%s reports its name as %q", name, b.Name())
		}
		if h.memberFunc(m) == nil {
			t.Errorf("%s is in the capability table but has no implementation (builtins/capabilities.go memberFunc)", name)
		}
		vm, ok := verify.Lookup(m.Module, m.Name)
		if !ok || !slices.Equal(vm.Capabilities, m.Capabilities) {
			t.Errorf("the verifier sees %s as %+v, the table as %+v", name, vm, m)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("the capability table lists %s, but no module provides it", name)
		}
	}
	for _, c := range policy.AllCapabilities() {
		if rule, ok := RuleOf(string(c)); !ok || rule == Pure || rule == Release {
			t.Errorf("capability %s has rule %q", c, rule)
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

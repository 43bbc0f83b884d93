// Aegis: the builtin coverage test. Every builtin of the core library and of
// the json, math and time modules must carry an explicit label rule; a new
// upstream builtin fails here until someone classifies it.

package starlark_test

import (
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/lib/json"
	starlarkmath "github.com/aegisdev/aegis/starlark-ifc/lib/math"
	"github.com/aegisdev/aegis/starlark-ifc/lib/time"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

func TestBuiltinCoverage(t *testing.T) {
	checked := 0
	check := func(where string, v starlark.Value) {
		b, ok := v.(*starlark.Builtin)
		if !ok {
			return // a constant (None, True, math.pi, time.second, ...)
		}
		checked++
		if b.LabelRule() == starlark.RuleUnclassified {
			t.Errorf("%s: builtin %s has no label rule (classify it in ifc_rules.go or at its NewBuiltin)", where, b.Name())
		}
	}
	for name, v := range starlark.Universe {
		check("universe "+name, v)
	}
	for _, recv := range []starlark.HasAttrs{
		starlark.String(""), starlark.Bytes(""), starlark.NewList(nil), starlark.NewDict(0), starlark.NewSet(0),
		time.Time{}, time.Duration(0),
	} {
		for _, name := range recv.AttrNames() {
			m, err := recv.Attr(name)
			if err != nil {
				t.Fatal(err)
			}
			check(recv.Type()+"."+name, m)
		}
	}
	for _, mod := range []*starlarkstruct.Module{json.Module, starlarkmath.Module, time.Module} {
		for name, v := range mod.Members {
			check(mod.Name+"."+name, v)
		}
	}
	check("starlarkstruct.NewMake", starlarkstruct.NewMake())
	check("starlarkstruct.NewMakeModule", starlarkstruct.NewMakeModule())
	// The test must not pass vacuously.
	if checked < 130 {
		t.Errorf("checked only %d builtins", checked)
	}
	if got := starlark.NewBuiltin("host", nil).LabelRule(); got != starlark.RuleUnclassified {
		t.Errorf("NewBuiltin rule = %v, want unclassified (conservative)", got)
	}
}

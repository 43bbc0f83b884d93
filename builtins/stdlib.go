package builtins

import (
	starlarkmath "github.com/aegisdev/aegis/starlark-ifc/lib/math"
	starlarktime "github.com/aegisdev/aegis/starlark-ifc/lib/time"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// The time and math modules are the fork's (starlark-ifc/lib), whose
// functions are shallow: a result is labelled with the pc and its
// arguments. time.now() is also labelled with every label the run has seen
// (Thread.SeenLabel): the clock read after `if secret: loop()` depends on the
// secret. Before the first local-only read it is public, which is how a
// script gets today's date. No member sleeps or waits.

// timeModule is lib/time under Aegis's names (time.now, not now, in errors
// and the audit of rules).
func timeModule() *starlarkstruct.Module { return renamed(starlarktime.Module) }

// mathModule is lib/math under Aegis's names.
func mathModule() *starlarkstruct.Module { return renamed(starlarkmath.Module) }

// renamed returns a copy of a library module whose builtins are named
// "module.member" and keep their label rule. Constants (math.pi,
// time.second) are shared as they are: they are immutable.
func renamed(m *starlarkstruct.Module) *starlarkstruct.Module {
	members := make(starlark.StringDict, len(m.Members))
	for name, v := range m.Members {
		inner, ok := v.(*starlark.Builtin)
		if !ok {
			members[name] = v
			continue
		}
		full := m.Name + "." + name
		fn := func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return inner.CallInternal(thread, args, kwargs)
		}
		if inner.LabelRule() == starlark.RuleShallow {
			members[name] = starlark.NewShallowBuiltin(full, fn)
		} else {
			// The conservative rule is sound for any builtin that keeps
			// no state; a library builtin classified otherwise would need
			// its own audit to be labelled more precisely.
			members[name] = starlark.NewConservativeBuiltin(full, fn)
		}
	}
	return &starlarkstruct.Module{Name: m.Name, Members: members}
}

package builtins

import (
	"strings"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// envRead: env.read(name, default=None) -> str, or default when the variable
// is unset. A local_only_vars variable reads back labelled, and so does the
// fact that it is set.
func (h *Host) envRead(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	nl := argLabel(thread, args, 0, "name")
	dl := argLabel(thread, args, 1, "default")
	c, src, err := h.beginSource(thread, policy.EnvRead, name, nl, labels.Env(name))
	if err != nil {
		return nil, err
	}
	thread.SetResultLabel(nl | src | dl)
	if err := c.allow(); err != nil {
		return nil, err
	}
	if v, ok := h.lookupEnv(name); ok {
		if err := h.chargeAlloc(thread, int64(len(v)), nl|src); err != nil {
			return nil, err
		}
		return starlark.String(v), nil
	}
	return def, nil
}

// lookupEnv finds name in Environ (the last assignment wins, as in a shell).
func (h *Host) lookupEnv(name string) (string, bool) {
	for i := len(h.Environ) - 1; i >= 0; i-- {
		k, v, ok := strings.Cut(h.Environ[i], "=")
		if ok && k == name {
			return v, true
		}
	}
	return "", false
}

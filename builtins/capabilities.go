package builtins

import (
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// The capability modules (fs, net, env, subprocess) are built from the
// policy's capability table (policy.ScriptMembers): their names, their
// members and each builtin's name come from there. What this package adds
// is the implementation of each member, registered in memberFunc.

// memberFunc is the implementation of a capability member, or nil when
// this package has none (a table entry without a builtin: the coverage
// test fails on it).
func (h *Host) memberFunc(m policy.ScriptMember) starlark.BuiltinFunc {
	if len(m.Capabilities) == 1 && m.Capabilities[0] == policy.Capability(m.Module+"."+m.Name) {
		return h.capabilityFunc(m.Capabilities[0])
	}
	switch m.Module + "." + m.Name {
	case "net.request":
		return h.netRequest
	case "fs.stat":
		return h.fsStat
	case "fs.is_dir":
		return h.fsIsDir
	case "fs.is_file":
		return h.fsIsFile
	case "fs.walk":
		return h.fsWalk
	case "fs.glob":
		return h.fsGlob
	}
	return nil
}

// capabilityFunc is the builtin that exercises capability c.
func (h *Host) capabilityFunc(c policy.Capability) starlark.BuiltinFunc {
	switch c {
	case policy.FSRead:
		return h.fsRead
	case policy.FSWrite:
		return h.fsWrite
	case policy.FSDelete:
		return h.fsDelete
	case policy.FSList:
		return h.fsList
	case policy.FSExists:
		return h.fsExists
	case policy.EnvRead:
		return h.envRead
	case policy.SubprocessExec:
		return h.subprocessExec
	}
	if i, ok := c.Info(); ok && i.Method != "" {
		return h.netVerb(i.Method, c, methodTakesBody(i.Method))
	}
	return nil
}

// capabilityModule builds the capability module name from the table.
func (h *Host) capabilityModule(name string) *starlarkstruct.Module {
	members := starlark.StringDict{}
	for _, m := range policy.ScriptMembers() {
		if m.Module != name {
			continue
		}
		full := m.Module + "." + m.Name
		fn := h.memberFunc(m)
		if fn == nil {
			fn = unimplemented
		}
		members[m.Name] = starlark.NewLabelAwareBuiltin(full, fn)
	}
	return module(name, members)
}

// unimplemented stands for a table entry this build has no builtin for:
// calling it fails (the coverage test keeps it from ever being reached).
func unimplemented(_ *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	return nil, fmt.Errorf("%s: not implemented in this build of Aegis (internal error)", b.Name())
}

// methodTakesBody reports whether the net verb of an HTTP method takes a
// body argument (net.http_post(url, body, headers={})).
func methodTakesBody(method string) bool {
	switch strings.ToUpper(method) {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

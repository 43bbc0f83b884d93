package policy

import (
	"fmt"
	"sort"

	"github.com/aegisdev/aegis/internal/suggest"
)

// ToolRecord is one [tools.X] entry: the capabilities a named tool needs,
// and optional routing hints for an MCP host. The hints are informational;
// the URL is still judged by [network] on every call.
type ToolRecord struct {
	Name          string       `json:"name"`
	Capabilities  []Capability `json:"capabilities"`
	BackendURL    string       `json:"backend_url,omitempty"`
	BackendMethod string       `json:"backend_method,omitempty"`
	Description   string       `json:"description,omitempty"`
}

// Tools returns the [tools] records by name.
func (p *Policy) Tools() map[string]ToolRecord {
	out := make(map[string]ToolRecord, len(p.tools))
	for k, v := range p.tools {
		v.Capabilities = append([]Capability(nil), v.Capabilities...)
		out[k] = v
	}
	return out
}

// DecideTool reports whether the named tool may be offered: it must be
// declared, and every capability it lists must be enabled.
func (p *Policy) DecideTool(name string) Decision {
	d := Decision{Target: name}
	t, ok := p.tools[name]
	if !ok {
		names := make([]string, 0, len(p.tools))
		for n := range p.tools {
			names = append(names, n)
		}
		sort.Strings(names)
		d.Reason = fmt.Sprintf("tool %q denied: it is not declared in [tools]", name)
		d.Hint = fmt.Sprintf("declare it: [tools.%s] capabilities = [...]", name)
		if s := suggest.DidYouMean(name, names); s != "" {
			d.Hint = s + "; or " + d.Hint
		}
		return d
	}
	for _, c := range t.Capabilities {
		if !p.Enabled(c) {
			d.Capability = c
			d.Reason = fmt.Sprintf("tool %q denied: it needs %s, which the policy does not enable", name, c)
			d.Hint = fmt.Sprintf("grant %s (fill %s), or remove it from [tools.%s].capabilities", c, GrantText(c), name)
			return d
		}
	}
	d.Allowed = true
	d.Section = "[tools." + name + "]"
	d.Reason = fmt.Sprintf("tool %q allowed: every capability it lists is enabled", name)
	return d
}

package policy

import (
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/labels"
)

// Environment decisions. Names are exact unless the entry holds a wildcard
// ('*' any run, '?' one character: "LC_*"). Order: the reserved AEGIS_*
// credentials (never readable, whatever the policy says), deny_vars,
// local_only_vars (labelled), allow_vars, default deny.

type nameRule struct {
	entry Entry
	key   string
	glob  bool
}

func (r *nameRule) match(name string) bool {
	if r.glob {
		return wildMatch(r.entry.Value, name)
	}
	return r.entry.Value == name
}

func firstNameMatch(rules []nameRule, name string) *nameRule {
	for i := range rules {
		if rules[i].match(name) {
			return &rules[i]
		}
	}
	return nil
}

// IsReservedVar reports whether name is one of the variables Aegis keeps to
// itself: never readable by a script, never passed to a child.
func IsReservedVar(name string) bool {
	for _, r := range reservedVars {
		if r == name {
			return true
		}
	}
	return false
}

func (p *Policy) decideEnv(name string) Decision {
	d := Decision{Capability: EnvRead, Target: name}
	if name == "" || len(name) > 1024 || strings.ContainsAny(name, "=\x00") {
		d.Reason = fmt.Sprintf("env.read of %s denied: not a valid variable name", shown(name))
		d.Hint = "give a name such as HOME"
		return d
	}
	if IsReservedVar(name) {
		d.Reason = fmt.Sprintf("env.read of %s denied: the variable is reserved for Aegis itself", name)
		d.Hint = "no policy can allow it"
		return d
	}
	if r := firstNameMatch(p.envDeny, name); r != nil {
		d.by(r.entry, r.key)
		d.Reason = fmt.Sprintf("env.read of %s denied by %s %q (%s)", name, r.key, r.entry.Value, d.Source)
		d.Hint = denyHint(r.entry, r.key)
		return d
	}
	if r := firstNameMatch(p.envLocal, name); r != nil {
		d.Allowed = true
		d.by(r.entry, r.key)
		d.addPrincipal(labels.Env(r.entry.Value))
		d.Reason = fmt.Sprintf("env.read of %s allowed by %s %q (%s); the value is local-only", name, r.key, r.entry.Value, d.Source)
		return d
	}
	if r := firstNameMatch(p.envAllow, name); r != nil {
		d.Allowed = true
		d.by(r.entry, r.key)
		d.Reason = fmt.Sprintf("env.read of %s allowed by %s %q (%s)", name, r.key, r.entry.Value, d.Source)
		return d
	}
	d.Reason = fmt.Sprintf("env.read of %s denied: no [environment].allow_vars or local_only_vars entry matches it", name)
	d.Hint = fmt.Sprintf("to allow it, add %q to [environment].allow_vars (or local_only_vars if the value is secret)", name)
	return d
}

// AllowedEnv returns the allow_vars entries (names or globs).
func (p *Policy) AllowedEnv() []string { return ruleValues(p.envAllow) }

// LocalOnlyEnv returns the local_only_vars entries (names or globs).
func (p *Policy) LocalOnlyEnv() []string { return ruleValues(p.envLocal) }

// DeniedEnv returns the deny_vars entries (names or globs).
func (p *Policy) DeniedEnv() []string { return ruleValues(p.envDeny) }

func ruleValues(rules []nameRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.entry.Value
	}
	return out
}

// ChildEnv builds the environment of a subprocess from the parent's
// environ ("NAME=value" pairs): only variables env.read could read, never a
// denied or reserved one. Local-only variables are passed only to a
// local-only command (localOnlyCommand, see Decision.Principals for a
// labels.Cmd principal), and then their principals are returned: the
// child's output carries their values and must carry their labels.
func (p *Policy) ChildEnv(environ []string, localOnlyCommand bool) (env, principals []string) {
	env = make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || IsReservedVar(name) || firstNameMatch(p.envDeny, name) != nil {
			continue
		}
		if r := firstNameMatch(p.envLocal, name); r != nil {
			if localOnlyCommand {
				env = append(env, kv)
				pr := labels.Env(r.entry.Value)
				if !contains(principals, pr) {
					principals = append(principals, pr)
				}
			}
			continue
		}
		if firstNameMatch(p.envAllow, name) != nil {
			env = append(env, kv)
		}
	}
	return env, principals
}

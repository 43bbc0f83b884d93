// Package mcppolicy presents a loaded policy in the MCP server's terms:
// the summary behind aegis_policy, the [tools.X] records behind
// aegis_tool_routing, and the decisions behind aegis_explain. It depends on
// the policy engine only, so `aegis host-config` can use it without the
// runner; package aegisbackend adds the runs.
package mcppolicy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/policy"
)

// LoadPolicy loads the policy file, or with no path falls back to the
// secure-defaults preset anchored at the working directory and says so
// through logger (every effect is then denied).
func LoadPolicy(path, auditLog string, logger *slog.Logger) (*policy.Policy, error) {
	var opts []policy.Option
	if auditLog != "" {
		opts = append(opts, policy.WithAuditLog(auditLog))
	}
	if path != "" {
		p, err := policy.Load(path, opts...)
		if err != nil {
			return nil, fmt.Errorf("load policy %s: %w", path, err)
		}
		return p, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find the working directory for secure-defaults: %w", err)
	}
	logger.Warn("no --policy given: using the secure-defaults preset, which denies every effect; " +
		"run `aegis init --lang auto` to write a starter policy, then pass it with --policy")
	p, err := policy.Preset("secure-defaults", cwd, opts...)
	if err != nil {
		return nil, fmt.Errorf("load secure-defaults: %w", err)
	}
	return p, nil
}

// Summary describes the effective policy for aegis_policy and host-config.
func Summary(p *policy.Policy) mcpserver.PolicySummary {
	d := p.Describe()
	s := mcpserver.PolicySummary{
		Source:           p.Path(),
		Name:             p.Name(),
		Description:      d.Description,
		Capabilities:     []string{},
		RequiresApproval: []string{},
		Effective:        d,
	}
	if s.Source == "" {
		s.Source = "secure-defaults"
	}
	for _, l := range d.Lists {
		if len(l.Entries) == 0 {
			continue
		}
		r := mcpserver.RuleList{Key: l.Key}
		for _, e := range l.Entries {
			r.Entries = append(r.Entries, e.Value)
		}
		s.Rules = append(s.Rules, r)
	}
	for _, l := range d.Runtime {
		s.Limits = append(s.Limits, mcpserver.Limit{Key: strings.TrimPrefix(l.Key, "[runtime]."), Value: l.Value})
	}
	for _, c := range p.Capabilities() {
		s.Capabilities = append(s.Capabilities, string(c))
	}
	for _, c := range policy.AllCapabilities() {
		if p.RequiresApproval(c) {
			s.RequiresApproval = append(s.RequiresApproval, string(c))
		}
	}
	return s
}

// Routing lists the [tools.X] records by name, each with its decision.
func Routing(p *policy.Policy) []mcpserver.ToolRecord {
	recs := p.Tools()
	names := make([]string, 0, len(recs))
	for n := range recs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]mcpserver.ToolRecord, 0, len(names))
	for _, n := range names {
		r := recs[n]
		d := p.DecideTool(n)
		rec := mcpserver.ToolRecord{
			Name: n, BackendURL: r.BackendURL, BackendMethod: r.BackendMethod,
			Description: r.Description, Allowed: d.Allowed, Capabilities: []string{},
		}
		for _, c := range r.Capabilities {
			rec.Capabilities = append(rec.Capabilities, string(c))
		}
		if !d.Allowed {
			rec.Reason = strings.TrimSpace(d.Reason + " " + d.Hint)
		}
		out = append(out, rec)
	}
	return out
}

// Explain asks the policy about one call. Network decisions resolve the
// host, so they honour ctx.
func Explain(ctx context.Context, p *policy.Policy, capability string, target []string) (mcpserver.ExplainResult, error) {
	c := policy.Capability(capability)
	if !c.Known() {
		return mcpserver.ExplainResult{}, fmt.Errorf("unknown capability %q; known capabilities: %s", capability, strings.Join(policy.CapabilityNames(), ", "))
	}
	d := p.DecideContext(ctx, c, target...)
	if len(d.Decisive) > 0 {
		// Where the target resolves, and so the answer, turned on what a
		// local-only path holds (a symlink there, a ".." out of it). A run
		// labels and charges such a decision; this answer would do
		// neither, so it is withheld, in words that do not depend on it.
		return mcpserver.ExplainResult{}, fmt.Errorf("%s of %q: the answer depends on what local-only paths hold "+
			"(a symbolic link in them, or a \"..\" out of one), so it is withheld; spell the path without going through "+
			"the local-only zone, or make the call in aegis_run, where its outcome is labelled local-only", capability, target)
	}
	rule := d.Rule
	if rule != "" && d.Section != "" {
		rule = fmt.Sprintf("%s %q", d.Section, d.Rule)
	}
	return mcpserver.ExplainResult{
		Capability: capability, Target: target, Allowed: d.Allowed,
		Rule: rule, Section: d.Section, Reason: d.Reason, Hint: d.Hint,
	}, nil
}

package policy

import (
	"fmt"
	"path/filepath"
	"slices"
)

// Load-time guards: a policy that would let a script rewrite the policy
// itself, or read, rewrite or erase the audit log, is refused. The check
// uses the same rules as Decide, on the real paths, so a symlink or a
// broad glob cannot sneak past it.

func (p *Policy) guard(file string, probs *problems) {
	if p.path != "" {
		// Scripts may read the policy; nothing may change it.
		p.eachGuardRule(p.path, p.path, func(c CapabilityInfo) bool { return c.Sends }, func(c Capability, r *pathRule) {
			probs.add(Problem{File: file, Line: r.entry.From.Line, Key: r.key,
				Msg:  fmt.Sprintf("the policy lets scripts %s the policy file itself (%s %q allows %s)", c.Member(), r.key, r.entry.Value, p.path),
				Hint: fmt.Sprintf("narrow the pattern, or add %q to [filesystem].deny", p.suggestPattern(p.path))})
		})
	}
	if err := p.auditProblem(file, p.auditLog, probs); err != nil {
		probs.add(Problem{File: file, Msg: err.Error()})
	}
}

// GuardAuditLog refuses (with a *LoadError) when the policy lets scripts
// read, write or delete the audit log at path (relative to the root). The
// runner calls it when it writes the log somewhere other than AuditLog().
func (p *Policy) GuardAuditLog(path string) error {
	var probs problems
	file := p.path
	if file == "" {
		file = "policy " + p.name
	}
	if err := p.auditProblem(file, path, &probs); err != nil {
		return err
	}
	return probs.err()
}

func (p *Policy) auditProblem(file, path string, probs *problems) error {
	if path == "" {
		return nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.root, path)
	}
	real, err := realPath(filepath.Clean(path), "")
	if err != nil {
		return fmt.Errorf("resolve audit log %s: %w", path, err)
	}
	// Nothing may read it (what runs did, and the budgets) or change it.
	p.eachGuardRule(filepath.Clean(path), real, func(c CapabilityInfo) bool { return c.Returns || c.Sends }, func(c Capability, r *pathRule) {
		probs.add(Problem{File: file, Line: r.entry.From.Line, Key: r.key,
			Msg:  fmt.Sprintf("the policy lets scripts %s the audit log (%s %q allows %s)", c.Member(), r.key, r.entry.Value, real),
			Hint: fmt.Sprintf("narrow the pattern, or add %q to [filesystem].deny", p.suggestPattern(filepath.Dir(real))+"/**")})
	})
	return nil
}

// eachGuardRule calls found, once per rule, for each rule that allows a
// filesystem capability of the table that which selects on the path, in
// table order. fs.list and fs.exists ask only what the lists of fs.read,
// fs.write and fs.delete answer, so a rule is reported under the first of
// those that it allows.
func (p *Policy) eachGuardRule(spelled, real string, which func(CapabilityInfo) bool, found func(Capability, *pathRule)) {
	var seen []*pathRule
	for _, c := range capabilities {
		if c.Section != SectionFilesystem || !which(c) {
			continue
		}
		if r := p.allowRule(c.Name, spelled, real); r != nil && !slices.Contains(seen, r) {
			seen = append(seen, r)
			found(c.Name, r)
		}
	}
}

// allowRule returns the rule that would allow c on the path, or nil when
// the path is denied or nothing allows it.
func (p *Policy) allowRule(c Capability, spelled, real string) *pathRule {
	if p.denyMatch(spelled, real) != nil {
		return nil
	}
	for _, l := range p.allowLists(c) {
		if r := firstPathMatch(*l, real); r != nil {
			return r
		}
	}
	return nil
}

// isProtected reports whether the real path is the policy file or the audit
// log (compared as path matching compares, see foldCase).
func (p *Policy) isProtected(real string) bool {
	for _, x := range p.protected {
		if fold(x) == fold(real) {
			return true
		}
	}
	return false
}

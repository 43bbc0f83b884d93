package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/internal/subpath"
	"github.com/aegisdev/aegis/labels"
)

// Filesystem decisions. Order: [filesystem].deny (on the real path and on
// the path as spelled), then local_only_read (which wins over read_allow and
// labels the result), then the capability's allow list, then default deny.
//
//	fs.read, fs.list   read_allow or local_only_read
//	fs.exists          any of the four allow lists
//	fs.write           write_allow
//	fs.delete          delete_allow (one path: a builtin that removes a tree
//	                   must decide on every entry)

func (p *Policy) decideFS(c Capability, target string) Decision {
	d := Decision{Capability: c, Target: target}
	spelled, real, tr, err := p.resolveTargetVia(target, true)
	d.addTraversal(tr)
	if err != nil {
		d.Reason = fmt.Sprintf("%s of %s denied: %v", c, shown(target), err)
		d.Hint = "give a valid path"
		var re *ResolveError
		if errors.As(err, &re) {
			d.Hint = "give a path that names an existing place: \"..\" and \".\" only follow a directory that exists"
		}
		return d
	}
	d.ResolvedPath = real
	return p.judgePath(d, c, spelled, real)
}

// denyMatch returns the deny rule covering the real path or the spelled one.
func (p *Policy) denyMatch(spelled, real string) *pathRule {
	if r := firstPathMatch(p.fsDeny, real); r != nil {
		return r
	}
	if spelled != real {
		return firstPathMatch(p.fsDeny, spelled)
	}
	return nil
}

func (p *Policy) judgePath(d Decision, c Capability, spelled, real string) Decision {
	if r := p.denyMatch(spelled, real); r != nil {
		d.Rule, d.Section, d.Source = r.entry.Value, r.key, r.from
		d.Reason = fsReason(c, d.Target, real, " denied by ", r, "")
		d.Hint = denyHint(r.entry, r.key)
		return d
	}
	for _, l := range p.allowLists(c) {
		if r := firstPathMatch(*l, real); r != nil {
			d.Allowed = true
			d.Rule, d.Section, d.Source = r.entry.Value, r.key, r.from
			if l == &p.fsLocal {
				d.addPrincipal(labels.File(r.entry.Value))
				d.Reason = fsReason(c, d.Target, real, " allowed by ", r, "; the result is local-only")
			} else {
				d.Reason = fsReason(c, d.Target, real, " allowed by ", r, "")
			}
			return d
		}
	}
	what := string(c) + " of " + real
	if d.Target != real {
		what = string(c) + " of " + shown(d.Target) + " (" + real + ")"
	}
	grants := c.info().Grants
	d.Reason = fmt.Sprintf("%s denied: no [filesystem].%s pattern matches it", what, joinOr(grants))
	d.Hint = fmt.Sprintf("to allow it, add %q (or a glob covering it) to [filesystem].%s", p.suggestPattern(real), grants[0])
	if p.isProtected(real) {
		d.Hint = "this is the policy file or the audit log; Aegis refuses a policy that lets scripts change them"
	}
	return d
}

// fsReason builds `fs.read of "src/a.go" (/root/src/a.go) allowed by
// [filesystem].read_allow "src/**" (aegis.toml:6)` in one allocation: this
// is the hot path of the most frequent decision, and fmt would be most of
// its cost.
func fsReason(c Capability, target, real, verdict string, r *pathRule, tail string) string {
	var b strings.Builder
	b.Grow(len(c) + 2*len(target) + len(real) + len(verdict) + len(r.key) + len(r.quoted) + len(r.from) + len(tail) + 16)
	b.WriteString(string(c))
	b.WriteString(" of ")
	if target == real {
		b.WriteString(real)
	} else {
		writeQuoted(&b, target)
		b.WriteString(" (")
		b.WriteString(real)
		b.WriteString(")")
	}
	b.WriteString(verdict)
	b.WriteString(r.key)
	b.WriteString(" ")
	b.WriteString(r.quoted)
	b.WriteString(" (")
	b.WriteString(r.from)
	b.WriteString(")")
	b.WriteString(tail)
	return b.String()
}

// writeQuoted writes s as shown() would, without allocating when s is
// plain printable ASCII (the usual case).
func writeQuoted(b *strings.Builder, s string) {
	if len(s) <= 200 {
		plain := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			b.WriteByte('"')
			b.WriteString(s)
			b.WriteByte('"')
			return
		}
	}
	b.WriteString(shown(s))
}

// allowLists returns the lists that may allow c, local-only first.
func (p *Policy) allowLists(c Capability) []*[]pathRule { return p.fsAllow[c] }

// fsAllowLists maps each fs capability to the lists its Grants keys name,
// local_only_read first: a local-only match wins over a plain allow and
// labels the result.
func (p *Policy) fsAllowLists() map[Capability][]*[]pathRule {
	byKey := map[string]*[]pathRule{
		"read_allow": &p.fsRead, "local_only_read": &p.fsLocal,
		"write_allow": &p.fsWrite, "delete_allow": &p.fsDelete,
	}
	out := map[Capability][]*[]pathRule{}
	for _, c := range capabilities {
		if c.Section != SectionFilesystem {
			continue
		}
		var lists []*[]pathRule
		if contains(c.Grants, "local_only_read") {
			lists = append(lists, &p.fsLocal)
		}
		for _, g := range c.Grants {
			if l := byKey[g]; l != nil && l != &p.fsLocal {
				lists = append(lists, l)
			}
		}
		out[c.Name] = lists
	}
	return out
}

// suggestPattern spells a real path the way an operator would write it in
// the policy: relative to the root when under it, with ~ under home.
func (p *Policy) suggestPattern(real string) string {
	if rel, ok := subpath.Rel(real, p.root); ok {
		if rel == "." {
			return rel
		}
		if !strings.Contains(rel, "/") {
			// A bare name would match at any depth; anchor it.
			return "./" + rel
		}
		return rel
	}
	if rel, ok := subpath.Rel(real, p.home); ok && p.home != "" && rel != "." {
		return "~/" + rel
	}
	return real
}

// denyHint tells the operator how to lift a deny entry: negate a preset
// entry, or edit the line of their own file.
func denyHint(e Entry, key string) string {
	if e.From.Preset != "" {
		return "deny wins over every allow list; to lift this preset entry, add \"!" + e.Value + "\" to " + key + " in your policy file"
	}
	return "deny wins over every allow list; remove " + strconv.Quote(e.Value) + " from " + key + " (" + e.From.String() + ") to lift it"
}

package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a policy file, located as precisely as the
// loader can: file, line, and the key as the docs write it.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Key  string `json:"key,omitempty"`
	Msg  string `json:"message"`
	Hint string `json:"hint,omitempty"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// LoadError is returned by every loader when a policy cannot be used: a
// syntax error, unknown or mistyped keys, bad patterns, a failed guard. It
// lists every problem found, not just the first, so one `aegis policy
// validate` run shows the operator all of them.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid policy: " + e.Problems[0].String()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.String()
	}
	return fmt.Sprintf("invalid policy: %d problems:\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// problems accumulates Problems during one load.
type problems struct {
	list []Problem
}

func (ps *problems) add(p Problem) { ps.list = append(ps.list, p) }

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool {
		a, b := ps.list[i], ps.list[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return &LoadError{Problems: ps.list}
}

// DeniedError is a refused call as an error: what was denied (Capability,
// Target), by which rule (Rule in Section), why (Reason) and how to allow
// it (Hint). Decision.Err and Decision.Denial make one from a denying
// decision; the builtins return one for every capability call or release
// the policy refuses. Test for it with errors.As: a run ends with exit kind
// policy_denied, the CLI exits 2.
type DeniedError struct {
	Capability Capability `json:"capability"` // "fs.read", or a release: "declassify.is_set"
	Target     string     `json:"target"`     // as shown: withheld (see Withhold) when it depends on local-only data
	Rule       string     `json:"rule,omitempty"`
	Section    string     `json:"section,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Hint       string     `json:"hint,omitempty"`
	// Withheld says the target depends on local-only data: Target is a
	// placeholder, and the message leaves out Reason and Hint, which name
	// the real target ("add "secrets/<the value>" to ...").
	Withheld bool `json:"withheld,omitempty"`
}

// Withhold replaces the target with shown (a placeholder such as
// audit.Redacted) because it depends on local-only data, and returns e.
func (e *DeniedError) Withhold(shown string) *DeniedError {
	e.Target, e.Withheld = shown, true
	return e
}

func (e *DeniedError) Error() string {
	var b strings.Builder
	if e.Reason != "" && !e.Withheld {
		// The policy's reason names the target and the rule already.
		b.WriteString(e.Reason)
	} else {
		fmt.Fprintf(&b, "policy denies %s %s", e.Capability, e.Target)
		if e.Rule != "" {
			fmt.Fprintf(&b, " (rule %q in %s)", e.Rule, e.Section)
		}
	}
	switch {
	case e.Hint != "" && e.Withheld:
		b.WriteString("; the target depends on local-only data, so neither it nor how to allow it is shown")
	case e.Hint != "":
		// The policy's hints are whole clauses ("to allow it, add ...",
		// "deny wins over every allow list; ..."): no prefix of our own.
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

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

// DeniedError is the error form of a denying Decision, for callers that
// propagate denials as errors (builtins, the runner). Test for it with
// errors.As; the CLI maps it to exit code 2.
type DeniedError struct {
	Decision Decision
}

func (e *DeniedError) Error() string {
	if e.Decision.Hint == "" {
		return e.Decision.Reason
	}
	return e.Decision.Reason + "; " + e.Decision.Hint
}

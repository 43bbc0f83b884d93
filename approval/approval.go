// Package approval is what a requires_approval question shows and what its
// answer covers. The builtins describe the call in a Request, carried on the
// context of the Confirm hook; the terminal prompt of `aegis run` and the
// MCP elicitation of aegis-mcp render it with the same Lines, and keep
// "for this session" answers in a Memory. A hook that says no for any
// reason but the user's explicit refusal returns a *Refusal, so the error
// the script sees names the switch or policy key that would allow the call.
//
// The invariant: nothing shown is raw. Every target goes through
// internal/quote, so control characters, terminal escape sequences and
// invisible format characters (bidi overrides, zero-width spaces) appear as
// escapes, and a target that depends on local-only data is neither shown
// nor remembered.
package approval

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/policy"
)

// Redacted is what the builtins pass as the target of a call whose target
// depends on local-only data.
const Redacted = audit.Redacted

// Request describes one call that needs approval.
type Request struct {
	Capability string // "fs.delete", "subprocess.exec", ...
	Target     string // the path, URL or variable as the script wrote it; for subprocess.exec the argv, quoted as a command line
	Resolved   string // the real file a path names, or the program a command runs
	Address    string // net.*: the address the call connects to
	Labelled   bool   // the target depends on local-only data: it is not shown, and the answer is not remembered
}

type requestKey struct{}

// WithRequest returns ctx carrying r for the Confirm hook.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// FromContext returns the Request the builtins attached to ctx, or one
// built from the hook's own arguments when there is none.
func FromContext(ctx context.Context, capability, target string) Request {
	if r, ok := ctx.Value(requestKey{}).(Request); ok {
		return r
	}
	return Request{Capability: capability, Target: target, Labelled: target == Redacted}
}

// maxShown bounds each line of a question; the rest is named, not hidden.
const maxShown = 1000

// Lines is the body of the question: the call, then what it resolves to,
// each as a label and a visible value.
func (r Request) Lines() [][2]string {
	if r.Labelled {
		return [][2]string{{r.Capability, Redacted + " (the target depends on local-only data, so it is not shown)"}}
	}
	var out [][2]string
	if c, _ := policy.Capability(r.Capability).Info(); c.Target == policy.TargetArgv {
		// An argv is shown as the words it is, each quoted as needed.
		out = append(out, [2]string{r.Capability, clip(quote.Visible(r.Target))})
		if r.Resolved != "" {
			out = append(out, [2]string{"program", clip(quote.Visible(r.Resolved))})
		}
	} else {
		out = append(out, [2]string{r.Capability, clip(strconv.Quote(r.Target))})
		if r.Resolved != "" && r.Resolved != r.Target {
			out = append(out, [2]string{"resolves to", clip(strconv.Quote(r.Resolved))})
		}
	}
	if r.Address != "" {
		out = append(out, [2]string{"connects to", clip(quote.Visible(r.Address))})
	}
	return out
}

// Text renders Lines as an indented block, labels aligned.
func (r Request) Text(indent string) string {
	lines := r.Lines()
	w := 0
	for _, l := range lines {
		w = max(w, len(l[0]))
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s%-*s  %s\n", indent, w, l[0], l[1])
	}
	return b.String()
}

// Rememberable reports whether a "for this session" answer may cover later
// calls: not when the target is hidden, since the same answer would then
// approve any hidden target.
func (r Request) Rememberable() bool { return !r.Labelled }

// key identifies the calls one session answer covers: the same capability
// on the same target resolving to the same file or program.
func (r Request) key() string {
	return r.Capability + "\x00" + r.Target + "\x00" + r.Resolved
}

func clip(s string) string {
	kept, cut := quote.Prefix(s, maxShown)
	if !cut {
		return s
	}
	return fmt.Sprintf("%s… (%d more bytes not shown; deny if unsure)", kept, len(s)-len(kept))
}

// Answer is a person's answer to a question.
type Answer int

const (
	Deny    Answer = iota // no
	Once                  // this call only
	Session               // this call and the same call again until the session ends
)

// Memory keeps the Session answers of one session (one `aegis run`, one
// aegis-mcp connection). It is safe for concurrent use.
type Memory struct {
	mu  sync.Mutex
	set map[string]bool
}

// Approved reports whether a Session answer covers r.
func (m *Memory) Approved(r Request) bool {
	if !r.Rememberable() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set[r.key()]
}

// Remember records a Session answer for r; it does nothing for a request
// that is not Rememberable.
func (m *Memory) Remember(r Request) {
	if !r.Rememberable() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set == nil {
		m.set = map[string]bool{}
	}
	m.set[r.key()] = true
}

// Refusal is a Confirm hook's "no". Reason says why ("there is no terminal
// to ask on", "the user declined"); Allow, when set, says which switch of
// the host would let such a call through. Unasked is set when no person
// answered: the error then also names the policy keys that approve calls
// without asking.
type Refusal struct {
	Reason  string
	Allow   string
	Unasked bool
}

func (e *Refusal) Error() string {
	if e.Allow == "" {
		return e.Reason
	}
	return e.Reason + "; " + e.Allow
}

// Package verify is Aegis's pre-execution check of a script against its
// policy. It runs on the parsed and resolved program, before any statement
// executes, and rejects a script that refers to a capability the policy does
// not grant at all, naming the policy section to fill. The point is a fast,
// clear "no" (nothing half-done, no effect already performed); the runtime
// check at every call remains the security boundary, so the verifier may be
// conservative but must never be the only gate.
//
// The capability modules fs, net, env and subprocess are predeclared
// identifiers. After resolution every use of one of them is an *syntax.Ident
// whose binding is predeclared (a local or global of the same name shadows it
// and is not a use). Each use is classified:
//
//	fs.read                  the member's capability (aliasing f = fs.read is
//	                         still this expression)
//	getattr(fs, "re"+"ad")   the member named by the constant-folded string
//	hasattr(fs, x), dir(fs), type(fs), str(fs)
//	                         no capability (they do not reach a member)
//	anything else            fs escapes as a value (m = fs; f(fs); [fs]):
//	                         every capability of the module is assumed
//
// The members and the capabilities each exercises come from
// policy.ScriptMembers, which derives them from the capability table
// (policy/capabilities.go). The builtins package builds the fs, net, env
// and subprocess modules from the same table, and its coverage test
// compares the real modules with it member by member, so a builtin without
// an entry (which the verifier would report as an unknown member) or an
// entry without a builtin fails the tests.
package verify

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/resolve"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// Member is one capability member of a predeclared module and the
// capabilities a call to it may exercise: one (fs.stat exercises fs.exists),
// or for net.request, which takes its method as an argument, every HTTP
// capability (the verifier accepts it when any is granted and leaves the
// method to the runtime check).
type Member = policy.ScriptMember

// table is the members, from the policy's capability table.
var table = policy.ScriptMembers()

// Members returns every capability member the verifier knows.
func Members() []Member { return append([]Member(nil), table...) }

// IsModule reports whether name is a capability module.
func IsModule(name string) bool {
	for _, m := range table {
		if m.Module == name {
			return true
		}
	}
	return false
}

// Lookup returns the member module.name.
func Lookup(module, name string) (Member, bool) {
	for _, m := range table {
		if m.Module == module && m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

func members(module string) []Member {
	var out []Member
	for _, m := range table {
		if m.Module == module {
			out = append(out, m)
		}
	}
	return out
}

// Grant reports whether the policy grants at least one of caps at all (to
// some target) and, when it grants none, what a user would fill to grant
// one, e.g. "[filesystem].write_allow" (policy.GrantText).
type Grant func(caps []policy.Capability) (granted bool, section string)

// Options configure Check.
type Options struct {
	File          *syntax.FileOptions
	IsPredeclared func(string) bool // names predeclared for the script (modules, inputs)
	IsUniversal   func(string) bool // the interpreter's universe (len, getattr, ...)
	Grant         Grant
	// Predeclared lists the modules and functions a script sees without
	// import, in the order errors name them (the advice on import and load).
	Predeclared []string
}

// Finding is one capability a script refers to without a grant.
type Finding struct {
	Pos        syntax.Position
	Capability string // the member: "fs.write", or "net.request"
	Section    string // what to fill: "[filesystem].write_allow"
	Why        string // how the script refers to it
}

func (f Finding) String() string {
	if f.Capability == "" {
		return fmt.Sprintf("%s: %s", f.Pos, f.Why)
	}
	return fmt.Sprintf("%s: %s %s, but the policy does not allow %s: fill %s",
		f.Pos, f.Why, f.Capability, f.Capability, f.Section)
}

// Rejection is the verifier's "no": the script would exercise capabilities
// the policy grants to nothing. Nothing has run.
type Rejection struct {
	Findings []Finding
}

func (r *Rejection) Error() string {
	var b strings.Builder
	b.WriteString("verifier rejected the script before running it:")
	for _, f := range r.Findings {
		b.WriteString("\n  ")
		b.WriteString(f.String())
	}
	return b.String()
}

// ScriptError is a script that does not parse or resolve. Each entry carries
// its position, and a hint when it looks like a Python habit (Hint).
type ScriptError struct {
	Errs  []error
	Hints []string // Hints[i] is the advice for Errs[i], or ""
}

func (e *ScriptError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
		if i < len(e.Hints) && e.Hints[i] != "" {
			msgs[i] += "\n  hint: " + e.Hints[i]
		}
	}
	return strings.Join(msgs, "\n")
}

// scriptError builds the ScriptError of errs (syntax.Error or resolve.Error
// values) in src, with their hints.
func scriptError(src []byte, errs []error, predeclared []string) *ScriptError {
	e := &ScriptError{Errs: errs, Hints: make([]string, len(errs))}
	for i, err := range errs {
		var pos syntax.Position
		var msg string
		switch x := err.(type) {
		case syntax.Error:
			pos, msg = x.Pos, x.Msg
		case resolve.Error:
			pos, msg = x.Pos, x.Msg
		default:
			continue
		}
		e.Hints[i] = Hint(msg, sourceLine(src, pos), predeclared)
	}
	return e
}

// sourceLine returns line pos.Line of src ("" if there is none).
func sourceLine(src []byte, pos syntax.Position) string {
	n := int(pos.Line)
	if n < 1 {
		return ""
	}
	for line := range strings.Lines(string(src)) {
		if n--; n == 0 {
			return strings.TrimRight(line, "\r\n")
		}
	}
	return ""
}

// Unwrap exposes the underlying syntax.Error or resolve.Error values.
func (e *ScriptError) Unwrap() []error { return e.Errs }

// Check parses and resolves src and verifies it against the policy. It
// returns the resolved file (for reuse) and a *ScriptError for a script that
// does not parse or resolve, a *Rejection for capabilities without a grant.
func Check(filename string, src []byte, opts Options) (*syntax.File, error) {
	fopts := opts.File
	if fopts == nil {
		fopts = &syntax.FileOptions{}
	}
	f, err := fopts.Parse(filename, src, 0)
	if err != nil {
		return nil, scriptError(src, []error{err}, opts.Predeclared)
	}
	isPre, isUni := opts.IsPredeclared, opts.IsUniversal
	if isPre == nil {
		isPre = func(string) bool { return false }
	}
	if isUni == nil {
		isUni = func(string) bool { return false }
	}
	if err := resolve.File(f, isPre, isUni); err != nil {
		var list resolve.ErrorList
		if errors.As(err, &list) {
			errs := make([]error, len(list))
			for i, e := range list {
				errs[i] = e
			}
			return nil, scriptError(src, errs, opts.Predeclared)
		}
		return nil, scriptError(src, []error{err}, opts.Predeclared)
	}
	var loads []error
	for _, st := range f.Stmts {
		if ld, ok := st.(*syntax.LoadStmt); ok {
			msg := "load is not available to Aegis scripts: every module is predeclared"
			if len(opts.Predeclared) > 0 {
				msg = "load is not available to Aegis scripts: " + strings.Join(opts.Predeclared, ", ") + " are predeclared"
			}
			loads = append(loads, syntax.Error{Pos: ld.Load, Msg: msg})
		}
	}
	if len(loads) > 0 {
		return nil, &ScriptError{Errs: loads}
	}
	uses := References(f)
	if opts.Grant == nil {
		return f, nil
	}
	if rej := judge(uses, opts.Grant); rej != nil {
		return f, rej
	}
	return f, nil
}

// Use is one reference to a capability member.
type Use struct {
	Pos    syntax.Position
	Member string // "fs.read", "net.request"; "" for an unknown member
	// Alternatives: the script needs at least one of these capabilities.
	// (net.request, whose method is an argument, needs any HTTP verb.)
	Alternatives []policy.Capability
	Why          string
}

func use(pos syntax.Position, m Member, why string) Use {
	return Use{Pos: pos, Member: m.Module + "." + m.Name, Alternatives: m.Capabilities, Why: why}
}

// References lists every capability use in a resolved file.
func References(f *syntax.File) []Use {
	var uses []Use
	var visit func(n syntax.Node) bool
	walk := func(n syntax.Node) {
		if n != nil {
			syntax.Walk(n, visit)
		}
	}
	visit = func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.DotExpr:
			id, ok := moduleIdent(n.X)
			if !ok {
				return true
			}
			if m, ok := Lookup(id.Name, n.Name.Name); ok {
				uses = append(uses, use(id.NamePos, m, "the script calls"))
			} else {
				uses = append(uses, unknownMember(id, n.Name.Name))
			}
			return false
		case *syntax.CallExpr:
			fn, ok := n.Fn.(*syntax.Ident)
			if !ok || !isUniverse(fn) || len(n.Args) == 0 {
				return true
			}
			id, ok := moduleIdent(n.Args[0])
			if !ok {
				return true
			}
			switch fn.Name {
			case "getattr":
				if len(n.Args) >= 2 {
					if name, ok := constString(n.Args[1]); ok {
						if m, ok := Lookup(id.Name, name); ok {
							uses = append(uses, use(id.NamePos, m, fmt.Sprintf("getattr(%s, %q) reaches", id.Name, name)))
						} else {
							uses = append(uses, unknownMember(id, name))
						}
					} else {
						uses = append(uses, escapes(id, "getattr with a computed name may reach")...)
					}
				}
			case "hasattr", "dir", "type", "str", "repr":
				// They inspect the module without reaching a member.
			default:
				return true
			}
			for _, a := range n.Args[1:] {
				walk(a)
			}
			return false
		case *syntax.Ident:
			if _, ok := moduleIdent(n); ok {
				uses = append(uses, escapes(n, "the module is used as a value, so any member may be called, including")...)
			}
		}
		return true
	}
	walk(f)
	return uses
}

func unknownMember(id *syntax.Ident, name string) Use {
	var names []string
	for _, m := range members(id.Name) {
		names = append(names, m.Name)
	}
	return Use{Pos: id.NamePos, Why: fmt.Sprintf("%s has no member %q (members: %s)", id.Name, name, strings.Join(names, ", "))}
}

func escapes(id *syntax.Ident, why string) []Use {
	var out []Use
	for _, m := range members(id.Name) {
		out = append(out, use(id.NamePos, m, why))
	}
	return out
}

// moduleIdent reports whether e is a reference to a predeclared capability
// module.
func moduleIdent(e syntax.Expr) (*syntax.Ident, bool) {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			break
		}
		e = p.X
	}
	id, ok := e.(*syntax.Ident)
	if !ok || !IsModule(id.Name) {
		return nil, false
	}
	b, ok := id.Binding.(*resolve.Binding)
	if !ok || b.Scope != resolve.Predeclared {
		return nil, false
	}
	return id, true
}

func isUniverse(id *syntax.Ident) bool {
	b, ok := id.Binding.(*resolve.Binding)
	return ok && b.Scope == resolve.Universal
}

// constString folds string literals joined by + (and parentheses).
func constString(e syntax.Expr) (string, bool) {
	switch e := e.(type) {
	case *syntax.Literal:
		s, ok := e.Value.(string)
		return s, ok && e.Token == syntax.STRING
	case *syntax.ParenExpr:
		return constString(e.X)
	case *syntax.BinaryExpr:
		if e.Op != syntax.PLUS {
			return "", false
		}
		x, ok1 := constString(e.X)
		y, ok2 := constString(e.Y)
		return x + y, ok1 && ok2
	}
	return "", false
}

// judge turns uses into findings: one per capability without a grant, at
// its first use.
func judge(uses []Use, grant Grant) *Rejection {
	seen := map[string]bool{}
	var findings []Finding
	for _, u := range uses {
		if len(u.Alternatives) == 0 { // an unknown member
			key := "?" + u.Pos.String()
			if !seen[key] {
				seen[key] = true
				findings = append(findings, Finding{Pos: u.Pos, Why: u.Why})
			}
			continue
		}
		ok, section := grant(u.Alternatives)
		if ok || seen[u.Member] {
			continue
		}
		seen[u.Member] = true
		findings = append(findings, Finding{Pos: u.Pos, Capability: u.Member, Section: section, Why: u.Why})
	}
	if len(findings) == 0 {
		return nil
	}
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i].Pos, findings[j].Pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return &Rejection{Findings: findings}
}

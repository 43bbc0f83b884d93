// Package matrix is the boundary matrix of Aegis's information-flow
// control: a systematic differential test of every place where labelled
// data crosses from the interpreter into Go and back.
//
// For every callable a script can reach (each predeclared builtin, each
// member of each module, each method of each built-in type, a Starlark
// function) and every argument position (the receiver, the callee, each
// positional argument, each keyword value, each keyword name, a *args
// iterable, a **kwargs mapping), it generates calls whose input in that
// position comes from a local-only secret: a valid value that changes the
// result, a value that makes the call fail, a value of the wrong type, an
// unknown keyword name, a *args or **kwargs of another length. Each call runs
// under a public and under a labelled pc, with two secrets, through the real
// runner (runner.Run) with the real builtins, on a real fixture (files, a
// loopback HTTP server, commands), with approvals observed.
//
// The two runs must agree on every public observable (exit kind, stdout,
// error text, the calls count, files, requests, approval prompts), or every
// run that stopped must have been charged to the leakage budget: a
// difference is then the termination channel the budget pays for. Anything
// else is a leak.
package matrix

import (
	"fmt"
	"sort"
	"strings"
)

// Secrets are the two values of the local-only variable K. They differ in
// length, characters and truthiness of every prefix test.
const (
	Secret1 = "sk-live-AAAA1111-x"
	Secret2 = "pk-9b"
)

// Position names where the labelled input goes.
type Position string

const (
	PosRecv     Position = "receiver"
	PosCallee   Position = "callee"
	PosArg      Position = "positional"
	PosKwValue  Position = "keyword value"
	PosKwName   Position = "keyword name"
	PosVarArgs  Position = "*args"
	PosKwArgs   Position = "**kwargs"
	PosNoneOnly Position = "none (pc only)"
)

// Path names what the labelled input does to the call.
type Path string

const (
	PathValue Path = "value"        // another valid value, or the template's failing alternative
	PathType  Path = "wrong type"   // a value of another type
	PathName  Path = "unknown name" // a keyword name the callee does not take
	PathArity Path = "arity"        // a *args or **kwargs of another length
	PathSame  Path = "same shape"   // labelled values, same length and names
)

// PC says whether the call runs under a public or a labelled pc.
type PC string

const (
	PCPublic   PC = "public pc"
	PCLabelled PC = "labelled pc"
)

// Case is one generated program.
type Case struct {
	Callee string
	Pos    Position
	Path   Path
	PC     PC
	Index  int    // argument index for positional/keyword cases
	Call   string // the call expression
	Setup  string // statements before it (the receiver)
}

// Name identifies the case in reports.
func (c Case) Name() string {
	return fmt.Sprintf("%s/%s#%d/%s/%s", c.Callee, c.Pos, c.Index, c.Path, c.PC)
}

// Program is the script of the case.
func (c Case) Program() string {
	var b strings.Builder
	b.WriteString(prelude)
	b.WriteString(c.Setup)
	switch c.PC {
	case PCPublic:
		fmt.Fprintf(&b, "r = %s\n", c.Call)
	case PCLabelled:
		// True for both secrets: the path is the same, the pc labelled.
		fmt.Fprintf(&b, "r = None\nif len(s) > 3:\n    r = %s\n", c.Call)
	}
	b.WriteString("print(r)\n")
	if c.Setup != "" {
		b.WriteString("print(R)\n")
	}
	b.WriteString(`print("end")` + "\n")
	return b.String()
}

// prelude reads the secret and defines pick, which returns its first
// argument under Secret1 and its second under Secret2, labelled, and udef,
// the Starlark function of the "def" templates.
const prelude = `s = env.read("K")
def pick(a, b):
    if s == "` + Secret1 + `":
        return a
    return b
def udef(a, b = 2, *rest, **kw):
    return [a, b, rest, kw]
`

// wrongType returns a value of another type than the expression pub has
// (a guess from its spelling: None is wrong almost everywhere).
func wrongType(pub string) string {
	if pub == "None" {
		return "0"
	}
	return "None"
}

// callee expression of a template (the receiver R for methods).
func (t template) calleeExpr() string {
	switch {
	case t.method != "":
		return "R." + t.method
	case t.callee == "def":
		return "udef"
	}
	return t.callee
}

// render writes a call of callee with args; vals are the argument
// expressions in template order; extra are extra argument texts appended
// (a *args or **kwargs).
func render(callee string, args []arg, vals []string, extra ...string) string {
	var parts []string
	for i, a := range args {
		if a.kw {
			parts = append(parts, a.name+" = "+vals[i])
		} else {
			parts = append(parts, vals[i])
		}
	}
	parts = append(parts, extra...)
	return callee + "(" + strings.Join(parts, ", ") + ")"
}

// spread writes a call whose positional arguments all come from the *args
// expression star, followed by the keyword arguments kw with values vals.
func spread(callee, star string, kw []arg, vals []string) string {
	parts := []string{"*" + star}
	for i, a := range kw {
		parts = append(parts, a.name+" = "+vals[i])
	}
	return callee + "(" + strings.Join(parts, ", ") + ")"
}

func pick(a, b string) string { return "pick(" + a + ", " + b + ")" }

// Generate returns every case of a template.
func (t template) Generate() []Case {
	var out []Case
	pubs := make([]string, len(t.args))
	for i, a := range t.args {
		pubs[i] = a.pub
	}
	setup := ""
	if t.method != "" {
		setup = "R = " + t.recv[0] + "\n"
	}
	add := func(pos Position, path Path, idx int, setup, call string) {
		for _, pc := range []PC{PCPublic, PCLabelled} {
			out = append(out, Case{Callee: t.callee, Pos: pos, Path: path, PC: pc, Index: idx, Call: call, Setup: setup})
		}
	}
	callee := t.calleeExpr()

	// The pc alone: every input public.
	add(PosNoneOnly, PathSame, 0, setup, render(callee, t.args, pubs))

	// The receiver.
	if t.method != "" {
		add(PosRecv, PathValue, 0, "R = "+pick(t.recv[0], t.recv[1])+"\n", render(callee, t.args, pubs))
		add(PosRecv, PathSame, 0, "R = "+pick(t.recv[0], t.recv[0])+"\n", render(callee, t.args, pubs))
	}
	// The callee value itself.
	add(PosCallee, PathSame, 0, setup, render(pick(callee, callee), t.args, pubs))

	// Each argument's value and type, by position or keyword.
	for i, a := range t.args {
		pos := PosArg
		if a.kw {
			pos = PosKwValue
		}
		for _, v := range []struct {
			path Path
			val  string
		}{{PathValue, pick(a.pub, a.alt)}, {PathType, pick(a.pub, wrongType(a.pub))}, {PathSame, pick(a.pub, a.pub)}} {
			vals := append([]string(nil), pubs...)
			vals[i] = v.val
			add(pos, v.path, i, setup, render(callee, t.args, vals))
		}
		// A named argument passed by a keyword whose name comes from data
		// (the arguments after it go by keyword too, which needs names).
		if a.name != "" {
			ok := true
			for j := i + 1; j < len(t.args); j++ {
				ok = ok && t.args[j].name != ""
			}
			if ok {
				var rest []arg
				var restVals []string
				for j, b := range t.args {
					if j == i {
						continue
					}
					if j > i {
						b.kw = true
					}
					rest = append(rest, b)
					restVals = append(restVals, pubs[j])
				}
				kw := fmt.Sprintf("**{%s: %s}", pick(`"`+a.name+`"`, `"`+a.name+`_x"`), a.pub)
				add(PosKwName, PathName, i, setup, render(callee, rest, restVals, kw))
				kw = fmt.Sprintf("**{%s: %s}", pick(`"`+a.name+`"`, `"`+a.name+`"`), a.pub)
				add(PosKwName, PathSame, i, setup, render(callee, rest, restVals, kw))
			}
		}
	}
	// A keyword name the callee does not take, from data.
	add(PosKwName, PathName, -1, setup, render(callee, t.args, pubs, fmt.Sprintf("**{%s: 1}", pick(`"zz_a"`, `"zz_b"`))))

	// The positional arguments spread from a *args.
	var posVals, altVals []string
	npos := 0
	for _, a := range t.args {
		if a.kw {
			break
		}
		posVals = append(posVals, a.pub)
		altVals = append(altVals, a.alt)
		npos++
	}
	kwArgs := t.args[npos:]
	kwPubs := pubs[npos:]
	list := func(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }
	shorter := list(nil)
	if npos > 0 {
		shorter = list(posVals[:npos-1])
	}
	longer := list(append(append([]string(nil), posVals...), "1"))
	add(PosVarArgs, PathArity, 0, setup, spread(callee, pick(list(posVals), shorter), kwArgs, kwPubs))
	add(PosVarArgs, PathArity, 1, setup, spread(callee, pick(list(posVals), longer), kwArgs, kwPubs))
	add(PosVarArgs, PathValue, 0, setup, spread(callee, pick(list(posVals), list(altVals)), kwArgs, kwPubs))
	add(PosVarArgs, PathSame, 0, setup, spread(callee, pick(list(posVals), list(posVals)), kwArgs, kwPubs))

	// The keyword arguments spread from a **kwargs.
	var kvs, kvAlt []string
	for _, a := range kwArgs {
		kvs = append(kvs, fmt.Sprintf("%q: %s", a.name, a.pub))
		kvAlt = append(kvAlt, fmt.Sprintf("%q: %s", a.name, a.alt))
	}
	dict := func(xs []string) string { return "{" + strings.Join(xs, ", ") + "}" }
	fewer := dict(nil)
	if len(kvs) > 0 {
		fewer = dict(kvs[:len(kvs)-1])
	}
	more := dict(append(append([]string(nil), kvs...), `"zz_c": 1`))
	add(PosKwArgs, PathArity, 0, setup, render(callee, t.args[:npos], pubs[:npos], "**"+pick(dict(kvs), fewer)))
	add(PosKwArgs, PathArity, 1, setup, render(callee, t.args[:npos], pubs[:npos], "**"+pick(dict(kvs), more)))
	add(PosKwArgs, PathValue, 0, setup, render(callee, t.args[:npos], pubs[:npos], "**"+pick(dict(kvs), dict(kvAlt))))
	add(PosKwArgs, PathSame, 0, setup, render(callee, t.args[:npos], pubs[:npos], "**"+pick(dict(kvs), dict(kvs))))
	return out
}

// Cases generates every case of every template.
func Cases() []Case {
	var out []Case
	for _, t := range templates {
		out = append(out, t.Generate()...)
	}
	return out
}

// Covered returns the callees that have templates.
func Covered() map[string]bool {
	m := map[string]bool{}
	for _, t := range templates {
		m[t.callee] = true
	}
	return m
}

// Table renders the coverage table: per callee, the number of cases run per
// position, and per path.
func Table(results []Result) string {
	type key struct {
		callee string
		col    string
	}
	counts := map[key]int{}
	callees := map[string]bool{}
	cols := []string{string(PosNoneOnly), string(PosRecv), string(PosCallee), string(PosArg), string(PosKwValue), string(PosKwName),
		string(PosVarArgs), string(PosKwArgs), string(PathValue), string(PathType), string(PathName), string(PathArity), string(PathSame),
		"errored", "charged"}
	for _, r := range results {
		callees[r.Case.Callee] = true
		counts[key{r.Case.Callee, string(r.Case.Pos)}]++
		counts[key{r.Case.Callee, string(r.Case.Path)}]++
		if r.Errored {
			counts[key{r.Case.Callee, "errored"}]++
		}
		if r.Charged {
			counts[key{r.Case.Callee, "charged"}]++
		}
	}
	names := make([]string, 0, len(callees))
	for c := range callees {
		names = append(names, c)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s", "callee")
	for _, c := range cols {
		fmt.Fprintf(&b, " %9s", abbrev(c))
	}
	b.WriteString("\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%-26s", n)
		for _, c := range cols {
			if v := counts[key{n, c}]; v > 0 {
				fmt.Fprintf(&b, " %9d", v)
			} else {
				fmt.Fprintf(&b, " %9s", "-")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func abbrev(s string) string {
	if len(s) > 9 {
		return s[:9]
	}
	return s
}

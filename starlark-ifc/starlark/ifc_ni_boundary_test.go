package starlark_test

// The boundary constructs of the noninterference generator (niGen, ifc_noninterference_test.go):
// the places where labelled data crosses between the interpreter and Go code, each a leak class
// of issue 9.
//
//   - call shapes: *args and **kwargs at call sites of generated defs and of builtins, from
//     iterables and mappings whose length, keys or elements come from the secret (callArgs,
//     vcall, spreadExpr, shapeList, kwInts);
//   - defs with defaults, *rest, keyword-only parameters and **kw, whose binding depends on
//     the call's shape (vdefStmt);
//   - keyword names computed from data: f(**{secret_str: v}), dict(**...), print(**...);
//   - builtin calls whose argument types, count or keyword names depend on a condition, so
//     that whether they fail, and the text of the error, depend on the secret (badCall);
//   - host fakes with observable effects: emit, stash, approve (hostStmt; ifc_ni_host_test.go);
//   - values nested deeper than starlark.MaxNesting through loops, given to str, repr, print,
//     json, hashing, == and the host (deepStmt);
//   - a public loop making one effect per iteration that aborts at a secret-dependent point
//     (abortLoop).
//
// Each construct sets a feature bit (niFeat) in the program, and TestNoninterference keeps a
// floor on how many programs have each, so the generator cannot silently stop producing them.

import (
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

type niFeat uint32

const (
	featStarCall  niFeat = 1 << iota // a call spreading *args
	featKwCall                       // a call spreading **kwargs
	featShapeDef                     // a call of a generated def whose shape depends on a condition
	featVDef                         // a def with *rest, keyword-only parameters or **kw
	featKwName                       // a keyword name computed from data
	featBadCall                      // a builtin whose argument types, count or keywords depend on a condition
	featHost                         // a call of emit, stash or approve
	featApprove                      // a call of approve
	featLog                          // log(msg, **kw): a redacting sink reading KwargLabel of a name kw may leave out
	featDeep                         // a value nested deeper than starlark.MaxNesting
	featAbortLoop                    // a loop with effects that aborts at a secret-dependent point
	niNumFeats    = iota
)

var niFeatNames = [niNumFeats]string{"*args call", "**kwargs call", "shape-dependent def call", "def with *rest/kw-only/**kw",
	"keyword name from data", "builtin with data-dependent type/arity/keyword", "host effect", "approval", "log with a **kwargs level",
	"nesting deeper than MaxNesting", "effects before a secret-dependent abort"}

// niFeatFloor is the least percentage of programs that must contain each feature (about a
// quarter to a half of what the generator produces; see niCheckStats).
var niFeatFloor = [niNumFeats]float64{30, 15, 1.5, 3, 5, 3, 25, 6, 1, 1.5, 2}

// listOf is the list type with elements of type et (int or str).
func listOf(et niType) niType {
	if et == niStr {
		return niListStr
	}
	return niListInt
}

func quoted(names []string) []string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return q
}

// shapeList is a list of elements of type et whose length often depends on the secret: spread
// with *, it decides how many arguments a call has.
func (g *niGen) shapeList(et niType, d int) string {
	e := func() string { return g.expr(et, d-1) }
	switch g.pick(7) {
	case 0:
		return g.expr(listOf(et), d)
	case 1:
		return "([" + e() + "] if " + g.cond() + " else [" + e() + ", " + e() + "])"
	case 2:
		return "[" + e() + ", " + e() + ", " + e() + "][:" + g.expr(niInt, d-1) + " % 4]"
	case 3:
		x := g.name("x")
		src := "[" + e() + ", " + e() + ", " + e() + "]"
		return "[" + x + " for " + x + " in " + src + " if " + g.withBound(x, et, g.cond) + "]"
	case 4:
		return g.secretSized(listOf(et))
	case 5:
		if et == niStr {
			return []string{"list(secret.elems())", "secret.split(\"x\")", "secret_l"}[g.pick(2+b2i(g.opts.secretList))]
		}
		return "list(secret.elem_ords())[:3]"
	default:
		return "[" + e() + "]"
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kwInts is a dict from keyword names to ints for a ** spread: names are candidate names (the
// callee's parameters); the key set often depends on the secret, and may name no parameter.
func (g *niGen) kwInts(names []string, d int) string {
	i := func() string { return g.expr(niInt, d-1) }
	if len(names) == 0 {
		names = []string{"zz"}
	}
	q := quoted(names)
	switch g.pick(6) {
	case 0:
		var kv []string
		for _, n := range q {
			if g.chance(60) {
				kv = append(kv, n+": "+i())
			}
		}
		return "{" + strings.Join(kv, ", ") + "}"
	case 1:
		return "({" + q[g.pick(len(q))] + ": " + i() + "} if " + g.cond() + " else {})"
	case 2:
		k := g.name("k")
		return "{" + k + ": " + i() + " for " + k + " in [" + strings.Join(q, ", ") + "] if " + g.withBound(k, niStr, g.cond) + "}"
	case 3:
		g.feat |= featKwName
		return "{" + g.expr(niStr, d-1) + ": " + i() + "}"
	case 4:
		g.feat |= featKwName
		c := g.name("c")
		return "{" + c + ": " + i() + " for " + c + " in " + g.expr(niStr, d-1) + ".elems()}"
	default:
		g.feat |= featKwName
		return g.expr(niDict, d-1)
	}
}

// callArgs is the argument list of a call of f with the (typed) arguments args: positional,
// or keywords, or spread from *args and **kwargs whose shape may depend on the secret. A
// parameter with a default may be left to it on one side of a condition only, so that which
// value a parameter gets (and its label) depends on the shape.
func (g *niGen) callArgs(f niFunc, args []string, d int) string {
	n := len(args)
	if f.recursive || len(f.pnames) != n || g.chance(50) {
		if f.ndefault > 0 && g.chance(35) {
			args = args[:n-f.ndefault]
		}
		return strings.Join(args, ", ")
	}
	alt := func(from, to int) []string {
		var a []string
		for i := from; i < to; i++ {
			a = append(a, g.expr(f.params[i], d-1))
		}
		return a
	}
	kv := func(from int, vals []string) string {
		var s []string
		for i, v := range vals {
			s = append(s, strconv.Quote(f.pnames[from+i])+": "+v)
		}
		return "{" + strings.Join(s, ", ") + "}"
	}
	switch g.pick(6) {
	case 0: // keywords, in reverse order
		var kws []string
		for i := n - 1; i >= 0; i-- {
			kws = append(kws, f.pnames[i]+"="+args[i])
		}
		return strings.Join(kws, ", ")
	case 1: // *args, public shape
		g.feat |= featStarCall
		return "*[" + strings.Join(args, ", ") + "]"
	case 2: // *args whose content (and, with a default, length) depends on a condition
		g.feat |= featStarCall | featShapeDef
		k := g.pick(n + 1)
		other := alt(k, n)
		if f.ndefault > 0 && len(other) > 0 && g.chance(60) {
			other = other[:len(other)-1] // the default binds on this side only
		} else if g.chance(8) {
			other = append(other, g.expr(g.anyType(), d-1)) // too many arguments on this side
		}
		spread := "*([" + strings.Join(args[k:], ", ") + "] if " + g.cond() + " else [" + strings.Join(other, ", ") + "])"
		return strings.Join(append(cloneStrs(args[:k]), spread), ", ")
	case 3: // **kwargs, public keys
		g.feat |= featKwCall
		return "**" + kv(0, args)
	case 4: // **kwargs whose key set depends on a condition
		g.feat |= featKwCall | featShapeDef
		k := n - f.ndefault
		if k == n && n > 0 && g.chance(30) {
			k = n - 1 // a required parameter is missing on one side
		}
		other := alt(k, n)
		if k < n && len(other) > 0 {
			other = other[:len(other)-1]
		}
		spread := "**(" + kv(k, args[k:]) + " if " + g.cond() + " else " + kv(k, other) + ")"
		return strings.Join(append(cloneStrs(args[:k]), spread), ", ")
	default: // a keyword name computed from data: it may name no parameter
		if n == 0 {
			return ""
		}
		g.feat |= featKwCall | featKwName | featShapeDef
		key := "(" + strconv.Quote(f.pnames[n-1]) + " if " + g.cond() + " else " + g.leaf(niStr) + ")"
		return strings.Join(append(cloneStrs(args[:n-1]), "**{"+key+": "+args[n-1]+"}"), ", ")
	}
}

// cloneStrs copies a string slice (so that appending does not write into the caller's).
func cloneStrs(s []string) []string { return append([]string(nil), s...) }

// niVSig describes a def made by vdefStmt: def f(a, b=D, *rest, c=D, **kw), each part but a
// optional. a and the elements of rest have type elem; b and c are ints; kw maps names to ints.
type niVSig struct {
	elem       niType
	a, b, c    string // parameter names ("" when absent)
	rest, kw   string
	restLocals string // the local bound to list(rest)
}

// vdefStmt defines a function with defaults, *rest, a keyword-only parameter and **kw. What
// each parameter is bound to, whether rest is empty and which names kw holds all depend on
// the call's shape; the body reads them, and often prints them directly.
func (g *niGen) vdefStmt(depth int) { g.vdef(depth, false) }

// vdef defines the function of vdefStmt; obs forces the print of its parameters. It returns
// the function.
func (g *niGen) vdef(depth int, obs bool) niFunc {
	g.feat |= featVDef
	name := g.name("f")
	ret := g.anyType()
	v := &niVSig{elem: []niType{niInt, niStr}[g.pick(2)], a: g.name("q")}
	ps := []string{v.a}
	if g.chance(70) {
		v.b = g.name("q")
		ps = append(ps, v.b+"="+g.expr(niInt, 1))
	}
	if g.chance(70) {
		v.rest = g.name("rest")
		ps = append(ps, "*"+v.rest)
	}
	if g.chance(50) {
		v.c = g.name("q")
		if v.rest == "" {
			ps = append(ps, "*")
		}
		ps = append(ps, v.c+"="+g.expr(niInt, 1))
	}
	if g.chance(60) {
		v.kw = g.name("kw")
		ps = append(ps, "**"+v.kw)
	}
	g.line("def %s(%s):", name, strings.Join(ps, ", "))
	g.ind++
	g.push(true)
	g.bind(v.a, v.elem)
	for _, p := range []string{v.b, v.c} {
		if p != "" {
			g.bind(p, niInt)
		}
	}
	if v.kw != "" {
		g.bind(v.kw, niDict)
	}
	g.rets = append(g.rets, ret)
	g.loops = append(g.loops, 0)
	if v.rest != "" {
		v.restLocals = g.name("rl")
		g.line("%s = list(%s)", v.restLocals, v.rest)
		g.bind(v.restLocals, listOf(v.elem))
	}
	if obs || g.chance(50) {
		// what the binding decided, printed directly
		var shown []string
		for _, p := range []string{v.a, v.b, v.c} {
			if p != "" {
				shown = append(shown, p)
			}
		}
		if v.rest != "" {
			shown = append(shown, "len("+v.rest+")")
		}
		if v.kw != "" {
			shown = append(shown, "sorted("+v.kw+".keys())")
		}
		g.line("print(%q, %s)", "bind", strings.Join(shown, ", "))
	}
	g.block(1+g.pick(2), depth-1)
	g.defEnd(ret)
	g.endDef()
	params, pnames := []niType{v.elem}, []string{v.a}
	if v.b != "" {
		params, pnames = append(params, niInt), append(pnames, v.b)
	}
	f := niFunc{name: name, params: params, pnames: pnames, ndefault: len(params) - 1, ret: ret, v: v}
	g.top().funcs = append(g.top().funcs, f)
	if !obs && !g.inDef() && g.chance(70) {
		g.line("print(%s)", g.vcall(f, 2))
	}
	return f
}

// bindingMotif defines a function that prints its parameters as bound, then calls it through a
// call shape that depends on the secret: which parameters get their defaults, whether *rest is
// empty and which names **kw holds must all carry the shape's label (bindArgLabels).
func (g *niGen) bindingMotif(depth int) {
	if g.inDef() || g.inLoop() {
		g.printStmt()
		return
	}
	g.feat |= featShapeDef
	if g.chance(50) {
		f := g.vdef(depth-1, true)
		g.line("%s", g.vcall(f, 2))
		return
	}
	// a plain def with a default, called with a labelled *args or **kwargs
	name, a, b := g.name("f"), g.name("q"), g.name("q")
	at, bt := g.anyType(), g.anyType()
	g.line("def %s(%s, %s=%s):", name, a, b, g.literal(bt))
	g.line("    print(%q, %s, %s)", "bind", a, b)
	g.line("    return 0")
	f := niFunc{name: name, params: []niType{at, bt}, pnames: []string{a, b}, ndefault: 1, ret: niInt}
	g.top().funcs = append(g.top().funcs, f)
	A, B, B2 := g.expr(at, 1), g.expr(bt, 1), g.expr(bt, 1)
	switch g.pick(3) {
	case 0:
		g.feat |= featStarCall
		g.line("%s(*([%s] if %s else [%s, %s]))", name, A, g.cond(), A, B)
	case 1:
		g.feat |= featKwCall
		g.line("%s(%s, **({%q: %s} if %s else {}))", name, A, b, B, g.cond())
	default:
		g.feat |= featStarCall
		g.line("%s(%s, *([%s] if %s else [%s]))", name, A, B, g.cond(), B2)
	}
}

// vcall is a call of a vdef with one of its shapes.
func (g *niGen) vcall(f niFunc, d int) string {
	v := f.v
	pos := []string{g.expr(v.elem, d-1)}
	if v.b != "" && g.chance(50) {
		pos = append(pos, g.expr(niInt, d-1))
	}
	bFree := v.b != "" && len(pos) == 1 // b may still be bound by keyword
	surplusOK := v.rest != "" && !bFree
	var kws []string
	var names []string // keyword names the call may use without a duplicate
	if bFree {
		names = append(names, v.b)
	}
	if v.c != "" {
		names = append(names, v.c)
	}
	switch g.pick(7) {
	case 0: // written out, with surplus positional arguments
		if surplusOK {
			for k := g.pick(3); k > 0; k-- {
				pos = append(pos, g.expr(v.elem, d-1))
			}
		}
	case 1: // surplus from a list of secret-dependent length
		g.feat |= featStarCall
		if surplusOK {
			pos = append(pos, "*"+g.shapeList(v.elem, d))
		} else if v.elem == niInt {
			// a, b and rest all from one list: b gets its default or not, rest is empty or not
			l := "[" + pos[0] + "] + " + g.shapeList(niInt, d)
			if v.rest == "" {
				l = "(" + l + ")[:" + strconv.Itoa(1+b2i(v.b != "")) + "]"
			}
			pos = []string{"*(" + l + ")"}
		} else {
			pos = append(pos, "*[]")
		}
	case 2: // keywords written out, some unknown (into **kw, or an error naming them)
		for _, n := range names {
			if g.chance(60) {
				kws = append(kws, n+"="+g.expr(niInt, d-1))
			}
		}
		if v.kw != "" || g.chance(10) {
			kws = append(kws, g.name("zz")+"="+g.expr(niInt, d-1))
		}
	case 3, 4: // **kwargs whose keys depend on the secret
		g.feat |= featKwCall
		if v.kw != "" {
			names = append(names, "zz", "yy")
		}
		kws = append(kws, "**"+g.kwInts(names, d))
	case 5: // keyword names from data: into **kw, or an error quoting them
		g.feat |= featKwCall | featKwName
		if v.kw != "" || g.chance(20) {
			switch g.pick(3) {
			case 0:
				kws = append(kws, "**{"+g.expr(niStr, d-1)+": "+g.expr(niInt, d-1)+"}")
			case 1:
				kws = append(kws, "**dict(zip("+g.shapeList(niStr, d)+", "+g.expr(niListInt, d-1)+"))")
			default:
				kws = append(kws, "**"+g.kwInts(names, d))
			}
		}
	default: // both spreads
		g.feat |= featStarCall | featKwCall
		pos = []string{"*[" + strings.Join(pos, ", ") + "]"}
		kws = append(kws, "**"+g.kwInts(names, d))
	}
	if len(kws) > 0 || strings.HasPrefix(pos[len(pos)-1], "*") {
		g.feat |= featShapeDef
	}
	return f.name + "(" + strings.Join(append(pos, kws...), ", ") + ")"
}

// mutateSpread mutates the container v (of type t) through a method called with *args or
// **kwargs whose shape may depend on the secret: which argument binds where, and whether an
// optional one is there, decide the write (audited rules of list and dict methods).
func (g *niGen) mutateSpread(t niType, v string) {
	g.feat |= featStarCall
	c := g.cond()
	if t == niDict {
		k, i, i2 := g.expr(niStr, 1), g.expr(niInt, 1), g.expr(niInt, 1)
		switch g.pick(3) {
		case 0:
			g.feat |= featKwCall
			g.line("%s.update(**%s)", v, g.kwInts([]string{"a", "b"}, 2))
		case 1:
			g.line("%s.setdefault(*([%s, %s] if %s else [%s, %s]))", v, k, i, c, k, i2)
		default:
			g.line("%s.pop(*([%s, %s] if %s else [%s, %s]))", v, k, i, c, g.expr(niStr, 1), i2)
		}
		return
	}
	e := g.expr(t.elem(), 1)
	switch g.pick(4) {
	case 0:
		g.line("if %s:", v)
		g.line("    %s.pop(*([0] if %s else []))", v, c) // the first or the last element
	case 1:
		g.line("%s.insert(*([0, %s] if %s else [-1, %s]))", v, e, c, e)
	case 2:
		g.line("%s.extend(*[%s])", v, g.shapeList(t.elem(), 2))
	default:
		g.line("%s.append(*%s)", v, "(["+e+"] if "+c+" else ["+g.expr(t.elem(), 1)+"])")
	}
}

// spreadExpr is an expression of type t calling a builtin or method through *args or
// **kwargs, usually with a shape that depends on the secret. Some shapes are always valid (the
// result depends on the shape), some fail on one side (the error depends on it). "" if none.
func (g *niGen) spreadExpr(t niType, d int) string {
	x := func(t niType) string { return g.expr(t, d-1) }
	g.feat |= featStarCall
	switch t {
	case niInt:
		switch g.pick(11) {
		case 10:
			k := g.expr(niStr, d-1)
			if g.chance(50) {
				// the default given or not, by the secret (None or the default, then or 0)
				return "(" + x(niDict) + ".get(*([" + k + ", " + x(niInt) + "] if " + g.cond() + " else [" + k + "])) or 0)"
			}
			return x(niDict) + ".get(*(([" + k + ", " + x(niInt) + "] if " + g.cond() + " else [" + k + "]) + [0])[:2])"
		case 8:
			// a lambda bound through *args: defaults and *rest by the shape
			if g.chance(50) {
				return "(lambda *a: len(a))(*" + g.shapeList(g.elemType(), d) + ")"
			}
			return "(lambda a=0, b=1: a + b)(*" + g.shapeList(niInt, d) + "[:2])"
		case 9:
			g.feat |= featKwCall
			return "(lambda **k: len(k))(**" + g.kwInts([]string{"a", "b"}, d) + ")"
		case 0:
			return "len(*[" + x([]niType{niStr, niListInt, niDict}[g.pick(3)]) + "])"
		case 1:
			return "max(*(" + g.shapeList(niInt, d) + " + [0, 1]))"
		case 2:
			if g.chance(50) {
				return "abs(*" + g.shapeList(niInt, d) + "[:1] or [0])" // one argument, by the secret
			}
			return []string{"max", "min", "abs"}[g.pick(3)] + "(*" + g.shapeList(niInt, d) + ")" // arity by the secret
		case 3:
			return "len(range(*[v % 7 for v in " + g.shapeList(niInt, d) + "][:3]))" // 0 args, or step 0: errors
		case 4:
			return x(niStr) + ".count(*[" + x(niStr) + "])"
		case 5:
			g.feat |= featKwCall
			return "len(dict(**" + g.kwInts([]string{"a", "b"}, d) + "))"
		case 6:
			return "int(bool(*" + g.shapeList(g.elemType(), d) + "[:1]))" // bool() or bool(x): the value is the shape
		default:
			g.feat |= featHost
			return "emit(*" + g.shapeList(g.elemType(), d) + ")"
		}
	case niStr:
		switch g.pick(8) {
		case 0:
			return x(niStr) + ".join(*[" + x(niListStr) + "])"
		case 1:
			return x(niStr) + ".replace(*[" + x(niStr) + ", " + x(niStr) + "])"
		case 2:
			if g.chance(30) {
				return `"{}|{}".format(*` + g.shapeList(g.elemType(), d) + ")" // index out of range on one side
			}
			return `"{}|{}".format(*(` + g.shapeList(g.elemType(), d) + ` + ["", ""]))`
		case 3:
			return []string{"str", "repr", "json.encode"}[g.pick(3)] + "(*[" + x(g.anyType()) + "])"
		case 4:
			return x(niStr) + ".strip(*" + g.shapeList(niStr, d) + "[:1])"
		case 5:
			return x(niStr) + ".split(*[" + x(niStr) + ` or ","][:` + x(niInt) + " % 2])[0]"
		case 6:
			g.feat |= featKwCall
			return `"{a}{b}".format(**(` + `{"a": ` + x(niStr) + `, "b": ` + x(niInt) + `} if ` + g.cond() + ` else {"b": ` + x(niInt) + `, "a": ` + x(niStr) + "}))"
		default:
			g.feat |= featKwCall
			return x(niStr) + "[:" + "len(dict(**" + g.kwInts([]string{"a", "b"}, d) + "))]"
		}
	case niBool:
		switch g.pick(5) {
		case 0:
			return "bool(*" + g.shapeList(g.elemType(), d) + "[:1])"
		case 1:
			return x(niStr) + ".startswith(*[" + x(niStr) + "])"
		case 2:
			return x(niStr) + ".endswith(*(" + g.shapeList(niStr, d) + ` + [""])[:1])`
		case 3:
			return "any(*[" + x(niListInt) + "])"
		default:
			return "hasattr(*[" + x(niStr) + `, "upper"])`
		}
	case niListInt, niListStr:
		switch g.pick(5) {
		case 0:
			g.feat |= featKwCall
			return "sorted(" + x(t) + `, **({"reverse": True} if ` + g.cond() + " else {}))"
		case 1:
			return "sorted(*[" + x(t) + "])"
		case 2:
			return "list(*[" + x(t) + "])"
		case 3:
			if t == niListStr {
				return x(niStr) + ".split(*[" + x(niStr) + ` or ","][:` + x(niInt) + " % 2])"
			}
			return "list(range(*[v % 6 for v in " + g.shapeList(niInt, d) + "][:2]))" // range(): an error on one side
		default:
			g.feat |= featKwCall | featKwName
			if g.chance(40) {
				return "sorted(" + x(t) + `, **{("reverse" if ` + g.cond() + " else " + x(niStr) + "): True})" // an unknown keyword on one side
			}
			return "sorted(" + x(t) + `, **{"reverse": ` + x(niBool) + "})"
		}
	case niDict:
		g.feat |= featKwCall
		switch g.pick(4) {
		case 0:
			return "dict(**" + g.kwInts([]string{"a", "b", "zz"}, d) + ")"
		case 1:
			return "dict(" + x(niDict) + ", **" + g.kwInts([]string{"a"}, d) + ")"
		case 2:
			g.feat |= featKwName
			return "dict(**{" + x(niStr) + ": " + x(niInt) + "})"
		default:
			return "dict(*[zip(" + g.shapeList(niStr, d) + ", " + x(niListInt) + ")])"
		}
	}
	return ""
}

func (g *niGen) elemType() niType { return []niType{niInt, niStr}[g.pick(2)] }

// badCall is an expression of type t calling a builtin whose argument type, argument count or
// keyword names depend on a condition (often on the secret): whether it fails, and the text of
// its error (a type name, a count, a keyword), depend on the condition, so the error's label
// must cover it. "" if none.
func (g *niGen) badCall(t niType, d int) string {
	x := func(t niType) string { return g.expr(t, d-1) }
	w := "(" + g.leaf(niInt) + " if " + g.cond() + " else " + g.leaf(niStr) + ")" // an int or a str
	unknown := "({} if " + g.cond() + " else {" + g.leaf(niStr) + ": 1})"         // an unknown keyword on one side
	g.feat |= featBadCall
	switch t {
	case niInt:
		switch g.pick(7) {
		case 0:
			return []string{"abs", "hash", "len", "int"}[g.pick(4)] + "(" + w + ")"
		case 1:
			return x(niStr) + ".count(" + w + ")"
		case 2:
			return "len(range(" + w + "))"
		case 3:
			g.feat |= featStarCall
			return []string{"abs", "len", "hash", "ord"}[g.pick(4)] + "(*" + g.shapeList(g.elemType(), d) + ")"
		case 4:
			g.feat |= featKwCall | featKwName
			return "len(" + x(niStr) + ", **" + unknown + ")"
		case 5:
			g.feat |= featKwCall | featKwName
			return x(niStr) + ".find(" + x(niStr) + ", **" + unknown + ")"
		default:
			return "ord(" + w + ")"
		}
	case niStr:
		switch g.pick(7) {
		case 0:
			return "chr(" + w + ")"
		case 1:
			return x(niStr) + ".join(" + w + ")"
		case 2:
			return "(" + w + ").upper()"
		case 3:
			return `("%d" % ` + w + ")"
		case 4:
			g.feat |= featStarCall
			return x(niStr) + "." + []string{"upper", "strip", "lower"}[g.pick(3)] + "(*" + g.shapeList(niStr, d) + ")"
		case 5:
			g.feat |= featKwCall | featKwName
			return x(niStr) + ".replace(" + x(niStr) + ", " + x(niStr) + ", **" + unknown + ")"
		default:
			return "json.decode(" + w + ")"
		}
	case niBool:
		switch g.pick(4) {
		case 0:
			return x(niStr) + ".startswith(" + w + ")"
		case 1:
			return "any(" + w + ")"
		case 2:
			g.feat |= featStarCall
			return "hasattr(*" + g.shapeList(niStr, d) + ")"
		default:
			g.feat |= featKwCall | featKwName
			return "bool(" + x(niInt) + ", **" + unknown + ")"
		}
	case niListInt, niListStr:
		switch g.pick(3) {
		case 0:
			return "sorted(" + x(t) + " + [" + w + "])" // a comparison of an int and a str on one side
		case 1:
			return "list(" + x(t) + " if " + g.cond() + " else " + g.leaf(niInt) + ")"
		default:
			g.feat |= featKwCall | featKwName
			return "sorted(" + x(t) + ", **" + unknown + ")"
		}
	case niDict:
		return "dict(" + x(niDict) + " if " + g.cond() + " else " + w + ")"
	}
	return ""
}

// hostStmt calls a host fake: emit (a public sink), stash (a local-only one), approve, or
// print with spread arguments.
func (g *niGen) hostStmt() {
	g.feat |= featHost
	pub := func(t niType) string {
		if g.chance(85) {
			return g.literal(t)
		}
		return g.expr(t, 1)
	}
	switch g.pick(16) {
	case 0, 1:
		args := []string{pub(g.anyType())}
		for k := g.pick(3); k > 0; k-- {
			args = append(args, pub(g.anyType()))
		}
		if g.chance(30) {
			args = append(args, "tag="+pub(niStr))
		} else if g.chance(2) {
			args = append(args, "tag="+pub(niInt)) // wrong type
		}
		g.line("emit(%s)", strings.Join(args, ", "))
	case 2:
		g.feat |= featStarCall
		if g.chance(50) {
			g.line("emit(*%s)", g.shapeList(g.elemType(), 2))
		} else {
			g.feat |= featKwCall
			g.line("emit(%s, **%s)", pub(g.anyType()), g.kwStrs([]string{"tag"}))
		}
	case 3, 7:
		switch g.pick(4) {
		case 0:
			g.line("stash(%s)", g.expr(g.anyType(), 2))
		case 1, 3:
			g.feat |= featStarCall
			g.line("stash(*%s)", g.shapeList(g.elemType(), 2))
		default:
			g.feat |= featKwCall
			g.line("stash(%s, **%s)", g.expr(g.anyType(), 1), g.kwStrs([]string{"key"}))
		}
	case 4, 5, 6:
		g.feat |= featApprove
		what := pub(niStr)
		switch {
		case g.chance(5):
			g.feat |= featStarCall
			g.line("approve(*%s)", g.shapeList(niStr, 2)) // arity by the secret
		case g.chance(3):
			g.line("approve(%s)", g.expr(niInt, 1)) // wrong type
		default:
			g.line("approve(%s)", what)
		}
	case 8, 9, 10, 11, 12:
		msg := g.expr(g.anyType(), 1)
		switch g.pick(6) {
		case 0:
			g.line("log(%s)", msg)
		case 1:
			g.line("log(%s, level=%s)", msg, pub(niStr))
		case 2, 3, 4:
			// the level given or left out by a **kwargs whose key set depends on the secret
			g.feat |= featKwCall | featLog
			g.line("log(%s, **%s)", msg, g.kwStrs([]string{"level"}))
		default:
			g.feat |= featStarCall
			g.line("log(*%s)", g.shapeList(g.elemType(), 1)) // one argument, or an error
		}
	default:
		g.printSpread()
	}
}

// kwStrs is a ** mapping from names to strings, whose key set depends on the secret or whose
// keys come from data.
func (g *niGen) kwStrs(names []string) string {
	s := func() string { return g.expr(niStr, 1) }
	switch g.pick(3) {
	case 0:
		return "({" + strconv.Quote(names[0]) + ": " + s() + "} if " + g.cond() + " else {})"
	case 1:
		g.feat |= featKwName
		return "{" + g.expr(niStr, 1) + ": " + s() + "}"
	default:
		return "{" + strconv.Quote(names[0]) + ": " + s() + "}"
	}
}

// printSpread is a print whose arguments come from *args or **kwargs.
func (g *niGen) printSpread() {
	g.feat |= featStarCall
	switch g.pick(6) {
	case 0, 1:
		g.line("print(*%s)", g.shapeList(g.elemType(), 2))
	case 2:
		g.line("print(%s, sep=%s, *%s)", g.expr(g.anyType(), 1), g.literal(niStr), g.shapeList(g.elemType(), 2)) // keywords come before *args
	case 3:
		g.feat |= featKwCall
		g.line(`print(%s, **({"sep": %s} if %s else {}))`, g.expr(g.anyType(), 1), g.leaf(niStr), g.cond())
	case 4:
		g.feat |= featKwCall | featKwName
		if g.chance(30) {
			g.line("print(%q, **{%s: 1})", "ok", g.expr(niStr, 1)) // the error quotes the name
		} else {
			g.line("print(%q, **{(%q if %s else %s): %s})", "ok", "sep", g.cond(), g.leaf(niStr), g.literal(niStr))
		}
	default:
		g.line("print(*[%s, %s])", g.expr(g.anyType(), 1), g.expr(g.anyType(), 1))
	}
}

// abortLoop is a public loop that makes an effect per iteration and stops at a point that
// depends on the secret: how far it got is progress the runner charges, so the ending must be
// labelled (and the effects before it identical in both runs).
func (g *niGen) abortLoop() {
	g.feat |= featAbortLoop | featHost
	i := g.name("i")
	g.line("for %s in range(%d):", i, 3+g.pick(6))
	g.ind++
	switch g.pick(4) {
	case 0:
		g.line("emit(%s)", i)
	case 1:
		g.line("emit(%q, %s, tag=%s)", "tick", i, g.literal(niStr))
	case 2:
		if g.chance(50) {
			g.feat |= featStarCall
			g.line("stash(%s, *%s)", i, g.shapeList(g.elemType(), 1))
		} else {
			g.line("stash(%s, %s)", i, g.leaf(niStr))
		}
	default:
		g.feat |= featApprove
		g.line("approve(%q + str(%s))", "step ", i)
	}
	conds := []string{i + " == len(secret)", "secret[" + i + ":" + i + " + 1] == \"a\"", "(" + i + " * 3 + len(secret)) % 5 == 0",
		i + " >= len(token)"}
	if g.opts.secretInt {
		conds = append(conds, i+" >= secret_n")
	}
	if g.opts.secretList {
		conds = append(conds, i+" == len(secret_l)")
	}
	c := conds[g.pick(len(conds))]
	v := g.name("v")
	switch g.pick(8) {
	case 0:
		g.line("if %s:", c)
		g.line(`    fail("abort at", %s)`, i)
	case 1:
		g.line("if %s:", c)
		g.line(`    emit("late")`)
	case 2:
		g.feat |= featApprove
		g.line("if %s:", c)
		g.line(`    approve("late")`)
	case 3:
		g.line("if %s:", c)
		g.line(`    print("late")`)
	case 4:
		g.line("%s = 100 // (len(secret) - %s)", v, i)
	case 5:
		g.line("%s = [0, 1, 2][len(secret) - %s]", v, i)
	case 6:
		g.line("if %s:", c)
		g.line("    %s = len(token)", v) // a first read of TOKEN under a labelled pc
	default:
		g.line("%s = int(%s)", v, `"0123"[`+i+`] if `+c+` else secret`)
	}
	g.ind--
	if g.chance(50) {
		g.line("print(%q, %s)", "after", g.expr(g.anyType(), 1))
	}
}

// deepStmt builds a value nested deeper than starlark.MaxNesting (or around it, or around the
// comparison limit) in a loop, possibly by a secret-dependent depth or around a secret, and
// hands it to str, repr, print, json, hashing, == and the host. None of them may crash the
// process, and none may leak. Module-level globals are also frozen when the run ends.
func (g *niGen) deepStmt() {
	g.feat |= featDeep
	d, i := g.name("deep"), g.name("i")
	var depth string
	switch g.pick(5) {
	case 0, 1:
		depth = strconv.Itoa(starlark.MaxNesting + 1 + g.pick(60))
	case 2:
		depth = strconv.Itoa(starlark.MaxNesting-6) + " + len(secret) * 2"
	case 3:
		depth = strconv.Itoa(3 + g.pick(12))
	default:
		depth = strconv.Itoa(6+g.pick(4)) + " + len(secret)"
	}
	base := []string{"[]", "secret", g.literal(g.anyType()), "()", `"x"`, g.expr(g.anyType(), 1)}[g.pick(6)]
	tuple := false
	if g.chance(25) {
		// a chain built by mutation, with the base appended at the bottom
		cur, nxt := g.name("cur"), g.name("nxt")
		g.line("%s = []", d)
		g.line("%s = %s", cur, d)
		g.line("for %s in range(%s):", i, depth)
		g.line("    %s = []", nxt)
		g.line("    %s.append(%s)", cur, nxt)
		g.line("    %s = %s", cur, nxt)
		g.line("%s.append(%s)", cur, base)
	} else {
		wraps := []string{"[%[1]s]", "(%[1]s,)", `{"k": %[1]s}`, "[%[2]s, %[1]s]", "(%[2]s, %[1]s)"}
		k := g.pick(len(wraps))
		tuple = k == 1 || k == 4
		g.line("%s = %s", d, base)
		g.line("for %s in range(%s):", i, depth)
		g.line("    %s = "+wraps[k], d, i)
	}
	for n := 1 + g.pick(3); n > 0; n-- {
		switch g.pick(12) {
		case 0:
			g.line("print(len(str(%s)))", d)
		case 1:
			g.line("print(str(%s)[-16:])", d)
		case 2:
			g.line("print(repr(%s)[:16])", d)
		case 3:
			g.line("print(%s)", d)
		case 4:
			g.line("print(json.encode(%s)[:16])", d) // too deep: an error
		case 5:
			g.line("print(hash(str(%s)))", d)
		case 6:
			g.line("print([%s] == [%s])", d, d) // past the comparison limit: an error
		case 7:
			if tuple {
				g.line("print(len({%s: 1}))", d) // too deep to hash: an error
			} else {
				g.line("print(type(%s), len(%s))", d, d)
			}
		case 8:
			g.feat |= featHost
			g.line("emit(%s)", d)
		case 9:
			g.feat |= featHost
			g.line("stash(%s)", d)
		case 10:
			g.line("print(len(json.decode(%q * (%s) + %q * (%s))))", "[", depth, "]", depth)
		default:
			g.line("print(len(str([%s, %s])))", d, d)
		}
	}
}

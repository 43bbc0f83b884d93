package starlark_test

// Noninterference property tests for the labelled interpreter.
//
// The guarantee under test is termination-insensitive noninterference (TINI), with the runner's
// accounting of how a run ends: run one program twice, with two different values for its
// labelled inputs (secret, secret_n, secret_l of principal SECRET, token of principal TOKEN), and
// compare the public transcripts: everything print wrote (labelled arguments redacted) and the
// public events of the host fakes (ifc_ni_host_test.go: calls counted under a public pc, what
// emit and log sent, approval prompts, first reads of a source), in order. niCheck:
//   - if both runs finish, the transcripts are identical;
//   - a run whose ending is public (it finished, or stopped with an error whose label and pc are
//     Public) is matched by the other: the same ending, error text included, and the same
//     transcript, or a charged ending after a prefix of it;
//   - two charged endings (labelled error or pc, or a resource limit after a local-only read:
//     runner/budget.go secretDependent) have transcripts of which one is a prefix of the other,
//     so that everything before the first local-only read is identical and what differs is how
//     far each got: the public calls after that read, which the runner charges
//     (policy.LeakCharge).
//
// The secret comes in two ways, drawn per program: as labelled predeclared values (a labelled
// thread from the first instruction), or only from label-aware source builtins (get_secret(),
// get_token() and friends), so that the first label enters a running thread somewhere in the
// middle of its loops and calls (niToSources), and a first read of TOKEN can come under a pc
// labelled by SECRET.
//
// Map of this file:
//   - niGen: a type-directed generator of random well-formed Starlark programs (see its comment
//     for the grammar; the boundary constructs of issue 9 are in ifc_ni_boundary_test.go);
//     niProgramGen wraps it for rapid.
//   - niPredeclared / niExec / niCheck: the environment of a run, one run, and the comparison
//     of two runs.
//   - TestNoninterference: the random-program property, with coverage counters and floors that
//     keep the generator honest (niCheckStats).
//   - TestNoninterferenceAttacks: hand-written attack templates (testdata/ni/*.star) run with
//     random secrets.
//   - TestNoninterferenceSelfCheck*: mutation checks proving the harness does catch leaks
//     (and TestNoninterferenceSelfCheckHostRules, one per rule the host fakes mirror).
//   - The "labelled API" section: the only code here that touches the labelled host API (the
//     fakes in ifc_ni_host_test.go are the other).
//
// Long runs: AEGIS_NI_CHECKS=100000 go test -run 'TestNoninterference$' -timeout 0 ./starlark-ifc/starlark/
// (the number of random programs, one rapid.Check; default 500). Reproduce a failure with the
// -rapid.failfile or -rapid.seed flags that rapid prints; -rapid.seed=S replays the whole
// sequence of a long run from S.
//
// What the generator is known to find. Each bug below was planted in the fork, then
// TestNoninterference run with AEGIS_NI_CHECKS=20000 and -rapid.seed=1, 2 and 3 (at the commit
// that added this table); the figures are the number of the first program that violated the
// property, or crashed, per seed. The plants were reverted. (Classes: issue 9.)
//
//	class  planted bug                                                      programs to find
//	1      callBuiltin labels a builtin's error with the pc only                    4,   2,    1
//	1      J omits keyword names, the **kwargs mapping and the shape               25, 482,    5
//	2      lengthLabel returns Public (the length of a *args/**kwargs)             68, 146,   55
//	2      print ignores the call's shape (one redaction per spread element)       68,  37,   55
//	3      bindArgLabels ignores the shape (defaults, *rest, **kw)                114, 294,   28
//	3      ArgLabel/KwargLabel of an absent argument are Public                 1285, 104,  166
//	3      sorted's reference label depends on whether keywords were given     5977, 17662, 3784
//	4      errors forget the pc they happened under (exact errors, a builtin's
//	       result label, EvalError.PC, the CALL and frame-exit joins)               5,  63,  108
//	6      FreezeAll recursive, overflowing past MaxNesting+8                     195,  32,   11
//	6      str/repr without the MaxNesting cut, overflowing past MaxNesting+8    195,  32,   11
//	6      keys hashed without checkHashable, overflowing past MaxNesting+8      570, 123,   11
//	6      json.encode/decode without the depth limit, overflowing past it       236, 178,  790
//
// Class 4 at this level is the ending's label: the interpreter joins the pc into an error at
// five places, so a single dropped join is masked (the plant removes all of them). The rules of
// the host fakes (approval, first reads, counting: classes 4 and 7) are planted permanently in
// TestNoninterferenceSelfCheckHostRules, which finds each within its first 100 programs.
// Class 5 (zone paths) is not at this level. The generator also found one real leak: sorted()
// under a labelled **kwargs gave its result a labelled reference label when "reverse" was given
// and a public one when it was not (program 1785 of -rapid.seed=7870463061293778976; fixed on
// main by the rewrite of ruleSorted; testdata/ifc_ni_regressions.star), and one bug in its own
// log fake (it read only KwargLabel("level") while log(*["", secret]) passed it positionally).
//
import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/lib/json"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

const (
	niRedaction = "[REDACTED]"
	// Generated programs are small; the limits only stop the rare runaway (nested loops over
	// doubling lists), and hitting one counts as "did not finish".
	niMaxSteps    = 300_000
	niMaxAlloc    = 8 << 20
	niDefaultRuns = 500
)

// niFileOptions enables the whole dialect agents write, so each construct is under test.
func niFileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{While: true, TopLevelControl: true, GlobalReassign: true, Set: true, Recursion: true}
}

// ---------------------------------------------------------------------------------------------
// The generator.

// niType is the static type the generator tracks for each expression. Generated programs are
// well typed by construction, so most of them run to the end instead of dying on the first
// type error, and the interesting behaviour (labels flowing to print) is actually reached.
type niType int

const (
	niInt niType = iota
	niStr
	niBool
	niListInt
	niListStr
	niDict  // dict[str]int
	niTuple // (int, str)
	niNumTypes

	// niNoReturn marks a def whose result is a function (a closure factory): the generator
	// emits no early return of some other type in it.
	niNoReturn niType = -1
)

func (t niType) isList() bool { return t == niListInt || t == niListStr }

// elem is the element type of a list type.
func (t niType) elem() niType {
	if t == niListStr {
		return niStr
	}
	return niInt
}

type niVar struct {
	name   string
	typ    niType
	frozen bool // predeclared host value: never a mutation target
	block  int  // index of the generator block that binds it (set by vars)
}

type niFunc struct {
	name      string
	params    []niType
	pnames    []string // parameter names (keyword calls and ** spreads name them)
	ndefault  int      // how many trailing parameters have defaults
	ret       niType
	recursive bool    // first argument is a recursion depth that must stay small
	v         *niVSig // a def with *rest, keyword-only parameters or **kw (vdefStmt)
}

// niBlock is a lexical block of the generator, not of Starlark: a name bound inside an `if`
// body goes out of the generator's scope at the end of the body, because in Starlark it may
// be unbound when the branch was not taken.
type niBlock struct {
	vars    []niVar
	funcs   []niFunc
	fnStart bool // first block of a def body: names above it are read-only (assigning would make them local)
}

type niGenOptions struct {
	leak       bool // also emit calls to the deliberately leaky sink `leak` (self-check only)
	secretInt  bool // predeclared secret_n
	secretList bool // predeclared secret_l
	// sourceOnly: no labelled predeclared value; the program reads its secrets by calling the
	// source builtins get_secret(), get_secret_n() and get_secret_l() instead, so the first
	// label enters the thread mid-run, wherever the first such call happens (see niToSources).
	sourceOnly bool
	bug        niHostBug // a deliberate bug in the host fakes (self-checks only)
}

// niGen generates one program. Grammar (each construct typed, with bounded depth):
//
//	stmt  := assign | reassign | augassign (+= -= on int/str/list) | tuple unpacking
//	       | if/elif/else | for over list / str.elems() / range / dict / enumerate / zip
//	       | bounded while (hidden counter) | break/continue (guarded) | print(...) | fail (guarded)
//	       | list/dict mutation (append extend insert pop remove clear d[k]=v d[k]+=v update
//	         setdefault) | def (params, defaults, early return) | closure factory | recursion
//	       | return (guarded, in defs) | call statement | leak(...) (self-check only)
//	       | def with defaults, *rest, keyword-only parameters, **kw | binding motif
//	       | emit/stash/log/approve (host fakes) | print(*xs) and print(**kw)
//	       | a value nested deeper than MaxNesting | a loop of effects aborting by the secret
//	call  := positional | keywords | *args and **kwargs of public or secret-dependent shape
//	       | a keyword name computed from data
//	expr  := literals, variables, secret* | arithmetic, bitwise, comparisons, in/not in,
//	         and/or/not, conditional expressions, lambda, list/dict comprehensions with if
//	         clauses (also nested for), slicing and guarded indexing, string methods, builtins
//	         (len ord chr str int repr type hash abs min max sorted reversed enumerate zip list
//	         dict set any all bool tuple), set algebra, json.encode/decode, % and format,
//	         builtins and lambdas called through *args/**kwargs, builtins whose argument
//	         types, count or keywords depend on a condition (ifc_ni_boundary_test.go).
type niGen struct {
	t      *rapid.T
	opts   niGenOptions
	blocks []*niBlock
	rets   []niType // return type of each enclosing def
	loops  []int    // loops open in each def (index 0: module level)
	iter   []string // container variables being iterated (not mutated meanwhile)
	fresh  int
	feat   niFeat // boundary constructs generated (ifc_ni_boundary_test.go)
	budget int
	ind    int
	out    strings.Builder
}

func (g *niGen) pick(n int) int {
	if n <= 1 {
		return 0
	}
	return rapid.IntRange(0, n-1).Draw(g.t, "c")
}

// chance is true with probability pct%; shrinking moves it to false.
func (g *niGen) chance(pct int) bool { return rapid.IntRange(0, 99).Draw(g.t, "p") >= 100-pct }

func (g *niGen) name(prefix string) string {
	g.fresh++
	return prefix + strconv.Itoa(g.fresh)
}

func (g *niGen) line(format string, args ...any) {
	g.out.WriteString(strings.Repeat("    ", g.ind))
	fmt.Fprintf(&g.out, format, args...)
	g.out.WriteByte('\n')
}

func (g *niGen) push(fnStart bool) { g.blocks = append(g.blocks, &niBlock{fnStart: fnStart}) }
func (g *niGen) pop()              { g.blocks = g.blocks[:len(g.blocks)-1] }
func (g *niGen) top() *niBlock     { return g.blocks[len(g.blocks)-1] }

func (g *niGen) bind(name string, t niType) {
	g.top().vars = append(g.top().vars, niVar{name: name, typ: t})
}

// fnBase is the index of the first block of the innermost def (0 at module level).
func (g *niGen) fnBase() int {
	for i := len(g.blocks) - 1; i > 0; i-- {
		if g.blocks[i].fnStart {
			return i
		}
	}
	return 0
}

// vars lists the visible variables of type t; local restricts them to those the current def
// (or the module) may rebind, mutable to those that may be mutated in place.
func (g *niGen) vars(t niType, local, mutable bool) []niVar {
	from := 0
	if local {
		from = g.fnBase()
	}
	var vs []niVar
	for bi, b := range g.blocks[from:] {
		for _, v := range b.vars {
			v.block = from + bi
			if v.typ != t {
				continue
			}
			if (local || mutable) && v.frozen {
				continue
			}
			if mutable && g.iterating(v.name) {
				continue
			}
			vs = append(vs, v)
		}
	}
	return vs
}

// pickOuter picks one of vs, preferring (pct%) those bound in a block before block `before`:
// a write to a name that outlives the current block is what carries a flow out of it.
func (g *niGen) pickOuter(vs []niVar, before, pct int) niVar {
	var outer []niVar
	for _, v := range vs {
		if v.block < before {
			outer = append(outer, v)
		}
	}
	if len(outer) > 0 && g.chance(pct) {
		return outer[g.pick(len(outer))]
	}
	return vs[g.pick(len(vs))]
}

func (g *niGen) iterating(name string) bool {
	for _, n := range g.iter {
		if n == name {
			return true
		}
	}
	return false
}

func (g *niGen) funcs(ret niType) []niFunc {
	var fs []niFunc
	for _, b := range g.blocks {
		for _, f := range b.funcs {
			if f.ret == ret {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

func (g *niGen) inLoop() bool { return g.loops[len(g.loops)-1] > 0 }
func (g *niGen) inDef() bool  { return len(g.rets) > 0 }

var (
	niIntLits  = []string{"0", "1", "2", "3", "5", "7", "10", "-1", "42"}
	niStrLits  = []string{`""`, `"a"`, `"b"`, `"ab"`, `"xyz"`, `"a,b"`, `"0"`, `"12"`, `"Key"`, `" pad "`}
	niListInts = []string{"[]", "[1]", "[3, 1, 2]", "[0, -1]", "[5, 5]"}
	niListStrs = []string{"[]", `["a"]`, `["b", "a"]`, `["x", "", "y"]`, `["0", "1"]`}
	niDicts    = []string{"{}", `{"a": 1}`, `{"a": 1, "b": 2}`, `{"x": 0}`}
	niTuples   = []string{`(1, "a")`, `(0, "")`, `(7, "b")`}
)

func (g *niGen) literal(t niType) string {
	switch t {
	case niInt:
		return niIntLits[g.pick(len(niIntLits))]
	case niStr:
		return niStrLits[g.pick(len(niStrLits))]
	case niBool:
		return []string{"False", "True"}[g.pick(2)]
	case niListInt:
		return niListInts[g.pick(len(niListInts))]
	case niListStr:
		return niListStrs[g.pick(len(niListStrs))]
	case niDict:
		return niDicts[g.pick(len(niDicts))]
	default:
		return niTuples[g.pick(len(niTuples))]
	}
}

// confused is an int expression that fails with a type error on one side of a condition:
// the error's message names the type, so its label must cover the condition.
func (g *niGen) confused() string {
	v := "(" + g.leaf(niInt) + " if " + g.cond() + " else " + g.leaf(niStr) + ")"
	switch g.pick(4) {
	case 0:
		return "len(" + v + ")"
	case 1:
		return "(" + v + " + 1)"
	case 2:
		return "(" + v + " * 2)"
	default:
		return "((lambda: " + g.leaf(niInt) + ") if " + g.cond() + " else " + g.leaf(niInt) + ")()"
	}
}

// cond is the condition of an if, elif, while or guard. Half of them test the secret
// directly, so that implicit flows are common; the rest are arbitrary.
func (g *niGen) cond() string {
	if g.chance(15) {
		// the truth of a container is its length, which carries its structure label
		var cs []niVar
		for _, t := range []niType{niListInt, niListStr, niDict} {
			cs = append(cs, g.vars(t, false, false)...)
		}
		if len(cs) > 0 {
			return []string{"", "not "}[g.pick(2)] + cs[g.pick(len(cs))].name
		}
	}
	if g.chance(50) {
		return g.expr(niBool, 2)
	}
	tests := []string{`("a" in secret)`, "(len(secret) > 2)", `(secret < "m")`, `secret.startswith("b")`,
		"secret.isdigit()", "(len(secret) % 2 == 0)", `("1" not in secret)`, "(not secret)"}
	if g.opts.secretInt {
		tests = append(tests, "(secret_n > 3)", "(secret_n % 2 == 1)")
	}
	if g.chance(15) {
		// the second principal: its first read may come under a labelled pc
		tests = append(tests, `("a" in token)`, "(len(token) > 1)")
	}
	if g.opts.secretList {
		tests = append(tests, "(len(secret_l) > 1)", `("a" in secret_l)`)
	}
	return tests[g.pick(len(tests))]
}

// secretLeaf is an expression of type t that reads the labelled input.
func (g *niGen) secretLeaf(t niType) string {
	switch t {
	case niInt:
		if g.opts.secretInt && g.chance(50) {
			return "secret_n"
		}
		return "len(secret)"
	case niStr:
		if g.chance(30) {
			// the same secret from a label-aware source builtin: labels then enter the thread
			// from a call result, possibly deep in loops and calls, not at a predeclared load
			return "get_secret()"
		}
		if g.chance(10) {
			return "token"
		}
		return "secret"
	case niBool:
		return []string{`("a" in secret)`, "(len(secret) > 2)", `secret.startswith("b")`, "secret.isdigit()"}[g.pick(4)]
	case niListInt:
		return "list(secret.elem_ords())"
	case niListStr:
		if g.opts.secretList && g.chance(50) {
			return "secret_l"
		}
		return "list(secret.elems())"
	case niDict:
		return "{secret: len(secret)}"
	default:
		return "(len(secret), secret)"
	}
}

func (g *niGen) leaf(t niType) string {
	switch g.pick(6) {
	case 1, 2, 3:
		if vs := g.vars(t, false, false); len(vs) > 0 {
			return vs[g.pick(len(vs))].name
		}
	case 4:
		return g.secretLeaf(t)
	}
	return g.literal(t)
}

func (g *niGen) anyType() niType { return niType(g.pick(int(niNumTypes))) }

// call returns a call of a generated function returning t, or "" if there is none.
func (g *niGen) call(t niType, d int) string {
	fs := g.funcs(t)
	if len(fs) == 0 {
		return ""
	}
	f := fs[g.pick(len(fs))]
	if f.v != nil {
		return g.vcall(f, d)
	}
	args := make([]string, len(f.params))
	for i, p := range f.params {
		args[i] = g.expr(p, d-1)
	}
	if f.recursive {
		args[0] = "(" + args[0] + ") % 5"
	}
	callee := f.name
	if alt := g.sameSig(f, fs); alt != "" && g.chance(40) {
		// which function runs may depend on the condition: the callee itself is labelled
		callee = "(" + f.name + " if " + g.expr(niBool, 1) + " else " + alt + ")"
		return callee + "(" + strings.Join(args, ", ") + ")"
	}
	return callee + "(" + g.callArgs(f, args, d) + ")"
}

// sameSig names another function of fs with f's signature, or "".
func (g *niGen) sameSig(f niFunc, fs []niFunc) string {
	for _, h := range fs {
		if h.name == f.name || h.recursive != f.recursive || len(h.params) != len(f.params) || h.v != nil || f.v != nil {
			continue
		}
		same := true
		for i := range h.params {
			same = same && h.params[i] == f.params[i]
		}
		if same {
			return h.name
		}
	}
	return ""
}

// lambda applies an inline lambda whose body reads its parameter (and anything in scope).
func (g *niGen) lambda(t niType, d int) string {
	pt := g.anyType()
	p := g.name("p")
	arg := g.expr(pt, d-1)
	g.push(false)
	g.bind(p, pt)
	body := g.expr(t, d-1)
	g.pop()
	return "(lambda " + p + ": " + body + ")(" + arg + ")"
}

// comp generates `[elem for x in iter if cond]` style pieces: it binds a fresh loop variable
// of type et over the iterable src while generating the element and condition.
func (g *niGen) comp(src string, et niType, elem func(x string) string, d int) string {
	x := g.name("x")
	g.push(false)
	g.bind(x, et)
	e := elem(x)
	cond := ""
	if g.chance(40) {
		cond = " if " + g.expr(niBool, d-1)
	}
	g.pop()
	return e + " for " + x + " in " + src + cond
}

func (g *niGen) expr(t niType, d int) string {
	if d <= 0 || g.chance(35) {
		return g.leaf(t)
	}
	e := g.compound(t, d)
	if e == "" {
		return g.leaf(t)
	}
	return e
}

func (g *niGen) compound(t niType, d int) string {
	if g.chance(4) {
		if t == niStr && g.chance(30) {
			// type() reads only the reference label of its argument: it tells whether a
			// builtin labelled its result the same way whatever the call's shape was
			if e := g.spreadExpr(g.anyType(), d); e != "" {
				return "type(" + e + ")"
			}
		}
		if e := g.spreadExpr(t, d); e != "" {
			return e
		}
	}
	if g.chance(1) && g.chance(40) {
		if e := g.badCall(t, d); e != "" {
			return e
		}
	}
	x := func(t niType) string { return g.expr(t, d-1) }
	switch t {
	case niInt:
		return g.intExpr(d, x)
	case niStr:
		return g.strExpr(d, x)
	case niBool:
		return g.boolExpr(d, x)
	case niListInt, niListStr:
		return g.listExpr(t, d, x)
	case niDict:
		return g.dictExpr(d, x)
	default:
		return g.tupleExpr(d, x)
	}
}

func (g *niGen) intExpr(d int, x func(niType) string) string {
	switch g.pick(30) {
	case 0:
		return "(" + x(niInt) + " + " + x(niInt) + ")"
	case 1:
		return "(" + x(niInt) + " - " + x(niInt) + ")"
	case 2:
		return "(" + x(niInt) + " * " + x(niInt) + " % 97)"
	case 3:
		return "(" + x(niInt) + " // (" + x(niInt) + " or 1))"
	case 4:
		return "(" + x(niInt) + " % (" + x(niInt) + " or 1))"
	case 5:
		return "len(" + x(niStr) + ")"
	case 6:
		return "len(" + x([]niType{niListInt, niListStr, niDict}[g.pick(3)]) + ")"
	case 7:
		return `ord((` + x(niStr) + ` + "?")[0])`
	case 8:
		return x(niStr) + []string{".find(", ".count(", ".rfind("}[g.pick(3)] + x(niStr) + ")"
	case 9:
		return "int(str(" + x(niInt) + "))"
	case 10:
		return "abs(" + x(niInt) + ")"
	case 11:
		return []string{"min(", "max("}[g.pick(2)] + x(niInt) + ", " + x(niInt) + ")"
	case 12:
		return []string{"min(", "max("}[g.pick(2)] + x(niListInt) + " + [" + x(niInt) + "])"
	case 13:
		return "(hash(" + x(niStr) + ") % 1000)"
	case 14:
		return "(" + x(niInt) + " if " + x(niBool) + " else " + x(niInt) + ")"
	case 15:
		return "(" + x(niListInt) + " + [0, 0, 0, 0, 0])[" + x(niInt) + " % 5]"
	case 16:
		return x(niDict) + ".get(" + x(niStr) + ", " + x(niInt) + ")"
	case 17:
		return g.call(niInt, d)
	case 18:
		return x(niTuple) + "[0]"
	case 19:
		return "int(" + x(niBool) + ")"
	case 20:
		return g.lambda(niInt, d)
	case 21:
		return "json.decode(json.encode(" + x(niInt) + "))"
	case 22:
		return "len([" + g.comp(x(niListInt), niInt, func(v string) string { return v }, d) + "])"
	case 23:
		if g.chance(30) {
			return "int(" + x(niStr) + ")" // may fail, with an error that depends on its operand
		}
		s := g.leaf(niStr)
		return "(int(" + s + ") if " + s + ".isdigit() else " + x(niInt) + ")"
	case 24:
		return "(" + x(niInt) + []string{" & ", " | ", " ^ "}[g.pick(3)] + x(niInt) + ")"
	case 25:
		switch g.pick(4) {
		case 0:
			return "(" + x(niInt) + " << (" + x(niInt) + " % 4))"
		case 1:
			return "int(float(" + x(niInt) + ") / 2)" // through floats
		case 2:
			return "int(float(" + x(niInt) + ") * 1.5 + len(str(float(" + x(niInt) + "))))"
		default:
			if g.chance(40) {
				return x(niListInt) + ".index(" + x(niInt) + ")" // may fail: not in list
			}
			return "(" + x(niListInt) + " + [0]).index(0)"
		}
	case 26:
		return "len(set(" + x(niListInt) + "))"
	case 27:
		return "(((" + x(niInt) + " << 40) + " + x(niInt) + ") % 1000003)" // through big ints
	case 28:
		if g.chance(30) {
			return x(niStr) + ".index(" + x(niStr) + ")" // may fail, quoting nothing but depending on both
		}
		if g.chance(20) {
			return g.confused()
		}
		return "len(" + x(niListStr) + ")"
	default:
		if g.chance(30) {
			return x(niListInt) + "[" + x(niInt) + "]" // may fail: index out of range
		}
		return "len(" + x(niDict) + ".items())"
	}
}

func (g *niGen) strExpr(d int, x func(niType) string) string {
	switch g.pick(29) {
	case 0:
		return "(" + x(niStr) + " + " + x(niStr) + ")"
	case 1:
		return x(niStr) + []string{".upper()", ".lower()", ".strip()", ".capitalize()", ".lstrip()", ".rstrip()", ".title()"}[g.pick(7)]
	case 2:
		return x(niStr) + ".replace(" + x(niStr) + ", " + x(niStr) + ")"
	case 3:
		return x(niStr) + "[" + x(niInt) + ":" + x(niInt) + "]"
	case 4:
		return x(niStr) + "[::-1]"
	case 5:
		s := g.leaf(niStr)
		return "(" + s + ` + "?")[` + x(niInt) + " % (len(" + s + ") + 1)]"
	case 6:
		return x(niStr) + ".join(" + x(niListStr) + ")"
	case 7:
		return `",".join([` + g.comp(x(niListInt), niInt, func(v string) string { return "str(" + v + ")" }, d) + "])"
	case 8:
		return "str(" + x(g.anyType()) + ")"
	case 9:
		return "repr(" + x(g.anyType()) + ")"
	case 10:
		return "type(" + x(g.anyType()) + ")"
	case 11:
		return "chr(65 + " + x(niInt) + " % 26)"
	case 12:
		return "(" + x(niStr) + " * (" + x(niInt) + " % 3))"
	case 13:
		return `("%s:%d" % (` + x(niStr) + ", " + x(niInt) + "))"
	case 14:
		if g.chance(30) {
			return `"{a}/{b!r}".format(b=` + x(g.anyType()) + ", a=" + x(niStr) + ")"
		}
		return `"{}-{}".format(` + x(niStr) + ", " + x(g.anyType()) + ")"
	case 15:
		return "(" + x(niStr) + " if " + x(niBool) + " else " + x(niStr) + ")"
	case 16:
		return "json.encode(" + x(g.anyType()) + ")"
	case 17:
		return x(niStr) + ".removeprefix(" + x(niStr) + ")"
	case 18:
		return x(niStr) + []string{".partition(", ".rpartition("}[g.pick(2)] + "(" + x(niStr) + ` or ","))[` + strconv.Itoa(g.pick(3)) + "]"
	case 19:
		if g.chance(30) {
			return "max(" + x(niListStr) + " + [" + x(niStr) + "], key=lambda s: s.count(" + x(niStr) + "))"
		}
		return []string{"min(", "max("}[g.pick(2)] + x(niListStr) + " + [" + x(niStr) + "])"
	case 20:
		return x(niStr) + ".split(" + x(niStr) + ` or ",")[0]`
	case 21:
		return g.call(niStr, d)
	case 22:
		return x(niTuple) + "[1]"
	case 23:
		return g.lambda(niStr, d)
	case 24:
		return "(" + x(niListStr) + ` + ["", ""])[` + x(niInt) + " % 2]"
	case 25:
		if g.chance(50) {
			return `"".join(sorted(` + x(niStr) + ".elems()))"
		}
		return `"".join(reversed(list(` + x(niStr) + ".elems())))"
	case 27:
		return "getattr(" + x(niStr) + `, "upper" if ` + x(niBool) + ` else "lower")()`
	case 26:
		c := g.name("c")
		src := x(niStr) + ".elems()"
		g.push(false)
		g.bind(c, niStr)
		cond := x(niBool)
		g.pop()
		return `"".join([` + c + ".upper() if " + cond + " else " + c + " for " + c + " in " + src + "])"
	default:
		if g.chance(30) {
			return x(niListStr) + "[" + x(niInt) + "]" // may fail: index out of range
		}
		if g.chance(20) {
			return "str(json.decode(" + x(niStr) + "))" // usually fails: invalid JSON, quoting its input
		}
		return "json.decode(json.encode(" + x(niStr) + "))"
	}
}

func (g *niGen) boolExpr(d int, x func(niType) string) string {
	switch g.pick(18) {
	case 0:
		return "(" + x(niInt) + []string{" < ", " == ", " != ", " >= "}[g.pick(4)] + x(niInt) + ")"
	case 1:
		return "(" + x(niStr) + []string{" == ", " < ", " != "}[g.pick(3)] + x(niStr) + ")"
	case 2:
		return "(" + x(niStr) + []string{" in ", " not in "}[g.pick(2)] + x(niStr) + ")"
	case 3:
		switch g.pick(3) {
		case 0:
			return "(" + x(niInt) + " in " + x(niListInt) + ")"
		case 1:
			return "(" + x(niStr) + " in " + x(niListStr) + ")"
		default:
			return "(" + x(niStr) + " in " + x(niDict) + ")"
		}
	case 4:
		return "(not " + x(niBool) + ")"
	case 5:
		return "(" + x(niBool) + []string{" and ", " or "}[g.pick(2)] + x(niBool) + ")"
	case 6:
		return x(niStr) + []string{".startswith(", ".endswith("}[g.pick(2)] + x(niStr) + ")"
	case 7:
		return x(niStr) + []string{".isdigit()", ".isalpha()", ".islower()", ".isupper()"}[g.pick(4)]
	case 8:
		return []string{"any(", "all("}[g.pick(2)] + x(niListInt) + ")"
	case 9:
		return "any([" + g.comp(x(niListStr), niStr, func(v string) string { return "(" + v + " in " + g.expr(niStr, d-1) + ")" }, d) + "])"
	case 10:
		return "bool(" + x(g.anyType()) + ")"
	case 11:
		return "(" + x(niBool) + " if " + x(niBool) + " else " + x(niBool) + ")"
	case 12:
		return "(" + x(niInt) + " in set(" + x(niListInt) + "))"
	case 13:
		return g.call(niBool, d)
	case 14:
		t := []niType{niListInt, niDict, niTuple, niListStr}[g.pick(4)]
		return "(" + x(t) + " == " + x(t) + ")"
	case 15:
		return g.lambda(niBool, d)
	case 16:
		return "(type(" + x(g.anyType()) + `) == "list")`
	default:
		return "hasattr(" + x(niStr) + `, "upper")`
	}
}

func (g *niGen) listExpr(t niType, d int, x func(niType) string) string {
	et := t.elem()
	if t == niListStr {
		switch g.pick(8) {
		case 0:
			return x(niStr) + ".split(" + x(niStr) + ` or ",")`
		case 1:
			return "list(" + x(niStr) + ".elems())"
		case 2:
			return x(niDict) + ".keys()"
		case 3:
			return "[" + g.comp(x(niListInt), niInt, func(v string) string { return "str(" + v + ")" }, d) + "]"
		case 4:
			return "sorted(" + x(niListStr) + []string{", key=len)", ", key=lambda s: s[::-1])", ", reverse=True)", ", key=lambda s: (s in " + g.leaf(niStr) + "))"}[g.pick(4)]
		case 5:
			k, v := g.name("k"), g.name("v")
			src := x(niDict) + ".items()"
			g.push(false)
			g.bind(k, niStr)
			g.bind(v, niInt)
			cond := x(niBool)
			g.pop()
			return "[" + k + " for " + k + ", " + v + " in " + src + " if " + cond + "]"
		case 6:
			return x(niStr) + ".splitlines()"
		}
	} else {
		switch g.pick(8) {
		case 0:
			return "[" + g.comp(x(niStr)+".elems()", niStr, func(v string) string { return "ord(" + v + ")" }, d) + "]"
		case 1:
			return x(niDict) + ".values()"
		case 2:
			i, v := g.name("i"), g.name("v")
			src := "enumerate(" + x(niListStr) + ")"
			g.push(false)
			g.bind(i, niInt)
			g.bind(v, niStr)
			e := x(niInt)
			g.pop()
			return "[" + e + " for " + i + ", " + v + " in " + src + "]"
		case 3:
			a, b := g.name("a"), g.name("b")
			src := "zip(" + x(niListInt) + ", " + x(niListInt) + ")"
			return "[" + a + " + " + b + " for " + a + ", " + b + " in " + src + "]"
		case 4:
			switch g.pick(3) {
			case 0:
				return "list(range(" + x(niInt) + " % 6))"
			case 1:
				return "list(reversed(range(" + x(niInt) + " % 6)))"
			default:
				return "list(range(" + x(niInt) + " % 4, " + x(niInt) + " % 9, 2))"
			}
		case 5:
			return "sorted(set(" + x(niListInt) + ")" + []string{" | ", " & ", " - ", " ^ "}[g.pick(4)] + "set(" + x(niListInt) + "))"
		case 6:
			return "[" + g.comp(x(niListStr), niStr, func(v string) string { return "len(" + v + ")" }, d) + "]"
		}
	}
	switch g.pick(13) {
	case 0:
		return "[" + x(et) + ", " + x(et) + "]"
	case 1:
		return "(" + x(t) + " + " + x(t) + ")"
	case 2:
		return x(t) + "[" + x(niInt) + ":" + x(niInt) + "]"
	case 3:
		return "sorted(" + x(t) + ")"
	case 4:
		return "list(reversed(" + x(t) + "))"
	case 5:
		return "[" + g.comp(x(t), et, func(string) string { return g.expr(et, d-1) }, d) + "]"
	case 6:
		return "(" + x(t) + " * (" + x(niInt) + " % 3))"
	case 7:
		return g.call(t, d)
	case 8:
		return "(" + x(t) + " if " + x(niBool) + " else " + x(t) + ")"
	case 9:
		return "json.decode(json.encode(" + x(t) + "))"
	case 10:
		// nested comprehension: two for clauses
		a, b := g.name("a"), g.name("b")
		s1, s2 := x(t), x(t)
		g.push(false)
		g.bind(a, et)
		g.bind(b, et)
		e := x(et)
		g.pop()
		return "[" + e + " for " + a + " in " + s1 + "[:4] for " + b + " in " + s2 + "[:4]]"
	case 11:
		return "sorted(set(" + x(t) + "))"
	default:
		return "list(" + x(t) + ")"
	}
}

func (g *niGen) dictExpr(d int, x func(niType) string) string {
	switch g.pick(11) {
	case 0:
		return "{" + x(niStr) + ": " + x(niInt) + "}"
	case 1:
		return "{" + g.comp(x(niListStr), niStr, func(v string) string { return v + ": len(" + v + ")" }, d) + "}"
	case 2:
		i, v := g.name("i"), g.name("v")
		src := "enumerate(" + x(niListStr) + ")"
		g.push(false)
		g.bind(i, niInt)
		g.bind(v, niStr)
		cond := x(niBool)
		g.pop()
		return "{" + v + ": " + i + " for " + i + ", " + v + " in " + src + " if " + cond + "}"
	case 3:
		return "dict(zip(" + x(niListStr) + ", " + x(niListInt) + "))"
	case 4:
		return "dict(" + x(niDict) + ")"
	case 5:
		return "dict([(" + x(niStr) + ", " + x(niInt) + "), (" + x(niStr) + ", " + x(niInt) + ")])"
	case 6:
		k, v := g.name("k"), g.name("v")
		src := x(niDict) + ".items()"
		g.push(false)
		g.bind(k, niStr)
		g.bind(v, niInt)
		e := x(niInt)
		g.pop()
		return "{" + k + ": " + e + " for " + k + ", " + v + " in " + src + "}"
	case 7:
		return "(" + x(niDict) + " if " + x(niBool) + " else " + x(niDict) + ")"
	case 8:
		return g.call(niDict, d)
	case 9:
		return "json.decode(json.encode(" + x(niDict) + "))"
	default:
		c := g.name("c")
		s := g.leaf(niStr)
		return "{" + c + ": " + s + ".count(" + c + ") for " + c + " in " + s + ".elems()}"
	}
}

func (g *niGen) tupleExpr(d int, x func(niType) string) string {
	switch g.pick(6) {
	case 0:
		return "(" + x(niInt) + ", " + x(niStr) + ")"
	case 1:
		return "(" + x(niTuple) + " if " + x(niBool) + " else " + x(niTuple) + ")"
	case 2:
		return "tuple([" + x(niInt) + ", " + x(niStr) + "])"
	case 3:
		return "list(enumerate(" + x(niListStr) + " + [" + x(niStr) + "]))[-1]"
	case 4:
		return "sorted([" + x(niTuple) + ", " + x(niTuple) + "])[0]"
	default:
		return g.call(niTuple, d)
	}
}

// ---- statements

const niExprDepth = 2

func (g *niGen) block(n, depth int) {
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		g.stmt(depth)
	}
}

// body generates an indented block in a fresh generator scope.
func (g *niGen) body(n, depth int, bind func()) {
	g.ind++
	g.push(false)
	if bind != nil {
		bind()
	}
	g.block(n, depth)
	g.pop()
	g.ind--
}

type niStmtKind int

const (
	skAssign niStmtKind = iota
	skPrint
	skReassign
	skAug
	skUnpack
	skIf
	skFor
	skWhile
	skMutate
	skCall
	skFail
	skJump   // break/continue
	skReturn // early return
	skDef
	skFactory
	skRecursive
	skCondLambda
	skMotif
	skLeak
	skHost
	skAbortLoop
	skVDef
	skDeep
)

func (g *niGen) stmt(depth int) {
	g.budget--
	kinds := []niStmtKind{skAssign, skPrint, skAssign, skPrint, skReassign, skAug, skUnpack, skMutate, skMutate, skCall, skFail, skMotif, skMotif, skMotif, skHost, skHost}
	if depth > 0 && g.budget > 0 {
		kinds = append(kinds, skIf, skIf, skFor, skFor, skWhile)
	}
	if !g.inLoop() && !g.inDef() && len(g.blocks) == 1 {
		kinds = append(kinds, skAbortLoop, skAbortLoop, skDeep, skDeep)
	}
	if len(g.blocks)-1 > g.fnBase() {
		// Inside an if or loop body a new name dies with the block: writes to names and
		// containers that outlive it, and calls that may write, are what carry (implicit)
		// flows, so favour them.
		kinds = append(kinds, skReassign, skReassign, skAug, skMutate, skCall)
	}
	if g.inLoop() {
		kinds = append(kinds, skJump)
	}
	if g.inDef() && g.rets[len(g.rets)-1] != niNoReturn {
		kinds = append(kinds, skReturn)
	}
	// defs only directly in a module or def body (not inside if/for), where they stay in scope.
	if len(g.blocks) == 1 || g.top().fnStart {
		if depth > 0 && g.budget > 0 && len(g.rets) < 2 {
			kinds = append(kinds, skDef, skDef, skFactory, skVDef)
		}
		if !g.inDef() {
			kinds = append(kinds, skRecursive)
		}
		kinds = append(kinds, skCondLambda)
	}
	if g.opts.leak {
		kinds = append(kinds, skLeak, skLeak)
	}
	switch kinds[g.pick(len(kinds))] {
	case skAssign:
		t := g.anyType()
		v := g.name("v")
		g.line("%s = %s", v, g.expr(t, niExprDepth))
		g.bind(v, t)
	case skPrint:
		g.printStmt()
	case skReassign:
		t := g.anyType()
		vs := g.vars(t, true, false)
		if len(vs) == 0 {
			g.printStmt()
			return
		}
		v := g.pickOuter(vs, len(g.blocks)-1, 75)
		e := g.expr(t, niExprDepth)
		if g.chance(40) {
			e = g.literal(t) // a public value: on one path only, unless the monitor upgrades
		}
		if g.inLoop() && (t == niStr || t.isList()) {
			e = "(" + e + ")[:24]" // keeps loops from doubling strings and lists without bound
		}
		g.line("%s = %s", v.name, e)
	case skAug:
		g.augStmt()
	case skUnpack:
		a, b := g.name("v"), g.name("v")
		if g.chance(50) {
			g.line("%s, %s = %s", a, b, g.expr(niTuple, niExprDepth))
		} else {
			g.line("%s, %s = %s, %s", a, b, g.expr(niInt, 2), g.expr(niStr, 2))
		}
		g.bind(a, niInt)
		g.bind(b, niStr)
	case skIf:
		g.line("if %s:", g.cond())
		g.body(1+g.pick(3), depth-1, nil)
		for g.chance(30) {
			g.line("elif %s:", g.cond())
			g.body(1+g.pick(2), depth-1, nil)
		}
		if g.chance(50) {
			g.line("else:")
			g.body(1+g.pick(3), depth-1, nil)
		}
	case skFor:
		g.forStmt(depth)
	case skWhile:
		w := g.name("w")
		g.line("%s = 0", w)
		cond := w + " < " + strconv.Itoa(1+g.pick(6))
		if g.chance(60) {
			cond += " and " + g.cond()
		}
		g.line("while %s:", cond)
		g.ind++
		g.line("%s += 1", w) // first, so that a generated `continue` cannot skip it
		g.ind--
		g.loops[len(g.loops)-1]++
		g.body(1+g.pick(3), depth-1, nil)
		g.loops[len(g.loops)-1]--
	case skMutate:
		g.mutateStmt()
	case skCall:
		t := g.anyType()
		if c := g.call(t, niExprDepth); c != "" {
			g.line("%s", c)
		} else {
			g.printStmt()
		}
	case skFail:
		if g.chance(50) {
			g.line("if %s:", g.cond())
			g.ind++
			g.line(`fail("stopped", %s)`, g.expr(g.anyType(), 2))
			g.ind--
		} else {
			g.printStmt()
		}
	case skJump:
		g.line("if %s:", g.cond())
		g.ind++
		g.line("%s", []string{"break", "continue"}[g.pick(2)])
		g.ind--
	case skReturn:
		g.line("if %s:", g.cond())
		g.ind++
		g.line("return %s", g.expr(g.rets[len(g.rets)-1], 2))
		g.ind--
	case skDef:
		g.defStmt(depth)
	case skFactory:
		g.factoryStmt(depth)
	case skRecursive:
		g.recursiveStmt()
	case skMotif:
		g.motif(depth)
	case skCondLambda:
		// a function value chosen by a condition, called later
		name, p := g.name("fn"), g.name("p")
		pt, ret := g.anyType(), g.anyType()
		cond := g.cond()
		a := g.withBound(p, pt, func() string { return g.expr(ret, 2) })
		b := g.withBound(p, pt, func() string { return g.expr(ret, 2) })
		g.line("%s = (lambda %s: %s) if %s else (lambda %s: %s)", name, p, a, cond, p, b)
		g.top().funcs = append(g.top().funcs, niFunc{name: name, params: []niType{pt}, pnames: []string{p}, ret: ret})
	case skLeak:
		g.line("leak(%s)", g.expr(g.anyType(), 2))
	case skHost:
		g.hostStmt()
	case skAbortLoop:
		if g.chance(70) {
			g.abortLoop()
		} else {
			g.hostStmt()
		}
	case skVDef:
		g.vdefStmt(depth)
	case skDeep:
		if g.chance(60) {
			g.deepStmt() // a thousand iterations: not too often
		} else {
			g.hostStmt()
		}
	}
}

// motif emits one of the small idioms through which real code launders a secret by control
// flow alone (a flag set in a branch, a counter, a filtered accumulator, a search with break,
// an early return, a closure over a variable reassigned in a branch). Random soup produces
// them too rarely for the interesting labels to be exercised.
func (g *niGen) motif(depth int) {
	switch g.pick(9) {
	case 8: // a def whose parameters are bound through a call shape that depends on the secret
		g.bindingMotif(depth)
	case 0: // flag
		t := g.anyType()
		v := g.name("flag")
		g.line("%s = %s", v, g.literal(t))
		g.line("if %s:", g.cond())
		g.ind++
		g.line("%s = %s", v, g.literal(t))
		g.ind--
		if g.chance(40) {
			g.line("else:")
			g.ind++
			g.line("%s = %s", v, g.literal(t))
			g.ind--
		}
		g.bind(v, t)
	case 1: // counter
		n, x := g.name("count"), g.name("x")
		src, et := g.iterable()
		g.line("%s = 0", n)
		g.line("for %s in %s:", x, src)
		g.ind++
		g.line("if %s:", g.withBound(x, et, g.cond))
		g.ind++
		g.line("%s += 1", n)
		g.ind -= 2
		g.bind(n, niInt)
	case 2: // filtered accumulator
		acc, x := g.name("acc"), g.name("x")
		src, et := g.iterable()
		g.line("%s = []", acc)
		g.line("for %s in %s:", x, src)
		g.ind++
		g.line("if %s:", g.withBound(x, et, g.cond))
		g.ind++
		g.line("%s.append(%s)", acc, g.withBound(x, et, func() string { return g.expr(et, 1) }))
		g.ind -= 2
		if et == niInt {
			g.bind(acc, niListInt)
		} else {
			g.bind(acc, niListStr)
		}
	case 3: // search with break
		found, x := g.name("found"), g.name("x")
		src, et := g.iterable()
		g.line("%s = %s", found, g.literal(et))
		g.line("for %s in %s:", x, src)
		g.ind++
		g.line("if %s:", g.withBound(x, et, g.cond))
		g.ind++
		g.line("%s = %s", found, x)
		g.line("break")
		g.ind -= 2
		g.bind(found, et)
	case 4: // early return
		if g.inDef() && g.rets[len(g.rets)-1] != niNoReturn {
			g.line("if %s:", g.cond())
			g.ind++
			g.line("return %s", g.literal(g.rets[len(g.rets)-1]))
			g.ind--
			return
		}
		f, p := g.name("f"), g.name("q")
		pt, ret := g.anyType(), g.anyType()
		g.def(f, []string{p}, []niType{pt}, ret, nil)
		g.line("if %s:", g.cond())
		g.ind++
		g.line("return %s", g.literal(ret))
		g.ind--
		if depth > 0 && g.chance(50) {
			g.block(1, depth-1)
		}
		g.line("return %s", g.literal(ret))
		g.endDef()
		fn := niFunc{name: f, params: []niType{pt}, pnames: []string{p}, ret: ret}
		g.top().funcs = append(g.top().funcs, fn)
		g.maybeCallNow(fn)
	case 5: // a closure reads a variable its enclosing def reassigns in a branch
		if g.inDef() {
			g.printStmt()
			return
		}
		f, v, get := g.name("f"), g.name("v"), g.name("get")
		t := g.anyType()
		g.def(f, nil, nil, t, nil)
		g.line("%s = %s", v, g.literal(t))
		g.line("%s = lambda: %s", get, v)
		g.line("if %s:", g.cond())
		g.ind++
		g.line("%s = %s", v, g.literal(t))
		g.ind--
		g.line("return %s()", get)
		g.endDef()
		fn := niFunc{name: f, ret: t, pnames: []string{}}
		g.top().funcs = append(g.top().funcs, fn)
		g.line("print(%s())", f)
	case 6: // a callee writes into an outer container under the caller's secret condition
		if g.inDef() {
			g.printStmt()
			return
		}
		c, f, p := g.name("log"), g.name("note"), g.name("q")
		dict := g.chance(50)
		if dict {
			g.line("%s = {}", c)
		} else {
			g.line("%s = []", c)
		}
		g.line("def %s(%s):", f, p)
		g.ind++
		if dict {
			g.line("%s[%s] = 1", c, p)
		} else {
			g.line("%s.append(%s)", c, p)
		}
		g.ind--
		g.line("if %s:", g.cond())
		g.ind++
		g.line("%s(%s)", f, g.literal(niStr))
		g.ind--
		if dict {
			g.bind(c, niDict)
		} else {
			g.bind(c, niListStr)
		}
	default: // a container whose size depends on the secret, then tested
		t := []niType{niListInt, niListStr, niDict}[g.pick(3)]
		v, flag := g.name("c"), g.name("flag")
		g.line("%s = %s", v, g.secretSized(t))
		g.line("%s = %s", flag, g.literal(niInt))
		g.line("if %s%s:", []string{"", "not "}[g.pick(2)], v)
		g.ind++
		g.line("%s = %s", flag, g.literal(niInt))
		g.ind--
		g.bind(v, t)
		g.bind(flag, niInt)
	}
}

// iterable is something to loop over, with its element type; often the secret itself.
func (g *niGen) iterable() (string, niType) {
	switch g.pick(5) {
	case 0:
		return g.expr(niListInt, 1), niInt
	case 1:
		return g.expr(niListStr, 1), niStr
	case 2:
		return g.leaf(niStr) + ".elems()", niStr
	case 3:
		return "secret.elems()", niStr
	default:
		return `"abcxyz01".elems()`, niStr
	}
}

// secretSized is a container whose length (structure), but not its reference, depends on
// the secret.
func (g *niGen) secretSized(t niType) string {
	switch t {
	case niListInt:
		return `[ord(c) for c in secret.elems() if c != "a"]`
	case niListStr:
		return `[c for c in "abx01".elems() if c in secret]`
	default:
		return "{c: 1 for c in secret.elems()}"
	}
}

func (g *niGen) printStmt() {
	if g.chance(8) {
		g.printSpread()
		return
	}
	n := 1 + g.pick(3)
	args := make([]string, n)
	for i := range args {
		args[i] = g.expr(g.anyType(), 2)
	}
	if g.chance(15) {
		args = append([]string{strconv.Quote(g.name("at"))}, args...)
	}
	sep := ""
	if g.chance(15) {
		sep = `, sep="|"`
		if g.chance(30) {
			sep = ", sep=" + g.leaf(niStr) // possibly labelled
		}
	}
	g.line("print(%s%s)", strings.Join(args, ", "), sep)
}

func (g *niGen) augStmt() {
	t := []niType{niInt, niStr, niListInt, niListStr}[g.pick(4)]
	vs := g.vars(t, true, t.isList())
	if len(vs) == 0 {
		g.printStmt()
		return
	}
	v := vs[g.pick(len(vs))].name
	switch t {
	case niInt:
		g.line("%s %s %s", v, []string{"+=", "-=", "^="}[g.pick(3)], g.expr(niInt, 2))
	case niStr:
		if g.inLoop() {
			g.line("%s = (%s + %s)[:24]", v, v, g.expr(niStr, 2))
		} else {
			g.line("%s += %s", v, g.expr(niStr, 2))
		}
	default:
		g.line("%s += %s", v, g.expr(t, 2)) // in place on lists: a heap write
	}
}

func (g *niGen) mutateStmt() {
	t := []niType{niListInt, niListStr, niDict}[g.pick(3)]
	vs := g.vars(t, false, true)
	if len(vs) == 0 {
		// nothing to mutate yet: make a container here, so mutations are not rare
		v := g.name("v")
		g.line("%s = %s", v, g.literal(t))
		g.bind(v, t)
		vs = g.vars(t, false, true)
	}
	// In a def, often a container from outside it: a callee writing into the caller's data
	// under the caller's secret condition is what no-sensitive-upgrade is for.
	v := g.pickOuter(vs, g.fnBase(), 50).name
	if g.chance(12) {
		g.mutateSpread(t, v)
		return
	}
	if t == niDict {
		switch g.pick(8) {
		case 0:
			g.line("%s[%s] = %s", v, g.expr(niStr, 2), g.expr(niInt, 2))
		case 1:
			g.line("%s.update(%s)", v, g.expr(niDict, 2))
		case 2:
			g.line("%s.pop(%s, None)", v, g.expr(niStr, 2))
		case 3:
			g.line("%s.setdefault(%s, %s)", v, g.expr(niStr, 2), g.expr(niInt, 2))
		case 4:
			k := g.leaf(niStr)
			g.line("%s[%s] = %s.get(%s, 0) + %s", v, k, v, k, g.expr(niInt, 2))
		case 5:
			k := g.leaf(niStr)
			g.line("if %s in %s:", k, v)
			g.ind++
			g.line("%s[%s] += %s", v, k, g.expr(niInt, 2))
			g.ind--
		case 6:
			g.line("if %s:", v)
			g.ind++
			g.line("%s.popitem()", v)
			g.ind--
		default:
			g.line("%s.clear()", v)
		}
		return
	}
	et := t.elem()
	switch g.pick(7) {
	case 0:
		g.line("%s.append(%s)", v, g.expr(et, 2))
	case 1:
		g.line("%s.extend(%s)", v, g.expr(t, 2))
	case 2:
		g.line("%s.insert(%s %% 3, %s)", v, g.expr(niInt, 2), g.expr(et, 2))
	case 3:
		g.line("if %s:", v)
		g.ind++
		if g.chance(50) {
			g.line("%s.pop(%s)", v, []string{"", "0"}[g.pick(2)])
		} else {
			g.line("%s.pop(%s %% len(%s))", v, g.expr(niInt, 1), v) // which element goes may be secret
		}
		g.ind--
	case 4:
		g.line("if %s:", v)
		g.ind++
		g.line("%s[%s %% len(%s)] = %s", v, g.expr(niInt, 2), v, g.expr(et, 2))
		g.ind--
	case 5:
		e := g.leaf(et)
		g.line("if %s in %s:", e, v)
		g.ind++
		g.line("%s.remove(%s)", v, e)
		g.ind--
	default:
		g.line("%s.clear()", v)
	}
}

func (g *niGen) forStmt(depth int) {
	var src string
	var bind func()
	switch g.pick(7) {
	case 0, 1:
		t := []niType{niListInt, niListStr}[g.pick(2)]
		src = g.expr(t, 2)
		x := g.name("x")
		iterVar := src
		bind = func() {
			g.bind(x, t.elem())
			g.iter = append(g.iter, iterVar)
		}
		g.line("for %s in %s:", x, src)
	case 2:
		x := g.name("x")
		bind = func() { g.bind(x, niStr) }
		g.line("for %s in %s.elems():", x, g.expr(niStr, 2))
	case 3:
		x := g.name("x")
		bind = func() { g.bind(x, niInt) }
		g.line("for %s in range(%s %% 6):", x, g.expr(niInt, 2))
	case 4:
		src = g.expr(niDict, 2)
		k := g.name("k")
		iterVar := src
		bind = func() {
			g.bind(k, niStr)
			g.iter = append(g.iter, iterVar)
		}
		g.line("for %s in %s:", k, src)
	case 5:
		i, x := g.name("i"), g.name("x")
		bind = func() { g.bind(i, niInt); g.bind(x, niStr) }
		g.line("for %s, %s in enumerate(%s):", i, x, g.expr(niListStr, 2))
	default:
		k, v := g.name("k"), g.name("v")
		bind = func() { g.bind(k, niStr); g.bind(v, niInt) }
		g.line("for %s, %s in %s.items():", k, v, g.expr(niDict, 2))
	}
	niter := len(g.iter)
	g.loops[len(g.loops)-1]++
	g.body(1+g.pick(3), depth-1, bind)
	g.loops[len(g.loops)-1]--
	g.iter = g.iter[:niter]
}

// def opens a def body: params are bound in the def's first block.
func (g *niGen) def(name string, params []string, ptypes []niType, ret niType, defaults map[int]string) {
	var ps []string
	for i, p := range params {
		if dflt, ok := defaults[i]; ok {
			p += "=" + dflt
		}
		ps = append(ps, p)
	}
	g.line("def %s(%s):", name, strings.Join(ps, ", "))
	g.ind++
	g.push(true)
	for i, p := range params {
		g.bind(p, ptypes[i])
	}
	g.rets = append(g.rets, ret)
	g.loops = append(g.loops, 0)
}

func (g *niGen) endDef() {
	g.loops = g.loops[:len(g.loops)-1]
	g.rets = g.rets[:len(g.rets)-1]
	g.pop()
	g.ind--
}

func (g *niGen) params() ([]string, []niType) {
	n := g.pick(3)
	names := make([]string, n)
	types := make([]niType, n)
	for i := range names {
		names[i] = g.name("q")
		types[i] = g.anyType()
	}
	return names, types
}

func (g *niGen) defStmt(depth int) {
	name := g.name("f")
	ret := g.anyType()
	params, ptypes := g.params()
	defaults := map[int]string{}
	if len(params) > 0 && g.chance(40) {
		// a default is evaluated once, at def time, in the enclosing scope
		defaults[len(params)-1] = g.expr(ptypes[len(params)-1], 2)
	}
	g.def(name, params, ptypes, ret, defaults)
	g.block(1+g.pick(3), depth-1)
	g.defEnd(ret)
	g.endDef()
	f := niFunc{name: name, params: ptypes, pnames: params, ndefault: len(defaults), ret: ret}
	g.top().funcs = append(g.top().funcs, f)
	g.maybeCallNow(f)
}

// defEnd closes a def body the way real code does: a local is printed or returned, so that
// what the body computed (and the labels it picked up on the way) reaches a sink.
func (g *niGen) defEnd(ret niType) {
	var locals []niVar
	for _, b := range g.blocks[g.fnBase():] {
		locals = append(locals, b.vars...)
	}
	if len(locals) > 0 && g.chance(40) {
		v := locals[g.pick(len(locals))]
		g.line("print(%q, %s)", v.name, v.name)
	}
	if vs := g.vars(ret, true, false); len(vs) > 0 && g.chance(50) {
		g.line("return %s", vs[g.pick(len(vs))].name)
		return
	}
	g.line("return %s", g.expr(ret, niExprDepth))
}

// maybeCallNow prints a call of a function just defined at module level: a def nobody calls
// tests nothing.
func (g *niGen) maybeCallNow(f niFunc) {
	if g.inDef() || !g.chance(60) {
		return
	}
	args := make([]string, len(f.params))
	for i, p := range f.params {
		args[i] = g.expr(p, 2)
	}
	if f.recursive {
		args[0] = "(" + args[0] + ") % 5"
	}
	g.line("print(%s(%s))", f.name, g.callArgs(f, args, 2))
}

// factoryStmt defines a function returning a closure over its parameter and locals, then
// makes one closure and registers it as callable.
func (g *niGen) factoryStmt(depth int) {
	mk, inner, cl := g.name("mk"), g.name("inner"), g.name("cl")
	at, bt, ret := g.anyType(), g.anyType(), g.anyType()
	a, b := g.name("q"), g.name("q")
	g.def(mk, []string{a}, []niType{at}, niNoReturn, nil)
	if g.chance(50) {
		g.block(1+g.pick(2), depth-1)
	}
	if g.chance(30) {
		g.line("return lambda %s: %s", b, g.withBound(b, bt, func() string { return g.expr(ret, niExprDepth) }))
	} else {
		g.def(inner, []string{b}, []niType{bt}, ret, nil)
		g.block(1+g.pick(2), depth-1)
		g.defEnd(ret)
		g.endDef()
		g.line("return %s", inner)
	}
	g.endDef()
	g.line("%s = %s(%s)", cl, mk, g.expr(at, 2))
	f := niFunc{name: cl, params: []niType{bt}, pnames: []string{b}, ret: ret}
	g.top().funcs = append(g.top().funcs, f)
	g.maybeCallNow(f)
}

func (g *niGen) withBound(name string, t niType, f func() string) string {
	g.push(false)
	g.bind(name, t)
	defer g.pop()
	return f()
}

func (g *niGen) recursiveStmt() {
	r, n, acc := g.name("r"), g.name("q"), g.name("q")
	t := g.anyType()
	g.def(r, []string{n, acc}, []niType{niInt, t}, t, nil)
	g.line("if %s <= 0:", n)
	g.ind++
	g.line("return %s", acc)
	g.ind--
	g.line("return %s(%s - 1, %s)", r, n, g.expr(t, 2))
	g.endDef()
	f := niFunc{name: r, params: []niType{niInt, t}, pnames: []string{n, acc}, ret: t, recursive: true}
	g.top().funcs = append(g.top().funcs, f)
	g.maybeCallNow(f)
}

// niGenerate builds a whole program: random statements, then an epilogue that prints some
// module variables so that most programs reach a sink at a public pc.
func niGenerate(t *rapid.T, opts niGenOptions) (string, niFeat) {
	g := &niGen{t: t, opts: opts, loops: []int{0}}
	g.push(false)
	g.top().vars = append(g.top().vars, niVar{name: "secret", typ: niStr, frozen: true}, niVar{name: "token", typ: niStr, frozen: true})
	if opts.secretInt {
		g.top().vars = append(g.top().vars, niVar{name: "secret_n", typ: niInt, frozen: true})
	}
	if opts.secretList {
		g.top().vars = append(g.top().vars, niVar{name: "secret_l", typ: niListStr, frozen: true})
	}
	g.budget = 12 + g.pick(28)
	for n := 2 + g.pick(10); n > 0 && g.budget > 0; n-- {
		g.stmt(3)
	}
	var mod []niVar
	for _, v := range g.top().vars {
		if !v.frozen {
			mod = append(mod, v)
		}
	}
	for i, n := 0, 1+g.pick(4); i < n && len(mod) > 0; i++ {
		v := mod[g.pick(len(mod))]
		g.line("print(%q, %s)", v.name, v.name)
	}
	return g.out.String(), g.feat
}

// niProgram is a generated program; GoString makes rapid print it readably on failure.
type niProgram struct {
	Src  string
	Opts niGenOptions
	Feat niFeat
}

func (p niProgram) GoString() string { return "\n" + niNumbered(p.Src) }

func niNumbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, l)
	}
	return b.String()
}

func niProgramGen(leak bool) *rapid.Generator[niProgram] { return niProgramGenBug(leak, niBugNone) }

// niProgramGenBug generates programs to run with a deliberate bug in the host fakes.
func niProgramGenBug(leak bool, bug niHostBug) *rapid.Generator[niProgram] {
	return rapid.Custom(func(t *rapid.T) niProgram {
		opts := niGenOptions{
			leak:       leak,
			secretInt:  rapid.Bool().Draw(t, "secretInt"),
			secretList: rapid.Bool().Draw(t, "secretList"),
			sourceOnly: rapid.Bool().Draw(t, "sourceOnly"),
			bug:        bug,
		}
		src, feat := niGenerate(t, opts)
		if opts.sourceOnly {
			src = niToSources(src)
		}
		return niProgram{Src: src, Opts: opts, Feat: feat}
	})
}

// niSecretRead matches a read of a predeclared secret (not the get_secret source names).
var niSecretRead = regexp.MustCompile(`\b(secret(_n|_l)?|token)\b`)

// niToSources turns reads of the predeclared secrets into calls of the source builtins. The
// generator and the attack templates use the names only as identifiers, never inside string
// literals, so the rewrite is exact.
func niToSources(src string) string { return niSecretRead.ReplaceAllString(src, "get_${0}()") }

// ---------------------------------------------------------------------------------------------
// Inputs, runs and the property.

// niSecret is one value of the labelled inputs.
type niSecret struct {
	S    string
	N    int
	L    []string
	T    string // token, the secret of a second principal
	Form int    // how secret_l is labelled (see niPredeclared)
}

// niSecretGen draws secret strings over a small alphabet (so that `in`, comparisons and
// isdigit go both ways); sameLen forces both secrets of a pair to the same length.
func niSecretStr(t *rapid.T, n int, label string) string {
	return rapid.StringOfN(rapid.RuneFrom([]rune("ab01xyz")), n, n, -1).Draw(t, label)
}

func niSecretPair(t *rapid.T) (niSecret, niSecret) {
	n1 := rapid.IntRange(0, 6).Draw(t, "len1")
	n2 := n1
	if !rapid.Bool().Draw(t, "sameLen") {
		n2 = rapid.IntRange(0, 6).Draw(t, "len2")
	}
	form := rapid.IntRange(0, 2).Draw(t, "listForm")
	mk := func(n int, tag string) niSecret {
		return niSecret{
			S:    niSecretStr(t, n, "secret"+tag),
			N:    rapid.IntRange(-3, 20).Draw(t, "secret_n"+tag),
			L:    rapid.SliceOfN(rapid.StringOfN(rapid.RuneFrom([]rune("ab1")), 0, 3, -1), 0, 3).Draw(t, "secret_l"+tag),
			T:    niSecretStr(t, rapid.IntRange(0, 4).Draw(t, "token_len"+tag), "token"+tag),
			Form: form,
		}
	}
	return mk(n1, "1"), mk(n2, "2")
}

// niRun is the observable result of one execution.
type niRun struct {
	out      string // the public transcript: what print wrote and the host's public events, in order
	err      error
	read     bool // a local-only source had been read when the run ended
	progress int  // public host calls since the first local-only read
	host     *niHost
}

// niEnv is the environment of one run.
type niEnv struct {
	pre  starlark.StringDict
	host *niHost
}

// niPredeclared is the environment of one run: the secrets as labelled predeclared values (or,
// with opts.sourceOnly, only as source builtins), json, the host fakes, and the leaky sink for
// self-checks. Unlabelled, the same names hold the same values without labels.
func niPredeclared(s niSecret, labelled bool, opts niGenOptions) niEnv {
	var l, lt labels.Label
	if labelled {
		reg := labels.NewRegistry()
		l = reg.Principal(labels.Env("SECRET"))
		lt = reg.Principal(labels.Env("TOKEN"))
	}
	elems := make([]starlark.Value, len(s.L))
	for i, e := range s.L {
		elems[i] = starlark.String(e)
	}
	h := newNiHost(opts.bug)
	pre := starlark.StringDict{"json": json.Module}
	h.builtins(pre)
	str := func(v string, l labels.Label) func() (starlark.Value, labels.Label) {
		return func() (starlark.Value, labels.Label) { return starlark.String(v), l }
	}
	pre["get_secret"] = h.source("get_secret", "SECRET", l, str(s.S, l))
	pre["get_secret_n"] = h.source("get_secret_n", "SECRET", l, func() (starlark.Value, labels.Label) { return starlark.MakeInt(s.N), l })
	pre["get_secret_l"] = h.source("get_secret_l", "SECRET", l, func() (starlark.Value, labels.Label) { return niListValue(elems, l, s.Form) })
	pre["get_token"] = h.source("get_token", "TOKEN", lt, str(s.T, lt))
	if !opts.sourceOnly {
		// predeclared secrets are read before the program starts
		h.read = labelled
		h.held["SECRET"], h.held["TOKEN"] = true, true
		pre["secret"] = niLabelled(starlark.String(s.S), l)
		pre["secret_n"] = niLabelled(starlark.MakeInt(s.N), l)
		pre["secret_l"] = niLabelledList(elems, l, s.Form)
		pre["token"] = niLabelled(starlark.String(s.T), lt)
	}
	if opts.leak {
		pre["leak"] = niLeakyBuiltin()
	}
	return niEnv{pre: pre, host: h}
}

// niExec runs src once. A syntax or resolve error is returned as a Go error: the generator
// must never produce one.
func niExec(src string, env niEnv) (niRun, error) {
	h := env.host
	thread := &starlark.Thread{
		Name:  "ni",
		Print: func(_ *starlark.Thread, msg string) { h.out.WriteString(msg + "\n") },
	}
	thread.SetMaxExecutionSteps(niMaxSteps)
	// The limits apply to unlabelled runs too: a generated program can build a huge string
	// (s.replace("", s) in a loop) whether or not its input is labelled.
	niPrepareThread(thread)
	_, err := starlark.ExecFileOptions(niFileOptions(), thread, "ni.star", src, env.pre)
	if err != nil {
		var ee *starlark.EvalError
		if !errors.As(err, &ee) {
			return niRun{}, fmt.Errorf("program does not compile: %w", err)
		}
	}
	return niRun{out: h.out.String(), err: err, read: h.read, progress: h.progress, host: h}, nil
}

// niResourceError reports errors whose occurrence is a declared residual channel (step and
// allocation budgets depend on how much work the secret caused): after a local-only read they
// are charged endings, whatever their labels (runner/budget.go charges limits to every
// principal read).
func niResourceError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"too many steps", "allocation limit", "call depth", "stack overflow"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func niErrText(err error) string {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		return ee.Backtrace()
	}
	return err.Error()
}

// charged reports whether the run's ending depends on labelled data, by the rule the runner
// applies (runner/budget.go, secretDependent): an error whose pc or label is labelled, or a
// resource limit after a local-only read. Such an ending is paid for by the leakage budget:
// the runner withholds what the run printed after its first local-only read and charges
// policy.LeakCharge(progress) bits for where it stopped. Any other ending is public.
func (r niRun) charged() bool {
	if r.err == nil {
		return false
	}
	if niResourceError(r.err) {
		return r.read
	}
	return niEndingLabel(r.err) != labels.Public
}

func niEnding(r niRun) string {
	switch {
	case r.err == nil:
		return "finished"
	case r.charged():
		return "stopped (charged): " + r.err.Error()
	default:
		return "stopped (public): " + r.err.Error()
	}
}

// niCheck is the property for one pair of runs (TINI, with the runner's accounting of
// endings):
//   - if both finish, their transcripts (printed output and public host events) are identical;
//   - a run whose ending is public (it finished, or stopped with an unlabelled error at a
//     public pc) is matched by the other run: the same ending (the same error text) and the
//     same transcript, or a charged ending after a prefix of its transcript;
//   - two charged runs have transcripts of which one is a prefix of the other: whatever
//     differs is where they stopped, which the charge pays for; in particular everything
//     before the first local-only read is identical;
//   - a charged ending needs a local-only read.
func niCheck(a, b niRun) error {
	dump := func() string {
		return fmt.Sprintf("--- run 1: %s\n%s--- run 2: %s\n%s", niEnding(a), a.out, niEnding(b), b.out)
	}
	if a.err == nil && b.err == nil {
		if a.out != b.out {
			return fmt.Errorf("both runs finished but their public transcripts differ:\n%s", dump())
		}
		return nil
	}
	for i, r := range []niRun{a, b} {
		if r.charged() && !r.read {
			return fmt.Errorf("run %d ended with a labelled error before any local-only read:\n%s\n%s", i+1, niErrText(r.err), dump())
		}
	}
	for i, p := range [][2]niRun{{a, b}, {b, a}} {
		x, y := p[0], p[1]
		if x.charged() {
			continue
		}
		if y.charged() {
			if !strings.HasPrefix(x.out, y.out) {
				return fmt.Errorf("run %d stopped with a charged ending after public events that run %d, whose ending is public, did not make:\n%s", 2-i, i+1, dump())
			}
			continue
		}
		if (x.err == nil) != (y.err == nil) {
			return fmt.Errorf("one run stopped with a public error, the other finished:\n%s", dump())
		}
		if x.err != nil && niErrText(x.err) != niErrText(y.err) {
			return fmt.Errorf("public errors differ:\n--- run 1\n%s\n--- run 2\n%s\n%s", niErrText(a.err), niErrText(b.err), dump())
		}
		if x.out != y.out {
			return fmt.Errorf("both runs ended publicly but their transcripts differ:\n%s", dump())
		}
	}
	if !strings.HasPrefix(a.out, b.out) && !strings.HasPrefix(b.out, a.out) {
		return fmt.Errorf("both runs stopped (charged), but neither transcript is a prefix of the other:\n%s", dump())
	}
	return nil
}

// niDiverge reports whether two runs are observably different (output, or error text).
func niDiverge(a, b niRun) bool {
	if a.out != b.out || (a.err == nil) != (b.err == nil) {
		return true
	}
	return a.err != nil && niErrText(a.err) != niErrText(b.err)
}

// niStats keeps the generator honest.
type niStats struct {
	programs    int
	couldLeak   int // without labels, the two secrets give different outputs or errors
	leakAndSink int // ...and the labelled run printed at least one line
	redacted    int // a labelled run printed a redacted argument
	finished    int // both labelled runs finished
	flowErrors  int // a labelled run stopped with a flow error
	labelledErr int // a labelled run stopped with a labelled (non-flow) error

	feat         [niNumFeats]int // programs with each boundary construct
	shapeCalls   int             // a labelled run called a host fake with a labelled shape at a public pc
	emitted      int             // a labelled run emitted to the public target
	prompts      int             // a labelled run showed an approval prompt
	refusedPC    int             // a labelled run had a host call refused under a labelled pc
	publicEnd    int             // a labelled run stopped with a public error (compared between the runs)
	chargedAfter int             // a labelled run ended charged after public calls since its first read
	maxProgress  int             // the most such calls

	firstFail int // the number of the first program that violated the property
}

// niPropertyOnce runs prog with a fresh pair of secrets, four times (labelled and unlabelled,
// each with both secrets), checks the property on the labelled pair and records coverage.
func niPropertyOnce(prog niProgram, s1, s2 niSecret, st *niStats) error {
	var runs [2][2]niRun // [labelled][secret]
	for li, labelled := range []bool{false, true} {
		for si, s := range []niSecret{s1, s2} {
			r, err := niExec(prog.Src, niPredeclared(s, labelled, prog.Opts))
			if err != nil {
				return fmt.Errorf("generator bug: %w", err)
			}
			runs[li][si] = r
		}
	}
	lab := runs[1]
	err := niCheck(lab[0], lab[1])
	if st == nil {
		return err
	}
	st.programs++
	if err != nil && st.firstFail == 0 {
		st.firstFail = st.programs
	}
	if niDiverge(runs[0][0], runs[0][1]) {
		st.couldLeak++
		if lab[0].out != "" || lab[1].out != "" {
			st.leakAndSink++
		}
	}
	if strings.Contains(lab[0].out+lab[1].out, niRedaction) {
		st.redacted++
	}
	if lab[0].err == nil && lab[1].err == nil {
		st.finished++
	}
	for i := range st.feat {
		if prog.Feat&(1<<i) != 0 {
			st.feat[i]++
		}
	}
	var flow, labErr, shape, emitted, prompts, refused, public, after bool
	for _, r := range lab {
		if r.err != nil && niIsFlowError(r.err) {
			flow = true
		} else if r.err != nil && niErrorLabel(r.err) != labels.Public {
			labErr = true
		}
		h := r.host
		shape = shape || h.shapeCalls > 0
		emitted = emitted || h.emitted > 0
		prompts = prompts || h.prompts > 0
		refused = refused || h.refusedPC > 0
		public = public || (r.err != nil && !r.charged())
		if r.charged() && r.progress > 0 {
			after = true
			st.maxProgress = max(st.maxProgress, r.progress)
		}
	}
	for _, c := range []struct {
		ok bool
		n  *int
	}{{flow, &st.flowErrors}, {labErr, &st.labelledErr}, {shape, &st.shapeCalls}, {emitted, &st.emitted}, {prompts, &st.prompts},
		{refused, &st.refusedPC}, {public, &st.publicEnd}, {after, &st.chargedAfter}} {
		if c.ok {
			*c.n++
		}
	}
	return err
}

// niRequestedRuns is the number of random programs TestNoninterference runs: AEGIS_NI_CHECKS,
// or niDefaultRuns.
func niRequestedRuns(t *testing.T) int {
	n := niDefaultRuns
	if s := os.Getenv("AEGIS_NI_CHECKS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("AEGIS_NI_CHECKS=%q: want a positive number of programs", s)
		}
		n = v
	}
	return n
}

func TestNoninterference(t *testing.T) {
	want := niRequestedRuns(t)
	// One rapid.Check of want programs (a fifth with -short): on a failure rapid prints the
	// seed of the failing program, and -rapid.seed replays the whole sequence from a seed.
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", strconv.Itoa(want)); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("rapid.checks", old) //nolint:errcheck // restoring a value it held
	var st niStats
	gen := niProgramGen(false)
	rapid.Check(t, func(rt *rapid.T) {
		prog := gen.Draw(rt, "program")
		s1, s2 := niSecretPair(rt)
		if err := niPropertyOnce(prog, s1, s2, &st); err != nil {
			rt.Fatalf("noninterference violated (first counterexample: program %d)\nsecret 1: %#v\nsecret 2: %#v\n%v", st.firstFail, s1, s2, err)
		}
		if st.programs%10000 == 0 {
			t.Logf("%d programs", st.programs)
		}
	})
	if t.Failed() || st.programs == 0 {
		return
	}
	niCheckStats(t, &st)
}

// niCheckStats logs the coverage counters and fails when one is below its floor: a generator
// that drifts into trivial programs (that never let the secret reach a sink, that all abort,
// or that stopped producing one of the boundary constructs) would pass vacuously.
func niCheckStats(t *testing.T, st *niStats) {
	pct := func(n int) float64 { return 100 * float64(n) / float64(st.programs) }
	t.Logf("programs %d: could leak without labels %.0f%%, could leak and reached print %.0f%%, printed a redaction %.0f%%, both runs finished %.0f%%, flow error %.0f%%, labelled error %.0f%%",
		st.programs, pct(st.couldLeak), pct(st.leakAndSink), pct(st.redacted), pct(st.finished), pct(st.flowErrors), pct(st.labelledErr))
	floors := []struct {
		what  string
		n     int
		floor float64
	}{
		{"could leak the secret to print", st.leakAndSink, 30},
		{"finished in both runs", st.finished, 25},
		{"printed a redacted value", st.redacted, 20},
	}
	// The boundary counters are rarer: their floors (about a quarter of the usual rate) are
	// checked from niFloorPrograms programs on, where a healthy generator misses one with a
	// probability below 1e-6. (-short runs a fifth of the default and only logs them.)
	boundary := []struct {
		what  string
		n     int
		floor float64
	}{
		{"called a host fake with a labelled call shape at a public pc", st.shapeCalls, 1},
		{"emitted to the public target", st.emitted, 3},
		{"showed an approval prompt", st.prompts, 2},
		{"had a host call refused under a labelled pc", st.refusedPC, 2},
		{"stopped with a public error (compared between the runs)", st.publicEnd, 3},
		{"ended charged after public calls since the first local-only read", st.chargedAfter, 8},
	}
	for i, n := range st.feat {
		boundary = append(boundary, struct {
			what  string
			n     int
			floor float64
		}{"contain: " + niFeatNames[i], n, niFeatFloor[i]})
	}
	var b strings.Builder
	check := func(what string, n int, floor float64, enforce bool) {
		fmt.Fprintf(&b, "\n  %5.1f%% (floor %4.1f%%) %s", pct(n), floor, what)
		if enforce && pct(n) < floor {
			t.Errorf("only %.1f%% of programs %s; the generator has degenerated (floor %.1f%%)", pct(n), what, floor)
		}
	}
	for _, f := range floors {
		check(f.what, f.n, f.floor, true)
	}
	for _, f := range boundary {
		check(f.what, f.n, f.floor, st.programs >= niFloorPrograms)
	}
	t.Logf("coverage:%s\n  most public calls before a charged ending: %d", b.String(), st.maxProgress)
}

// niFloorPrograms is the number of programs from which niCheckStats enforces the floors of the
// boundary counters.
const niFloorPrograms = 400

// TestNoninterferenceGeneratorWellFormed: every generated program compiles with the full
// dialect, and most run without error on the plain interpreter.
func TestNoninterferenceGeneratorWellFormed(t *testing.T) {
	gen := niProgramGen(false)
	okRuns, n := 0, 200
	for seed := 0; seed < n; seed++ {
		prog := gen.Example(seed)
		r, err := niExec(prog.Src, niPredeclared(niSecret{S: "ab0x", N: 3, L: []string{"a"}, T: "xy"}, false, prog.Opts))
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, niNumbered(prog.Src))
		}
		if r.err == nil {
			okRuns++
		}
	}
	if okRuns*100 < n*60 {
		t.Errorf("only %d of %d generated programs ran without error on the unlabelled interpreter (floor 60%%)", okRuns, n)
	}
	t.Logf("%d of %d generated programs ran without error", okRuns, n)
}

// ---------------------------------------------------------------------------------------------
// Hand-written attacks.

// niAttackPairs are fixed secret pairs; every attack template must leak for at least one of
// them when the secret is not labelled, which shows the template is a real attack.
var niAttackPairs = [][2]string{{"ab", "ba"}, {"abc", "x"}, {"0", "1"}, {"hunter2", "swordfish"}, {"", "zz9"}}

func niAttackFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "ni", "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d attack templates in testdata/ni, want at least 10", len(files))
	}
	sort.Strings(files)
	return files
}

func TestNoninterferenceAttacks(t *testing.T) {
	for _, file := range niAttackFiles(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prog := niProgram{Src: string(src)}
		t.Run(filepath.Base(file), func(t *testing.T) {
			leaks := false
			for _, p := range niAttackPairs {
				var rs [2]niRun
				for i, s := range p {
					r, err := niExec(prog.Src, niPredeclared(niSecret{S: s, N: len(s), L: []string{s}, T: s}, false, niGenOptions{}))
					if err != nil {
						t.Fatal(err)
					}
					rs[i] = r
				}
				if niDiverge(rs[0], rs[1]) {
					leaks = true
				}
			}
			if !leaks {
				t.Fatalf("template leaks nothing even without labels; it is not an attack")
			}
			rapid.Check(t, func(rt *rapid.T) {
				p := prog
				if rapid.Bool().Draw(rt, "sourceOnly") {
					// the same attack, with the secret entering mid-run from a source builtin
					p = niProgram{Src: niToSources(prog.Src), Opts: niGenOptions{sourceOnly: true}}
				}
				s1, s2 := niSecretPair(rt)
				if err := niPropertyOnce(p, s1, s2, nil); err != nil {
					rt.Fatalf("noninterference violated\nsecret 1: %#v\nsecret 2: %#v\nprogram:\n%s%v", s1, s2, niNumbered(p.Src), err)
				}
			})
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Self-checks: the harness must be able to fail.

// niFindCounterexample runs the property on programs gen.Example(0), ... gen.Example(n-1) with
// fixed pairs of secrets, and returns the first counterexample and its number (from 1).
func niFindCounterexample(gen *rapid.Generator[niProgram], n int, labelled bool) (niProgram, int, error) {
	pairs := [][2]niSecret{
		{{S: "ab01", N: 1, L: []string{"a"}, T: "a"}, {S: "xyz1", N: 7, L: []string{"b", "1"}, T: "xyz"}},
		{{S: "", N: 0}, {S: "b0b0x", N: 13, L: []string{"ab"}, T: "b0"}},
	}
	for seed := 0; seed < n; seed++ {
		prog := gen.Example(seed)
		for _, p := range pairs {
			var runs [2]niRun
			for i, s := range p {
				r, err := niExec(prog.Src, niPredeclared(s, labelled, prog.Opts))
				if err != nil {
					return prog, seed + 1, err
				}
				runs[i] = r
			}
			if err := niCheck(runs[0], runs[1]); err != nil {
				return prog, seed + 1, err
			}
		}
	}
	return niProgram{}, n, nil
}

// A host builtin that ignores labels and prints its argument is exactly the bug class the
// property must catch; if it passed, the property would be vacuous.
func TestNoninterferenceSelfCheckLeakySink(t *testing.T) {
	prog, _, err := niFindCounterexample(niProgramGen(true), 200, true)
	if err == nil {
		t.Fatal("the property found no counterexample in 200 programs that call a label-ignoring sink")
	}
	if strings.Contains(err.Error(), "generator bug") || strings.Contains(err.Error(), "does not compile") {
		t.Fatal(err)
	}
	t.Logf("counterexample found as expected:\n%s%v", niNumbered(prog.Src), err)
}

// Without the label on the input, the same programs must show leaks: the property depends on
// labels, not on the generator avoiding the secret.
func TestNoninterferenceSelfCheckUnlabelled(t *testing.T) {
	prog, _, err := niFindCounterexample(niProgramGen(false), 100, false)
	if err == nil {
		t.Fatal("no generated program leaked its unlabelled secret in 100 programs")
	}
	if strings.Contains(err.Error(), "does not compile") {
		t.Fatal(err)
	}
	t.Logf("counterexample found as expected:\n%s%v", niNumbered(prog.Src), err)
}

// ---------------------------------------------------------------------------------------------
// The labelled API: the only place this file touches it.

func niLabelled(v starlark.Value, l labels.Label) starlark.Value {
	if l == labels.Public {
		return v
	}
	return starlark.Labeled{V: v, L: l}
}

// niLabelledList builds secret_l in one of three shapes, so that each way a host can hand over
// a labelled list is exercised: a labelled reference to a public list, a public reference to a
// list whose elements and structure are labelled, or both.
func niLabelledList(elems []starlark.Value, l labels.Label, form int) starlark.Value {
	v, rl := niListValue(elems, l, form)
	v.(*starlark.List).Freeze()
	return niLabelled(v, rl)
}

// niListValue returns a fresh list of elems labelled in one of the shapes of niLabelledList,
// and the label of the reference to it.
func niListValue(elems []starlark.Value, l labels.Label, form int) (starlark.Value, labels.Label) {
	if form == 0 || l == labels.Public {
		return starlark.NewList(slices.Clone(elems)), l
	}
	ls := make([]labels.Label, len(elems))
	for i := range ls {
		ls[i] = l
	}
	list := starlark.NewListLabeled(slices.Clone(elems), ls, l)
	if form == 2 {
		return list, l
	}
	return list, labels.Public
}

func niPrepareThread(thread *starlark.Thread) {
	thread.PrintRedaction = niRedaction
	thread.SetMaxCallDepth(200)
	thread.SetMaxAllocBytes(niMaxAlloc)
}

func niErrorLabel(err error) labels.Label { return starlark.ErrorLabel(err) }

// niEndingLabel is what the runner reads to decide whether an ending is secret-dependent: the
// error's label and its pc.
func niEndingLabel(err error) labels.Label {
	l := starlark.ErrorLabel(err)
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		l |= ee.PC | ee.Label
	}
	return l
}

func niIsFlowError(err error) bool {
	var fe *starlark.FlowError
	return errors.As(err, &fe)
}

// niLeakyBuiltin is label-aware (so the interpreter trusts it) but ignores labels: the bug a
// careless host sink would have.
func niLeakyBuiltin() *starlark.Builtin {
	return starlark.NewLabelAwareBuiltin("leak", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		var b strings.Builder
		for _, a := range args {
			b.WriteString(a.String())
		}
		thread.Print(thread, "leak: "+b.String())
		return starlark.None, nil
	})
}

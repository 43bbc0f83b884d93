// Aegis: tests of the labelled host API (label.go, ifc_host.go).

package starlark_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

const (
	labA starlark.Label = 1 << 0
	labB starlark.Label = 1 << 1
)

func execLabeled(t *testing.T, thread *starlark.Thread, src string, predeclared starlark.StringDict) (starlark.StringDict, map[string]starlark.Label, error) {
	t.Helper()
	opts := ifcOptions
	return starlark.ExecFileLabeled(thread, "api.star", src, predeclared, &opts)
}

func TestLabeledPredeclaredAndGlobals(t *testing.T) {
	thread := new(starlark.Thread)
	g, labs, err := execLabeled(t, thread, `
a = key
b = key + "!"
c = len(key)
d = "public"
e = [key, "x"]
f = e[1]
def fn(x):
    return x
`, starlark.StringDict{"key": starlark.Labeled{V: starlark.String("hunter2"), L: labA}})
	if err != nil {
		t.Fatal(err)
	}
	if g["a"] != starlark.String("hunter2") {
		t.Errorf("a = %v; the Labeled wrapper must not reach Starlark code", g["a"])
	}
	for name, want := range map[string]starlark.Label{"a": labA, "b": labA, "c": labA, "d": 0, "e": labA, "f": 0, "fn": 0} {
		if labs[name] != want {
			t.Errorf("label of %s = %v, want %v", name, labs[name], want)
		}
	}
	// e's reference is public; its contents are not.
	e := g["e"].(*starlark.List)
	if e.StructureLabel() != 0 || e.ElemLabel(0) != labA || e.ElemLabel(1) != 0 {
		t.Errorf("e: S=%v E=[%v %v]", e.StructureLabel(), e.ElemLabel(0), e.ElemLabel(1))
	}
}

func TestLabelAwareBuiltinAPI(t *testing.T) {
	type seen struct {
		pc, a0, a1, kw, missing, j starlark.Label
	}
	var got []seen
	probe := starlark.NewLabelAwareBuiltin("probe", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		got = append(got, seen{
			pc: thread.PC(), a0: thread.ArgLabel(0), a1: thread.ArgLabel(1),
			kw: thread.KwargLabel("k"), missing: thread.KwargLabel("nope"), j: thread.CallLabel(),
		})
		thread.SetResultLabel(labB)
		return starlark.MakeInt(1), nil
	})
	thread := new(starlark.Thread)
	_, labs, err := execLabeled(t, thread, `
r1 = probe(sa, 1, k = 2)
r2 = probe(1, [sa], k = sa)
if sa:
    r3 = probe(1, 2)
xs = [1, 2, 3][:len(sa)]
r4 = probe(*xs)
r5 = probe(1, 2, **{"k": 1, "x": 2})
r6 = probe(1, 2, **{"k": 1, sa: 2})
`, starlark.StringDict{
		"probe": probe,
		"sa":    starlark.Labeled{V: starlark.String("s"), L: labA},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{pc: 0, a0: labA, a1: 0, kw: 0, missing: 0, j: labA},
		{pc: 0, a0: 0, a1: 0, kw: labA, missing: 0, j: labA}, // [sa] is public by reference, labA inside
		// Under a labelled pc, whether an argument is absent is labelled too.
		{pc: labA, a0: labA, a1: labA, kw: labA, missing: labA, j: labA},
		// A *args of labelled length: which arguments exist is labelled.
		{pc: 0, a0: labA, a1: labA, kw: labA, missing: labA, j: labA},
		// A public **kwargs: public names.
		{pc: 0, a0: 0, a1: 0, kw: 0, missing: 0, j: 0},
		// A **kwargs with a labelled key: every name and every absence is labelled.
		{pc: 0, a0: 0, a1: 0, kw: labA, missing: labA, j: labA},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("builtin saw %v\nwant %v", got, want)
	}
	if labs["r1"] != labB || labs["r2"] != labB || labs["r3"] != labA|labB {
		t.Errorf("result labels r1=%v r2=%v r3=%v", labs["r1"], labs["r2"], labs["r3"])
	}
}

func TestLabelErrorAndEvalErrorFields(t *testing.T) {
	failer := starlark.NewLabelAwareBuiltin("failer", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return nil, starlark.LabelError(fmt.Errorf("bad input"), labB)
	})
	pre := starlark.StringDict{"failer": failer, "sa": starlark.Labeled{V: starlark.True, L: labA}}

	// A public error: public label and pc, no HighAt.
	_, _, err := execLabeled(t, new(starlark.Thread), "x = 1\ny = [][1]\n", pre)
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		t.Fatalf("got %v", err)
	}
	if ev.Label != 0 || ev.PC != 0 || ev.HighAt != nil {
		t.Errorf("public error: Label=%v PC=%v HighAt=%v", ev.Label, ev.PC, ev.HighAt)
	}

	// A builtin's labelled error.
	_, _, err = execLabeled(t, new(starlark.Thread), "failer()\n", pre)
	if !errors.As(err, &ev) || ev.Label != labB || ev.PC != 0 {
		t.Errorf("LabelError: %v Label=%v PC=%v", err, ev.Label, ev.PC)
	}
	if starlark.ErrorLabel(err) != labB {
		t.Errorf("ErrorLabel = %v", starlark.ErrorLabel(err))
	}

	// An error under a secret condition: labelled, with the pc, and HighAt
	// at the branch (line 3), not at the failure (line 5).
	src := "def f():\n    x = 0\n    if sa:\n        x = 1\n    return [][x]\nf()\n"
	_, _, err = execLabeled(t, new(starlark.Thread), src, pre)
	if !errors.As(err, &ev) {
		t.Fatalf("got %v", err)
	}
	if ev.Label&labA == 0 {
		t.Errorf("index error after a secret branch: Label=%v", ev.Label)
	}
	_, _, err = execLabeled(t, new(starlark.Thread), "def f():\n    if sa:\n        return [][1]\n    return 0\nf()\n", pre)
	if !errors.As(err, &ev) || ev.PC != labA || ev.Label&labA == 0 {
		t.Fatalf("error under a secret pc: %v PC=%v Label=%v", err, ev.PC, ev.Label)
	}
	if len(ev.HighAt) == 0 || ev.HighAt.At(0).Pos.Line != 2 {
		t.Errorf("HighAt = %v, want the branch at line 2", ev.HighAt)
	}
	if ev.CallStack.At(0).Pos.Line != 3 {
		t.Errorf("CallStack = %v", ev.CallStack)
	}
}

func TestNewListLabeledAndSetKeyLabeled(t *testing.T) {
	l := starlark.NewListLabeled([]starlark.Value{starlark.String("pub"), starlark.String("sec")}, []starlark.Label{0, labA}, 0)
	d := starlark.NewDict(1)
	if err := d.SetKeyLabeled(starlark.String("k"), starlark.String("v"), 0, labB); err != nil {
		t.Fatal(err)
	}
	if d.StructureLabel() != 0 {
		t.Errorf("dict S = %v", d.StructureLabel())
	}
	kl, vl, found, err := d.EntryLabels(starlark.String("k"))
	if err != nil || !found || kl != 0 || vl != labB {
		t.Errorf("EntryLabels = %v %v %v %v", kl, vl, found, err)
	}
	d2 := starlark.NewDict(1)
	if err := d2.SetKeyLabeled(starlark.String("k"), starlark.None, labA, 0); err != nil {
		t.Fatal(err)
	}
	if d2.StructureLabel() != labA {
		t.Errorf("a labelled key must raise the structure label: %v", d2.StructureLabel())
	}
	_, labs, err := execLabeled(t, new(starlark.Thread), `
a = l[0]
b = l[1]
n = len(l)
c = d["k"]
e = d.get("k")
f = [x for x in l][0]
`, starlark.StringDict{"l": l, "d": d})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]starlark.Label{"a": 0, "b": labA, "n": 0, "c": labB, "e": labB, "f": 0} {
		if labs[name] != want {
			t.Errorf("label of %s = %v, want %v", name, labs[name], want)
		}
	}
	// A caller's length mismatch over-labels rather than panics.
	bad := starlark.NewListLabeled([]starlark.Value{starlark.None}, []starlark.Label{0, labB}, 0)
	if bad.StructureLabel() != labB || bad.ElemLabel(0) != 0 {
		t.Errorf("mismatched NewListLabeled: S=%v E0=%v", bad.StructureLabel(), bad.ElemLabel(0))
	}
}

func TestCallLabeled(t *testing.T) {
	thread := new(starlark.Thread)
	g, _, err := execLabeled(t, thread, `
def f(x, y = 1):
    return x + y
def g(x):
    if x:
        return 1
    return 0
def h():
    return [1]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		fn     starlark.Value
		args   starlark.Tuple
		kwargs []starlark.Tuple
		want   starlark.Label
	}{
		{g["f"], starlark.Tuple{starlark.MakeInt(1)}, nil, 0},
		{g["f"], starlark.Tuple{starlark.Labeled{V: starlark.MakeInt(1), L: labA}}, nil, labA},
		{g["f"], starlark.Tuple{starlark.MakeInt(1)}, []starlark.Tuple{{starlark.String("y"), starlark.Labeled{V: starlark.MakeInt(2), L: labB}}}, labB},
		{g["g"], starlark.Tuple{starlark.Labeled{V: starlark.True, L: labA}}, nil, labA},
		{starlark.Labeled{V: g["h"], L: labB}, nil, nil, labB},
		{starlark.Universe["len"], starlark.Tuple{starlark.Labeled{V: starlark.String("abc"), L: labA}}, nil, labA},
	}
	for i, c := range cases {
		v, l, err := starlark.CallLabeled(thread, c.fn, c.args, c.kwargs)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if l != c.want {
			t.Errorf("case %d: %v labelled %v, want %v", i, v, l, c.want)
		}
	}
}

func TestConservativeHostBuiltin(t *testing.T) {
	// An unaudited host builtin that writes its second argument into its
	// first and calls its third.
	var called starlark.Label
	stash := starlark.NewBuiltin("stash", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 3 {
			if _, err := starlark.Call(thread, args[2], nil, nil); err != nil {
				return nil, err
			}
			called = thread.PC()
		}
		return starlark.None, args[0].(*starlark.List).Append(args[1])
	})
	pre := starlark.StringDict{"stash": stash, "sa": starlark.Labeled{V: starlark.String("s"), L: labA}}
	_, labs, err := execLabeled(t, new(starlark.Thread), `
l = []
stash(l, sa)
n = len(l)
m = []
r = stash(m, 1)
def cb():
    return sa
o = []
stash(o, 1, cb)
`, pre)
	if err != nil {
		t.Fatal(err)
	}
	if labs["n"] != labA || labs["l"] != labA {
		t.Errorf("after stash(l, secret): l=%v len=%v, want both labelled", labs["l"], labs["n"])
	}
	if labs["m"] != 0 || labs["r"] != 0 {
		t.Errorf("stash of public data: m=%v r=%v", labs["m"], labs["r"])
	}
	if labs["o"] != labA {
		t.Errorf("the callback's secret result must label what the builtin wrote: o=%v", labs["o"])
	}
	if called != 0 {
		t.Errorf("PC in a public call = %v", called)
	}
	// Under a secret pc, the builtin may not write into a public container.
	_, _, err = execLabeled(t, new(starlark.Thread), "l = [[]]\nif sa:\n    stash(l[0], 1)\n", pre)
	var fe *starlark.FlowError
	if !errors.As(err, &fe) || fe.Sink != "stash" {
		t.Errorf("stash under a secret pc: %v", err)
	}
	if strings.Contains(err.Error(), "\"s\"") {
		t.Errorf("a flow error quotes a value: %v", err)
	}
}

func TestPrintSink(t *testing.T) {
	var out []string
	thread := &starlark.Thread{Print: func(_ *starlark.Thread, msg string) { out = append(out, msg) }}
	pre := starlark.StringDict{"sa": starlark.Labeled{V: starlark.String("hunter2"), L: labA}}
	_, _, err := execLabeled(t, thread, "print('a', sa)\n", pre)
	var fe *starlark.FlowError
	if !errors.As(err, &fe) || fe.Sink != "print" {
		t.Fatalf("print of a secret without redaction: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error quotes the secret: %v", err)
	}
	thread.PrintRedaction = "[REDACTED]"
	out = nil
	if _, _, err := execLabeled(t, thread, "print('a', sa, [sa], len(sa) > 100, sep = '-')\n", pre); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0] != "a-[REDACTED]-[REDACTED]-[REDACTED]" {
		t.Errorf("printed %q", out)
	}
	// Under a secret pc, even redaction is not enough: the output itself
	// would reveal the condition.
	_, _, err = execLabeled(t, thread, "if sa == 'x':\n    pass\nelse:\n    print('no')\n", pre)
	if !errors.As(err, &fe) {
		t.Errorf("print under a secret pc: %v", err)
	}
	// After the branch has joined, printing is fine again.
	out = nil
	if _, _, err := execLabeled(t, thread, "x = 1 if sa else 2\nprint('done')\n", pre); err != nil || len(out) != 1 {
		t.Errorf("print after the join: %v %q", err, out)
	}
}

func TestNoLabelsNoChange(t *testing.T) {
	// With no labelled input the labelled entry points report Public
	// everywhere, and the program behaves as upstream.
	thread := new(starlark.Thread)
	g, labs, err := execLabeled(t, thread, `
x = [i * i for i in range(10) if i % 2]
y = {str(k): v for k, v in enumerate(x)}
z = sorted(y.keys(), key = lambda k: -int(k))
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range labs {
		if l != 0 {
			t.Errorf("%s labelled %v without any source", name, l)
		}
	}
	if got := g["z"].String(); got != `["4", "3", "2", "1", "0"]` {
		t.Errorf("z = %s", got)
	}
}

// labelledIter is a host iterable whose second element is Labeled.
type labelledIter struct{}

func (labelledIter) String() string        { return "labelledIter" }
func (labelledIter) Type() string          { return "labelledIter" }
func (labelledIter) Freeze()               {}
func (labelledIter) Truth() starlark.Bool  { return true }
func (labelledIter) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }
func (labelledIter) Iterate() starlark.Iterator {
	return &labelledIterator{vals: []starlark.Value{starlark.String("pub"), starlark.Labeled{V: starlark.String("sec"), L: labA}}}
}
func (labelledIter) Attr(name string) (starlark.Value, error) {
	if name == "secret" {
		return starlark.Labeled{V: starlark.String("sec"), L: labB}, nil
	}
	return nil, nil
}
func (labelledIter) AttrNames() []string { return []string{"secret"} }

type labelledIterator struct{ vals []starlark.Value }

func (it *labelledIterator) Next(p *starlark.Value) bool {
	if len(it.vals) == 0 {
		return false
	}
	*p, it.vals = it.vals[0], it.vals[1:]
	return true
}
func (it *labelledIterator) Done() {}

func TestLabelsEnteringFromHostValues(t *testing.T) {
	// Each way a label can first appear in a label-free frame.
	_, labs, err := execLabeled(t, new(starlark.Thread), `
out = []
for x in it:
    out.append(x)
a = it.secret
def f():
    return [v for v in it]
b = f()
c, d = it
`, starlark.StringDict{"it": labelledIter{}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]starlark.Label{"out": labA, "a": labB, "b": labA, "d": labA} {
		if labs[name]&want == 0 {
			t.Errorf("label of %s = %v, want ⊒ %v", name, labs[name], want)
		}
	}
	if labs["c"] != 0 {
		t.Errorf("c = %v, want public", labs["c"])
	}
}

// labelledMap is a host mapping whose values are Labeled.
type labelledMap struct{}

func (labelledMap) String() string        { return "labelledMap" }
func (labelledMap) Type() string          { return "labelledMap" }
func (labelledMap) Freeze()               {}
func (labelledMap) Truth() starlark.Bool  { return true }
func (labelledMap) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }
func (labelledMap) Get(k starlark.Value) (starlark.Value, bool, error) {
	return starlark.Labeled{V: starlark.String("sec"), L: labA}, true, nil
}

// A labelledMap is an IterableMapping, so that it can be spread by **: its
// one key is "k".
func (labelledMap) Items() []starlark.Tuple {
	return []starlark.Tuple{{starlark.String("k"), starlark.Labeled{V: starlark.String("sec"), L: labA}}}
}
func (labelledMap) Iterate() starlark.Iterator {
	return &labelledIterator{vals: []starlark.Value{starlark.String("k")}}
}
func (labelledMap) Len() int { return 1 }

func TestSpreadHostValuesAreUnwrapped(t *testing.T) {
	// f(*it) and f(**m) take their arguments from a host iterable or
	// mapping, which may hand out Labeled values. The callee must get the
	// value, labelled: a Labeled wrapper bound to a parameter carried its
	// label only as far as a deep walk, which the plain mode (no label seen
	// yet) never makes, so a branch on it was public.
	secret := starlark.NewLabelAwareBuiltin("secret", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		thread.SetResultLabel(labB)
		return starlark.String("x"), nil
	})
	for _, mode := range []string{"", "_ = secret()\n"} { // the plain mode, then the labelled one
		for _, src := range []string{
			"def f(a, b):\n    y = 0\n    if b:\n        y = 1\n    return y\nr = f(*it)\n",
			"def f(*a):\n    y = 0\n    if a[1]:\n        y = 1\n    return y\nr = f(*it)\n",
			"def f(k):\n    y = 0\n    if k:\n        y = 1\n    return y\nr = f(**m)\n",
			"def f(**kw):\n    y = 0\n    if kw['k']:\n        y = 1\n    return y\nr = f(**m)\n",
			"r = (lambda a, b: b + '!')(*it)\n",
			"r = (lambda k: k + '!')(**m)\n",
			"r = len(*[(lambda a, b: b)(*it)])\n",
			"r = dict(**m)['k'] + '!'\n",
		} {
			src = mode + src
			_, labs, err := execLabeled(t, new(starlark.Thread), src, starlark.StringDict{"it": labelledIter{}, "m": labelledMap{}, "secret": secret})
			if err != nil {
				t.Errorf("%q: %v", src, err)
				continue
			}
			if labs["r"]&labA == 0 {
				t.Errorf("%q: r labelled %v, want ⊒ %v", src, labs["r"], labA)
			}
		}
	}
}

func TestLabelEntryLeavesThePlainLoop(t *testing.T) {
	// The interpreter runs a thread no label has entered in its plain mode,
	// which keeps no regions. At each instruction that can bring a label
	// in, the frame must move to the labelled mode before the next one, or
	// the branch on v below would leave y public: an implicit flow, lost.
	secret := starlark.NewLabelAwareBuiltin("secret", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		thread.SetResultLabel(labA)
		return starlark.String("sec"), nil
	})
	for _, c := range []struct{ name, src string }{
		{"CALL", "v = secret()"},
		// A core builtin's rule labels the elements a host iterable yields
		// (here tuple's, for the Labeled second element of it).
		{"CALL (rule)", "v = tuple(it)[1]"},
		{"INDEX", `v = m["k"]`},
		{"ATTR", "v = it.secret"},
		{"UNPACK", "_, v = it"},
		{"ITERJMP", "for v in it:\n        pass"},
		{"LOAD", `load("mod", "v")`},
		{"UNIVERSAL", "v = _universal_secret"},
	} {
		src := "def main():\n    " + c.src + "\n    y = 0\n    if v == \"sec\":\n        y = 1\n    return y\nr = main()\n"
		if c.name == "LOAD" {
			// load is a top-level statement: the top-level frame must switch.
			src = c.src + "\ny = 0\nif v == \"sec\":\n    y = 1\nr = y\n"
		}
		starlark.Universe["_universal_secret"] = starlark.Labeled{V: starlark.String("sec"), L: labA}
		thread := &starlark.Thread{Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return starlark.StringDict{"v": starlark.Labeled{V: starlark.String("sec"), L: labA}}, nil
		}}
		pre := starlark.StringDict{"secret": secret, "m": labelledMap{}, "it": labelledIter{}}
		_, labs, err := execLabeled(t, thread, src, pre)
		delete(starlark.Universe, "_universal_secret")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if labs["r"]&(labA|labB) == 0 {
			t.Errorf("%s: a value assigned under a branch on the secret is public (label %v)", c.name, labs["r"])
		}
	}

	// PREDECLARED: a function of a module whose predeclared value is
	// labelled, made on another thread and called from a builtin (so not
	// walked when the thread started).
	g, _, err := execLabeled(t, new(starlark.Thread), "def f():\n    v = k\n    y = 0\n    if v == \"sec\":\n        y = 1\n    return y\n",
		starlark.StringDict{"k": starlark.Labeled{V: starlark.String("sec"), L: labA}})
	if err != nil {
		t.Fatal(err)
	}
	apply := starlark.NewBuiltin("apply", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.Call(thread, args[0], nil, nil)
	})
	_, labs, err := execLabeled(t, new(starlark.Thread), "r = apply(f)\n", starlark.StringDict{"apply": apply, "f": g["f"]})
	if err != nil {
		t.Fatal(err)
	}
	if labs["r"]&labA == 0 {
		t.Errorf("PREDECLARED: a value assigned under a branch on the secret is public (label %v)", labs["r"])
	}
}

func TestLabelEntryFromOnMaxStepsLeavesThePlainLoop(t *testing.T) {
	// The step limit's callback is host code run between two instructions
	// of a plain frame. Here it appends a secret to a list the script
	// handed to the host; the loop over the list then compares its
	// elements, which only the labelled mode labels (the plain one joins
	// no deep labels). If the frame stayed plain after the callback, y,
	// assigned under a branch on the secret, would come back public.
	var kept *starlark.List
	var fired int
	thread := new(starlark.Thread)
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		fired++
		thread.SetMaxExecutionSteps(math.MaxUint64) // no limit from here on
		appendFn, err := kept.Attr("append")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := starlark.CallLabeled(thread, appendFn, starlark.Tuple{starlark.Labeled{V: starlark.String("sec"), L: labA}}, nil); err != nil {
			t.Errorf("append from OnMaxSteps: %v", err)
		}
	}
	keep := starlark.NewBuiltin("keep", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		kept = args[0].(*starlark.List)
		// The callback fires a few instructions after this call returns,
		// among the plain assignments below.
		thread.SetMaxExecutionSteps(thread.ExecutionSteps() + 6)
		return starlark.None, nil
	})
	src := "def main():\n    lst = []\n    keep(lst)\n" +
		strings.Repeat("    a = 1\n", 12) +
		"    y = 0\n    for v in lst:\n        if v == \"sec\":\n            y = 1\n    return y\nr = main()\n"
	g, labs, err := execLabeled(t, thread, src, starlark.StringDict{"keep": keep})
	if err != nil {
		t.Fatal(err)
	}
	if fired != 1 {
		t.Fatalf("OnMaxSteps ran %d times, want once", fired)
	}
	if g["r"] != starlark.MakeInt(1) {
		t.Fatalf("r = %v, want 1 (the callback's append was not seen)", g["r"])
	}
	if labs["r"]&labA == 0 {
		t.Errorf("a value assigned under a branch on the secret the step callback let in is public (label %v)", labs["r"])
	}
}

func TestLabelsFromAnotherThread(t *testing.T) {
	// Thread A runs a module whose global holds a secret (inside a list,
	// with a public reference), then hands a function of it to thread B,
	// which has never seen a label: B must notice the labels it reads.
	pre := starlark.StringDict{"sa": starlark.Labeled{V: starlark.String("hunter2"), L: labA}}
	g, _, err := execLabeled(t, new(starlark.Thread), `
box = [sa]
def peek():
    return box[0]
def n():
    return len(box[0])
`, pre)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	threadB := &starlark.Thread{Print: func(_ *starlark.Thread, msg string) { out = append(out, msg) }}
	opts := ifcOptions
	_, err = starlark.ExecFileOptions(&opts, threadB, "b.star", "print(peek())\n", starlark.StringDict{"peek": g["peek"]})
	var fe *starlark.FlowError
	if !errors.As(err, &fe) {
		t.Errorf("thread B printed a secret read from thread A's module: %v %q", err, out)
	}
	threadC := &starlark.Thread{Print: func(_ *starlark.Thread, msg string) { out = append(out, msg) }}
	_, err = starlark.ExecFileOptions(&opts, threadC, "c.star", "if n() > 3:\n    print('long')\n", starlark.StringDict{"n": g["n"]})
	if !errors.As(err, &fe) {
		t.Errorf("thread C branched publicly on a secret from thread A's module: %v %q", err, out)
	}
}

// SeenLabel is every label that has entered the thread: also labels made on
// another thread and handed over after this one has seen its first label
// (then deep walks are no longer what notices them).
func TestSeenLabel(t *testing.T) {
	thread := new(starlark.Thread)
	if l := thread.SeenLabel(); l != 0 {
		t.Fatalf("a new thread has seen %v", l)
	}
	// Thread A makes a module whose global holds a B-labelled secret.
	g, _, err := execLabeled(t, new(starlark.Thread), `
box = [sb]
def peek():
    return len(box)
`, starlark.StringDict{"sb": starlark.Labeled{V: starlark.String("x"), L: labB}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := execLabeled(t, thread, "x = sa\n", starlark.StringDict{"sa": starlark.Labeled{V: starlark.String("s"), L: labA}}); err != nil {
		t.Fatal(err)
	}
	if l := thread.SeenLabel(); l != labA {
		t.Fatalf("after reading sa: seen %v, want %v", l, labA)
	}
	// A call into A's module, on a thread that has seen a label already.
	if _, err := starlark.Call(thread, g["peek"], nil, nil); err != nil {
		t.Fatal(err)
	}
	if l := thread.SeenLabel(); l != labA|labB {
		t.Errorf("after calling into a module holding a B label: seen %v, want %v", l, labA|labB)
	}
	// The arguments of a host call count too.
	thread2 := new(starlark.Thread)
	if _, _, err := execLabeled(t, thread2, "x = sa\n", starlark.StringDict{"sa": starlark.Labeled{V: starlark.String("s"), L: labA}}); err != nil {
		t.Fatal(err)
	}
	id, _, err := execLabeled(t, new(starlark.Thread), "def id(x):\n    return 1\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := starlark.Call(thread2, id["id"], starlark.Tuple{g["box"]}, nil); err != nil {
		t.Fatal(err)
	}
	if l := thread2.SeenLabel(); l != labA|labB {
		t.Errorf("after a call with an argument holding a B label: seen %v, want %v", l, labA|labB)
	}
}

// holdingObj is a host value (not a ChildVisitor, so no walk looks inside
// it) that hands out a list holding a labA secret, made with
// NewListLabeled, from every door: an attribute, an index, a slice, its
// elements and its items.
type holdingObj struct{}

func secretList() *starlark.List {
	return starlark.NewListLabeled([]starlark.Value{starlark.String("sec")}, []starlark.Label{labA}, starlark.Public)
}

func (holdingObj) String() string        { return "holdingObj" }
func (holdingObj) Type() string          { return "holdingObj" }
func (holdingObj) Freeze()               {}
func (holdingObj) Truth() starlark.Bool  { return true }
func (holdingObj) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }
func (holdingObj) Attr(name string) (starlark.Value, error) {
	return secretList(), nil
}
func (holdingObj) AttrNames() []string { return []string{"lst"} }
func (holdingObj) Index(i int) starlark.Value {
	return secretList()
}
func (holdingObj) Len() int { return 1 }
func (holdingObj) Slice(start, end, step int) starlark.Value {
	return secretList()
}
func (holdingObj) Iterate() starlark.Iterator {
	return &labelledIterator{vals: []starlark.Value{secretList()}}
}

// holdingMap is holdingObj's mapping: its one key "k" maps to the list.
type holdingMap struct{ holdingObj }

func (holdingMap) Get(k starlark.Value) (starlark.Value, bool, error) {
	return secretList(), true, nil
}
func (holdingMap) Items() []starlark.Tuple {
	return []starlark.Tuple{{starlark.String("k"), secretList()}}
}

func TestHostValuesHoldingLabels(t *testing.T) {
	// A label can enter the thread inside a container a host value hands
	// out, not only as a Labeled: the thread must notice it (the plain mode
	// hands over, SeenLabel counts it), or the plain mode, which reads no
	// element labels, branches on the secret under a public pc.
	secret := starlark.NewLabelAwareBuiltin("secret", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		thread.SetResultLabel(labB)
		return starlark.String("x"), nil
	})
	for _, c := range []struct{ name, src string }{
		{"ATTR", "v = o.lst[0]"},
		{"getattr", `v = getattr(o, "lst")[0]`},
		{"INDEX", "v = o[0][0]"},
		{"INDEX (mapping)", `v = m["k"][0]`},
		{"SLICE", "v = o[0:1][0]"},
		{"ITERJMP", "for e in o:\n        v = e[0]"},
		{"UNPACK", "[e] = o\n    v = e[0]"},
		{"CALL *args", "v = (lambda e: e[0])(*o)"},
		{"CALL **kwargs", "v = (lambda k: k[0])(**m)"},
	} {
		for _, mode := range []string{"", "_ = secret()\n"} { // the plain mode, then the labelled one
			src := mode + "def main():\n    " + c.src + "\n    y = 0\n    if v == \"sec\":\n        y = 1\n    return y\nr = main()\n"
			thread := new(starlark.Thread)
			g, labs, err := execLabeled(t, thread, src, starlark.StringDict{"o": holdingObj{}, "m": holdingMap{}, "secret": secret})
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if g["r"] != starlark.MakeInt(1) {
				t.Fatalf("%s: r = %v, want 1", c.name, g["r"])
			}
			if labs["r"]&labA == 0 {
				t.Errorf("%s (%q): a value assigned under a branch on the secret is public (label %v)", c.name, mode, labs["r"])
			}
			if thread.SeenLabel()&labA == 0 {
				t.Errorf("%s (%q): SeenLabel = %v, misses %v", c.name, mode, thread.SeenLabel(), labA)
			}
		}
	}
}

func TestCallbackWritesIntoArguments(t *testing.T) {
	// A host builtin's inputs may gain labels while it runs: a callback
	// into Starlark can store a secret into a container it was given. What
	// the builtin does after that (its result, its error, the arguments of
	// its next callback) depends on the secret, so its CallLabel must be
	// taken afresh, not kept from before the callback.
	secret := starlark.NewLabelAwareBuiltin("secret", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		thread.SetResultLabel(labB)
		return starlark.String("sec"), nil
	})
	// then(f, lst, g): calls f(), then returns lst[0] (as a fresh string),
	// or calls g(lst[0]) when g is given, or fails quoting lst when g is
	// "fail".
	then := starlark.NewBuiltin("then", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		if _, err := starlark.Call(thread, args[0], nil, nil); err != nil {
			return nil, err
		}
		lst := args[1].(*starlark.List)
		if len(args) > 2 {
			if args[2] == starlark.String("fail") {
				return nil, fmt.Errorf("got %v", lst)
			}
			return starlark.Call(thread, args[2], starlark.Tuple{starlark.String(lst.Index(0).(starlark.String))}, nil)
		}
		return starlark.String(lst.Index(0).(starlark.String)), nil
	})
	for _, mode := range []string{"", "_ = secret()\n"} { // the plain mode, then the labelled one
		src := mode + `
lst = []
def put():
    lst.append(secret())
r = then(put, lst)
lst2 = []
def put2():
    lst2.append(secret())
def g(x):
    observe()
    return 0
then(put2, lst2, g)
`
		var gpc starlark.Label
		observe := starlark.NewLabelAwareBuiltin("observe", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			gpc = thread.PC()
			return starlark.None, nil
		})
		g, labs, err := execLabeled(t, new(starlark.Thread), src, starlark.StringDict{"secret": secret, "then": then, "observe": observe})
		if err != nil {
			t.Fatalf("%q: %v", mode, err)
		}
		if g["r"] != starlark.String("sec") {
			t.Fatalf("%q: r = %v", mode, g["r"])
		}
		if labs["r"]&labB == 0 {
			t.Errorf("%q: the result read from an argument a callback wrote a secret into is labelled %v", mode, labs["r"])
		}
		if gpc&labB == 0 {
			t.Errorf("%q: a callback given an element of that argument ran under pc %v", mode, gpc)
		}
		_, _, err = execLabeled(t, new(starlark.Thread), mode+"lst = []\ndef put():\n    lst.append(secret())\nthen(put, lst, 'fail')\n", starlark.StringDict{"secret": secret, "then": then})
		if err == nil || !strings.Contains(err.Error(), "sec") {
			t.Fatalf("%q: err = %v", mode, err)
		}
		if l := starlark.ErrorLabel(err); l&labB == 0 {
			t.Errorf("%q: an error quoting that argument is labelled %v", mode, l)
		}
	}
}

func TestForeignFunctionCalledBack(t *testing.T) {
	// A host builtin may keep a function made on another thread and call
	// it back on a thread that has seen no label. What the function brings
	// with it, its defaults, closure cells and module globals, may hold
	// labels no walk of this thread has seen: the thread must notice them
	// before the call runs in the plain mode, which reads none of them.
	g, _, err := execLabeled(t, new(starlark.Thread), `
box = [sa]
def dflt(x = box[0]):
    y = 0
    if x == "hunter2":
        y = 1
    return y
def glob():
    y = 0
    if box[0] == "hunter2":
        y = 1
    return y
def mk():
    s = box[0]
    def cell():
        y = 0
        if s == "hunter2":
            y = 1
        return y
    return cell
cell = mk()
`, starlark.StringDict{"sa": starlark.Labeled{V: starlark.String("hunter2"), L: labA}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dflt", "glob", "cell"} {
		f := g[name]
		call := starlark.NewBuiltin("call", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return starlark.Call(thread, f, nil, nil)
		})
		thread := new(starlark.Thread)
		g2, labs, err := execLabeled(t, thread, "r = call()\n", starlark.StringDict{"call": call})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g2["r"] != starlark.MakeInt(1) {
			t.Fatalf("%s: r = %v", name, g2["r"])
		}
		if labs["r"]&labA == 0 {
			t.Errorf("%s: a value assigned under a branch on the secret is public (label %v)", name, labs["r"])
		}
		if thread.SeenLabel()&labA == 0 {
			t.Errorf("%s: SeenLabel = %v, misses %v", name, thread.SeenLabel(), labA)
		}
	}

	// The same from a module the thread has walked already: a closure over
	// a secret argument, reachable from no global, called back from the
	// module's own builtin.
	var h starlark.Value
	call := starlark.NewBuiltin("call", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.Call(thread, h, nil, nil)
	})
	m, _, err := execLabeled(t, new(starlark.Thread), `
def mk(v):
    def h():
        y = 0
        if v == "hunter2":
            y = 1
        return y
    return h
def runner():
    return call()
`, starlark.StringDict{"call": call})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err = starlark.CallLabeled(new(starlark.Thread), m["mk"], starlark.Tuple{starlark.Labeled{V: starlark.String("hunter2"), L: labA}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	thread := new(starlark.Thread)
	v, l, err := starlark.CallLabeled(thread, m["runner"], nil, nil)
	if err != nil || v != starlark.MakeInt(1) {
		t.Fatalf("runner() = %v, %v", v, err)
	}
	if l&labA == 0 {
		t.Errorf("closure of the walked module: a value assigned under a branch on the secret is public (label %v)", l)
	}
}

// sliceCallable is a host callable of a type Go cannot compare (it holds a
// slice): the monitor must not compare it with ==, which panics.
type sliceCallable struct{ names []string }

func (sliceCallable) String() string        { return "sliceCallable" }
func (sliceCallable) Type() string          { return "sliceCallable" }
func (sliceCallable) Freeze()               {}
func (sliceCallable) Truth() starlark.Bool  { return true }
func (sliceCallable) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }
func (sliceCallable) Name() string          { return "sliceCallable" }
func (c sliceCallable) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return starlark.String(c.names[0]), nil
}

func TestUncomparableHostCallable(t *testing.T) {
	sc := sliceCallable{names: []string{"ok"}}
	g, labs, err := execLabeled(t, new(starlark.Thread), "r = sc(s)\n", starlark.StringDict{"sc": sc, "s": starlark.Labeled{V: starlark.String("x"), L: labA}})
	if err != nil || g["r"] != starlark.String("ok") {
		t.Fatalf("sc(s) = %v, %v", g["r"], err)
	}
	if labs["r"]&labA == 0 {
		t.Errorf("sc(s) labelled %v, want ⊒ %v (the conservative rule)", labs["r"], labA)
	}
	v, l, err := starlark.CallLabeled(new(starlark.Thread), sc, starlark.Tuple{starlark.Labeled{V: starlark.String("x"), L: labB}}, nil)
	if err != nil || v != starlark.String("ok") || l&labB == 0 {
		t.Errorf("CallLabeled(sc) = %v %v %v", v, l, err)
	}
}

func TestErrorLabelThroughJoinedErrors(t *testing.T) {
	// A label attached to an error (LabelError) stays on it however the
	// error is wrapped: by %w, and by errors.Join or several %w, whose
	// errors unwrap to a list.
	inner := starlark.LabelError(errors.New("secret-dependent"), labA)
	for name, e := range map[string]error{
		"%w":          fmt.Errorf("x: %w", inner),
		"errors.Join": errors.Join(errors.New("other"), inner),
		"two %w":      fmt.Errorf("%w; %w", errors.New("other"), inner),
	} {
		if l := starlark.ErrorLabel(e); l&labA == 0 {
			t.Errorf("%s: ErrorLabel = %v, want ⊒ %v", name, l, labA)
		}
		// Declared exact by a builtin, with public inputs: the label of
		// what it wraps is all that marks it.
		e := e
		b := starlark.NewLabelAwareBuiltin("fails", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, starlark.ExactLabelError(e, starlark.Public)
		})
		_, _, err := execLabeled(t, new(starlark.Thread), "fails()\n", starlark.StringDict{"fails": b})
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if l := starlark.ErrorLabel(err); l&labA == 0 {
			t.Errorf("%s, from a builtin: ErrorLabel = %v, want ⊒ %v", name, l, labA)
		}
	}
}

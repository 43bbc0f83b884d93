// This file is an Aegis addition: the label rule of every core builtin.
//
// A rule either classifies a builtin (shallow, conservative) or replaces its
// Go function by a wrapper that runs upstream's implementation and labels
// the result through the builtin context (audited). Upstream's functions in
// library.go stay as they are. ifcClassifyBuiltins runs at the end of
// library.go's init, when Universe and the method tables exist; the coverage
// test (ifc_rules_test.go) fails on any core builtin left unclassified.

package starlark

import (
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// ifcClassifyBuiltins attaches the label rules to the core builtins.
func ifcClassifyBuiltins() {
	audit := func(b Value, kind LabelRule, fn BuiltinFunc) {
		b.(*Builtin).rule = &builtinRule{kind: kind, call: fn}
	}
	shallow := func(b Value) { b.(*Builtin).rule = shallowRule }

	// universal functions
	for _, name := range []string{"abs", "chr", "float", "hash", "int", "ord", "range"} {
		shallow(Universe[name])
	}
	for name, fn := range map[string]BuiltinFunc{
		"all": rulePure(all), "any": rulePure(any_), "bool": ruleBool, "bytes": ruleBytes,
		"dict": ruleDict, "dir": ruleShallowAny(dir), "enumerate": ruleEnumerate, "fail": ruleFail,
		"getattr": ruleGetattr, "hasattr": ruleShallowAny(hasattr), "len": ruleLen,
		"list": ruleList, "max": rulePure(minmax), "min": rulePure(minmax), "repr": ruleStr(repr),
		"reversed": ruleReversed, "set": ruleSet, "sorted": ruleSorted, "str": ruleStr(str),
		"tuple": ruleTuple, "type": ruleShallowAny(type_), "zip": ruleZip,
	} {
		audit(Universe[name], RuleAudited, fn)
	}
	audit(Universe["print"], RuleSink, rulePrint)

	// string and bytes methods: all atomic in, atomic out, except these
	for name, b := range stringMethods {
		switch name {
		case "join":
			audit(b, RuleAudited, ruleJoin)
		case "format":
			audit(b, RuleAudited, ruleFormat)
		case "replace":
			audit(b, RuleAudited, ruleReplace)
		case "split", "rsplit", "splitlines":
			audit(b, RuleAudited, ruleSplit(b.fn))
		default:
			shallow(b)
		}
	}
	for _, b := range bytesMethods {
		shallow(b)
	}

	audit(listMethods["append"], RuleAudited, ruleListAppend)
	audit(listMethods["clear"], RuleAudited, ruleListClear)
	audit(listMethods["extend"], RuleAudited, ruleListExtend)
	audit(listMethods["index"], RuleAudited, ruleListIndex)
	audit(listMethods["insert"], RuleAudited, ruleListInsert)
	audit(listMethods["pop"], RuleAudited, ruleListPop)
	audit(listMethods["remove"], RuleAudited, ruleListRemove)

	audit(dictMethods["clear"], RuleAudited, ruleDictClear)
	audit(dictMethods["get"], RuleAudited, ruleDictGet)
	audit(dictMethods["items"], RuleAudited, ruleDictView)
	audit(dictMethods["keys"], RuleAudited, ruleDictView)
	audit(dictMethods["values"], RuleAudited, ruleDictView)
	audit(dictMethods["pop"], RuleAudited, ruleDictPop)
	audit(dictMethods["popitem"], RuleAudited, ruleDictPopitem)
	audit(dictMethods["setdefault"], RuleAudited, ruleDictSetdefault)
	audit(dictMethods["update"], RuleAudited, ruleDictUpdate)

	audit(setMethods["add"], RuleAudited, ruleSetAdd)
	audit(setMethods["clear"], RuleAudited, ruleSetClear)
	audit(setMethods["discard"], RuleAudited, ruleSetRemove)
	audit(setMethods["remove"], RuleAudited, ruleSetRemove)
	audit(setMethods["pop"], RuleAudited, ruleSetPop)
	audit(setMethods["update"], RuleAudited, ruleSetUpdate)
	for _, name := range []string{"difference", "intersection", "symmetric_difference", "union"} {
		audit(setMethods[name], RuleAudited, ruleSetNew(setMethods[name].fn))
	}
	for _, name := range []string{"issubset", "issuperset"} {
		audit(setMethods[name], RuleAudited, rulePure(setMethods[name].fn))
	}
}

// ctx returns the builtin context of the call in progress.
func (thread *Thread) ctx() *builtinCtx { return &thread.ifc.b }

// nsu checks that the builtin call in progress may write into container v.
func (thread *Thread) nsu(v Value, sink string) error {
	return thread.CheckWrite(v, Public, sink)
}

// --- sinks ---

// rulePrint: print is an output sink. Under a labelled pc it is stopped (the
// output itself would reveal the condition); otherwise each labelled argument
// (reference or deep label) is replaced by thread.PrintRedaction, or, when
// that is empty, the call is stopped. With thread.PrintLocal set, the real
// line of every print goes to it first, and a print under a labelled pc
// goes there only (public output is then the same whatever the condition).
func rulePrint(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	local := thread.PrintLocal != nil
	if c.pc != Public {
		if !local {
			return nil, &FlowError{Sink: "print", Reason: "the output would reveal the outcome of a condition on labelled data"}
		}
		if err := t.printFits(args); err != nil {
			return nil, err
		}
		return None, printLocal(thread, b, args, kwargs)
	}
	red := thread.PrintRedaction
	if c.shape != Public {
		// How many values there are, and whether sep was given, depend on
		// a labelled *args or **kwargs: one redaction stands for the line.
		// The keywords are checked first, as upstream's print would: an
		// error here is labelled by the shape (the names came from it).
		for _, kv := range kwargs {
			if k, _ := kv[0].(String); k != "sep" {
				return nil, fmt.Errorf("print: unexpected keyword argument %s", kv[0])
			}
		}
		if red == "" {
			return nil, &FlowError{Sink: "print", Reason: "the number of arguments depends on labelled data (a labelled *args or **kwargs)"}
		}
		if local {
			if err := t.printFits(args); err != nil {
				return nil, err
			}
			if err := printLocal(thread, b, args, kwargs); err != nil {
				return nil, err
			}
		}
		return print(thread, b, Tuple{String(red)}, nil)
	}
	var out Tuple
	// Deep labels are walked even while the thread has seen no label: a
	// sink must not trust that every labelled value came in the documented
	// ways.
	for i, a := range args {
		if c.argLabel(i)|DeepLabel(a) == Public {
			continue
		}
		if red == "" {
			return nil, &FlowError{Sink: "print", Reason: fmt.Sprintf("argument %d holds labelled data", i+1)}
		}
		if out == nil {
			out = append(Tuple(nil), args...)
		}
		out[i] = String(red)
	}
	var kw []Tuple
	for j, kv := range kwargs {
		if c.kwLabel(j)|DeepLabel(kv[1]) == Public {
			continue
		}
		if red == "" {
			return nil, &FlowError{Sink: "print", Reason: "a keyword argument holds labelled data"}
		}
		if kw == nil {
			kw = append([]Tuple(nil), kwargs...)
		}
		kw[j] = Tuple{kv[0], String(red)}
	}
	redacted := out != nil || kw != nil
	if out == nil {
		out = args
	}
	if kw == nil {
		kw = kwargs
	}
	if err := t.printFits(out); err != nil {
		return nil, err
	}
	if local {
		if !redacted {
			// One line for both: format it once.
			return None, printBoth(thread, b, args, kwargs)
		}
		if err := t.printFits(args); err != nil {
			return nil, err
		}
		if err := printLocal(thread, b, args, kwargs); err != nil {
			return nil, err
		}
	}
	return print(thread, b, out, kw)
}

// printFits charges the allocation limit for a printed line of args.
func (t *ifcThread) printFits(args Tuple) error {
	if t.allocLimit <= 0 {
		return nil
	}
	var sw sizeWalker
	var n int64
	for _, a := range args {
		n = addSize(n, sw.bound(a))
	}
	return t.alloc(n)
}

// printLocal hands the line print would make of args to thread.PrintLocal
// (upstream's print formats it; only its destination changes).
func printLocal(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) error {
	saved := thread.Print
	thread.Print = thread.PrintLocal
	defer func() { thread.Print = saved }()
	_, err := print(thread, b, args, kwargs)
	return err
}

// printBoth hands one line to thread.PrintLocal, then to the public Print.
func printBoth(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) error {
	saved := thread.Print
	thread.Print = func(thread *Thread, msg string) {
		thread.PrintLocal(thread, msg)
		if saved != nil {
			saved(thread, msg)
		} else {
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	defer func() { thread.Print = saved }()
	_, err := print(thread, b, args, kwargs)
	return err
}

// --- rule builders ---

// rulePure: the builtin reads its arguments, possibly deeply and through
// callbacks, and writes into none of them: result and error get J.
func rulePure(fn BuiltinFunc) BuiltinFunc {
	return func(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
		thread.ctx().res |= thread.callLabel()
		return fn(thread, b, args, kwargs)
	}
}

// ruleShallowAny: the result depends on the references of the arguments
// (their type, identity, or attributes whose values carry their own labels),
// not on the contents of containers.
func ruleShallowAny(fn BuiltinFunc) BuiltinFunc {
	return func(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
		c := thread.ctx()
		c.res |= c.all()
		return fn(thread, b, args, kwargs)
	}
}

// ruleGetattr: getattr(x, name) is x.name, the interpreter's ATTR: the
// result depends on the references, and what a host value hands out may
// hold labels no walk has seen (fromHost).
func ruleGetattr(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	c.res |= c.all()
	z, err := getattr(thread, b, args, kwargs)
	if err == nil && len(args) > 0 && !isCore(args[0]) {
		var l Label
		z, l = t.fromHost(args[0], z)
		c.res |= l
	}
	return z, err
}

// elemLabelsOf returns the labels of the elements src yields, in order (nil
// if none is labelled beyond the iteration), and the label of the iteration
// itself: the structure label, or for a host iterable its deep label.
func (t *ifcThread) elemLabelsOf(src Value) ([]Label, Label) {
	switch x := src.(type) {
	case *List:
		return slices.Clone(x.elabs), x.slab
	case *Dict:
		return x.ht.keyLabels(), x.ht.slab
	case *Set:
		return x.ht.keyLabels(), x.ht.slab
	case Tuple, rangeValue, String, Bytes, stringElems, stringCodepoints, bytesIterable:
		return nil, Public
	}
	return nil, t.deepLabel(src)
}

// unwrapElems removes Labeled wrappers a host iterable put into l.
func (t *ifcThread) unwrapElems(l *List) {
	for i, v := range l.elems {
		if x, ok := v.(Labeled); ok {
			l.elems[i] = x.V
			l.setElemLabel(i, l.elabAt(i)|x.L)
			t.noteLabel(x.L)
		}
	}
}

// --- universal functions ---

// ruleLen: the length of a container is its structure label; the elements
// do not matter.
func ruleLen(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= c.all()
	if len(args) == 1 {
		c.res |= thread.ifc.structLabel(args[0])
	}
	return len_(thread, b, args, kwargs)
}

// ruleBool: the truth of a container is its length.
func ruleBool(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= c.all()
	if len(args) == 1 {
		c.res |= thread.ifc.truthLabel(args[0], Public)
	}
	return bool_(thread, b, args, kwargs)
}

// ruleStr (str, repr): the text reads the whole value.
func ruleStr(fn BuiltinFunc) BuiltinFunc {
	return func(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
		t := &thread.ifc
		t.b.res |= thread.callLabel()
		if len(args) == 1 {
			if err := t.reprFits(args[0]); err != nil {
				return nil, err
			}
		}
		z, err := fn(thread, b, args, kwargs)
		if err == nil && len(args) == 1 && !is[String](args[0]) {
			err = t.chargeResult(z)
		}
		return z, err
	}
}

// ruleBytes: bytes of a string is shallow; of an iterable, it reads every
// element.
func ruleBytes(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	t.b.res |= thread.callLabel()
	if err := t.expandFits(args); err != nil {
		return nil, err
	}
	z, err := bytes_(thread, b, args, kwargs)
	if err == nil {
		err = t.chargeResult(z)
	}
	return z, err
}

// ruleList: a new list with the source's element labels; its structure is
// the source's.
func ruleList(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	z, err := list(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	l := z.(*List)
	l.slab |= c.pc | c.all()
	if len(args) == 1 {
		var s Label
		l.elabs, s = t.elemLabelsOf(args[0])
		if l.elabs != nil && len(l.elabs) != len(l.elems) {
			l.elabs, s = nil, s|l.elabAll() // cannot happen; stay sound
		}
		l.slab |= s
		t.unwrapElems(l)
	}
	return l, t.chargeResult(l)
}

// ruleReversed: list, in reverse order.
func ruleReversed(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	z, err := reversed(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	l := z.(*List)
	l.slab |= c.pc | c.all()
	elabs, s := t.elemLabelsOf(args[0])
	if elabs != nil && len(elabs) == len(l.elems) {
		slices.Reverse(elabs)
		l.elabs = elabs
	} else {
		for _, x := range elabs {
			s |= x
		}
	}
	l.slab |= s
	t.unwrapElems(l)
	return l, t.chargeResult(l)
}

// ruleTuple: a tuple has one label: the join of its elements'.
func ruleTuple(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	c.res |= c.all()
	if err := t.expandFits(args); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		elabs, s := t.elemLabelsOf(args[0])
		c.res |= s
		for _, x := range elabs {
			c.res |= x
		}
	}
	z, err := tuple(thread, b, args, kwargs)
	if tup, ok := z.(Tuple); ok && err == nil {
		for i, v := range tup {
			var vl Label
			tup[i], vl = unlabel(v)
			c.res |= vl
		}
		err = t.chargeResult(z)
	}
	return z, err
}

// ruleSorted: the result holds the same elements with their own labels,
// in an order decided by comparing keys. The order (the result's structure
// label) therefore depends on the pc, the iterable's reference and structure
// labels, the key function and reverse flag, and the keys compared: with a
// key function, the labels of what it returned for each element; without,
// each element's full label. The key function runs for element i under the
// pc of the iteration (which decides whether it runs at all) with the
// element's label: `sorted(records, key = lambda r: r["name"])` over public
// names keeps public records public.
func ruleSorted(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	var iterable Iterable
	var key Callable
	var reverse bool
	if err := UnpackArgs("sorted", args, kwargs, "iterable", &iterable, "key?", &key, "reverse?", &reverse); err != nil {
		return nil, err
	}
	// The labels of the parameters, wherever they were passed.
	param := func(i int, name string) Label {
		if i < len(args) {
			return c.argLabel(i)
		}
		return thread.KwargLabel(name)
	}
	iterLab := param(0, "iterable")
	elabs, slab := t.elemLabelsOf(iterable)
	order := c.pc | c.shape | iterLab | slab | param(1, "key") | param(2, "reverse")

	iter := iterable.Iterate()
	var values []Value
	var x Value
	for iter.Next(&x) {
		values = append(values, x)
	}
	iter.Done()
	labs := make([]Label, len(values))
	for i, v := range values {
		v, vl := unlabel(v)
		values[i] = v
		labs[i] = vl
		if i < len(elabs) {
			labs[i] |= elabs[i]
		}
	}
	if elabs != nil && len(elabs) != len(values) {
		// Cannot happen for the types elemLabelsOf knows; stay sound.
		for _, l := range elabs {
			order |= l
		}
	}

	keys := values
	if key != nil {
		keys = make([]Value, len(values))
		for i, v := range values {
			// Run the key function as the interpreter would call it,
			// under the iteration's pc, with the element's label.
			t.pending = pendingCall{fn: key, pc: order, pos: []Label{order | labs[i]}, shape: order}
			t.ret = Public
			k, err := Call(thread, key, Tuple{v}, nil)
			t.pending.fn = nil
			if err != nil {
				c = &t.b
				c.res |= order | ErrorLabel(err)
				return nil, err // to preserve backtrace, don't modify error
			}
			c = &t.b
			k, kl := unlabel(k)
			keys[i] = k
			order |= t.ret | kl | t.deepLabel(k)
		}
	} else if src, ok := iterable.(*List); ok && src.cfirst && len(src.clabs) == len(values) && allTuples(values) {
		// Pairs whose first components are distinct by construction
		// (sorted(d.items())): comparing two reads only their first
		// components.
		for i, v := range values {
			order |= src.clabs[i][0] | t.deepLabel(v.(Tuple)[0])
		}
	} else {
		for i, v := range values {
			order |= labs[i] | t.deepLabel(v)
		}
	}
	perm := make([]int, len(values))
	for i := range perm {
		perm[i] = i
	}
	var cmpErr error
	sort.SliceStable(perm, func(i, j int) bool {
		if reverse { // as upstream: sort.Stable(sort.Reverse(...))
			i, j = j, i
		}
		ok, err := Compare(syntax.LT, keys[perm[i]], keys[perm[j]])
		if err != nil {
			cmpErr = err // the last one, as upstream reports
		}
		return ok
	})
	if cmpErr != nil {
		// A comparison error depends on the keys, as the order does.
		c.res |= order
		return nil, cmpErr
	}
	out := make([]Value, len(values))
	outLabs := make([]Label, len(values))
	for i, p := range perm {
		out[i] = values[p]
		outLabs[i] = labs[p]
		t.noteLabel(labs[p])
	}
	l := NewListLabeled(out, outLabs, order)
	if src, ok := iterable.(*List); ok && len(src.clabs) == len(values) {
		comps := make([][]Label, len(values))
		for i, p := range perm {
			comps[i] = src.clabs[p]
		}
		l.setComponents(comps, src.cfirst)
	}
	return l, t.chargeResult(l)
}

// allTuples reports whether every value is a non-empty tuple.
func allTuples(values []Value) bool {
	for _, v := range values {
		if t, ok := v.(Tuple); !ok || len(t) == 0 {
			return false
		}
	}
	return true
}

// ruleEnumerate: pair i holds the index (known from the structure) and
// element i.
func ruleEnumerate(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	z, err := enumerate(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	l := z.(*List)
	l.slab |= c.pc | c.all()
	if len(args) >= 1 {
		var s Label
		l.elabs, s = t.elemLabelsOf(args[0])
		if l.elabs != nil && len(l.elabs) != len(l.elems) {
			l.elabs, s = nil, s|l.elabAll()
		}
		l.slab |= s
		if l.elabs != nil {
			// (index, element): the index is known from the position.
			comps := make([][]Label, len(l.elems))
			for i := range comps {
				comps[i] = []Label{Public, l.elabs[i]}
			}
			l.setComponents(comps, true)
		}
	}
	return l, t.chargeResult(l)
}

// ruleZip: the length is the shortest argument's; tuple i joins element i
// of each argument.
func ruleZip(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	z, err := zip(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	l := z.(*List)
	l.slab |= c.pc | c.all()
	comps := make([][]Label, len(l.elems))
	for i := range comps {
		comps[i] = make([]Label, len(args))
	}
	for k, a := range args {
		elabs, s := t.elemLabelsOf(a)
		l.slab |= s
		for i, x := range elabs {
			if i < len(l.elems) && x != Public {
				l.setElemLabel(i, l.elabAt(i)|x)
				comps[i][k] = x
			}
		}
	}
	l.setComponents(comps, false)
	return l, t.chargeResult(l)
}

// ruleSet: which elements remain after removing duplicates depends on all
// of them.
func ruleSet(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	z, err := set(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	st := z.(*Set)
	st.ht.slab |= c.pc | c.all()
	for _, a := range args {
		st.ht.slab |= t.contentsLabel(a)
	}
	return st, t.chargeResult(st)
}

// ruleDict: entries copied from a dict keep their labels; entries from a
// sequence of pairs are covered by the structure label; keyword entries get
// their argument's label.
func ruleDict(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	t := &thread.ifc
	c := &t.b
	if err := t.expandFits(args); err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	snap := snapshotEntries(args)
	z, err := dict(thread, b, args, kwargs)
	if err != nil {
		c.res |= thread.callLabel()
		return nil, err
	}
	d := z.(*Dict)
	d.ht.slab |= c.pc
	t.labelUpdate(d, args, snap, kwargs, c.pc)
	return d, t.chargeResult(d)
}

// entrySnapshot is a dict's entries with their labels, taken before
// updateDict runs: SetKey of an existing key resets its value label, and
// the source may be the dict being updated.
type entrySnapshot struct {
	key        Value
	klab, vlab Label
}

// snapshotEntries snapshots the entries of updates[0] if it is a dict.
func snapshotEntries(updates Tuple) []entrySnapshot {
	if len(updates) != 1 {
		return nil
	}
	src, ok := updates[0].(*Dict)
	if !ok {
		return nil
	}
	snap := make([]entrySnapshot, 0, src.Len())
	for e := src.ht.head; e != nil; e = e.next {
		snap = append(snap, entrySnapshot{e.key, e.klab, e.vlab})
	}
	return snap
}

// labelUpdate labels the entries updateDict wrote into d from updates
// (whose dict entries were snapshotted before) and kwargs, under write pc
// wpc.
func (t *ifcThread) labelUpdate(d *Dict, updates Tuple, snap []entrySnapshot, kwargs []Tuple, wpc Label) {
	c := &t.b
	// Which entries the call writes depends on how many positional
	// arguments it has and which keywords: the call's shape.
	d.ht.slab |= c.shape
	if len(updates) == 1 {
		l := wpc | c.argLabel(0)
		d.ht.slab |= l
		if src, ok := updates[0].(*Dict); ok {
			d.ht.slab |= src.ht.slab
			for _, e := range snap {
				if de, _ := d.ht.lookupEntry(e.key); de != nil {
					de.klab |= e.klab | l
					de.vlab = e.vlab | l
				}
			}
		} else {
			d.ht.slab |= t.contentsLabel(updates[0]) | t.deepLabel(updates[0])
		}
	}
	for j, kv := range kwargs {
		kl, vl := c.kwNameLabel(j)|wpc, c.kwValueLabel(j)|wpc
		if kl|vl == Public {
			continue
		}
		d.ht.slab |= kl
		if de, _ := d.ht.lookupEntry(kv[0]); de != nil {
			de.klab |= kl
			de.vlab = vl
		}
	}
}

// ruleFail: the error message is made of every argument.
func ruleFail(thread *Thread, b *Builtin, args Tuple, kwargs []Tuple) (Value, error) {
	c := thread.ctx()
	c.res |= thread.callLabel()
	for _, a := range args { // as print: a sink of its own
		c.res |= DeepLabel(a)
	}
	if err := thread.ifc.reprFits(args...); err != nil {
		return nil, err
	}
	return fail(thread, b, args, kwargs)
}

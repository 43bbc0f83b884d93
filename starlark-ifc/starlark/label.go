// This file is an Aegis addition to the fork: the information-flow labels of
// the interpreter and the labelled API that hosts and builtins use.
//
// Map of the label machinery (all in files of this package):
//
//	label.go           Label, Labeled, FlowError, the thread's label state and the host API
//	                   (PC, ArgLabel, KwargLabel, CallLabel, SetResultLabel, LabelError,
//	                   ErrorLabel, NewListLabeled, ExecFileLabeled, CallLabeled, limits)
//	ifc_walk.go        deep labels D(v), the no-sensitive-upgrade walk and the label raise walk
//	ifc_interp.go      the interpreter's helpers: regions and the static upgrade, the call
//	                   protocol, labelled indexing, iteration, operators
//	ifc_builtin.go     how a builtin call is labelled: the conservative default rule, label-aware
//	                   builtins, the builtin call context behind the thread API
//	ifc_rules.go       the audited rule of every core builtin
//	ifc_alloc.go       the allocation and call-depth limits
//
// The upstream files carry only small hooks, each marked "IFC:".
//
// A value's label is the set of secret sources it was derived from. Scalars
// and immutable aggregates (strings, bytes, tuples, ranges, structs) carry one
// label on the reference, held beside the value: in the operand stack, the
// locals, cells, globals, or the container slot that holds it. Mutable
// containers also carry labels inside them: a structure label S (length, key
// set, order) and a label per element (list) or per entry (dict, set). Every
// read of anything inside a container includes S.
package starlark

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/aegisdev/aegis/labels"
)

// Label is a confidentiality label: a set of secret source principals. The
// zero value is Public; join is |; l flows to m when l&^m == 0.
type Label = labels.Label

// Public is the label of data derived from no secret source.
const Public = labels.Public

// BuiltinFunc is the Go signature of a builtin's implementation.
type BuiltinFunc = func(thread *Thread, fn *Builtin, args Tuple, kwargs []Tuple) (Value, error)

// Labeled is the boundary form of a labelled value: the way a host hands a
// labelled value to the interpreter (as a predeclared value, a Load result, a
// builtin's result, an attribute value of a host type) and the interpreter
// hands one back. The interpreter unwraps it where it enters, so Starlark code
// never sees a Labeled: it sees V, labelled L joined with the pc.
//
// A Labeled implements Value by forwarding to V, so code unaware of labels
// keeps working, but it should not be stored inside containers: use
// NewListLabeled and Dict.SetKeyLabeled instead.
type Labeled struct {
	V Value
	L Label
}

func (x Labeled) String() string        { return x.V.String() }
func (x Labeled) Type() string          { return x.V.Type() }
func (x Labeled) Freeze()               { FreezeAll(x) }
func (x Labeled) Truth() Bool           { return x.V.Truth() }
func (x Labeled) Hash() (uint32, error) { return x.V.Hash() }

// unlabel removes a Labeled boundary wrapper.
func unlabel(v Value) (Value, Label) {
	if x, ok := v.(Labeled); ok {
		return x.V, x.L
	}
	return v, Public
}

// A FlowError reports that the monitor stopped an information flow: output of
// labelled data through a sink, or a write to a container under a pc label the
// container's structure label does not cover (no-sensitive-upgrade). Its
// message names the sink and the rule, never a value. It reaches the host
// wrapped in an *EvalError; use errors.As to recognise it.
type FlowError struct {
	Sink   string // the operation that was stopped, e.g. "print", "list.append", "x[k] = v"
	Reason string // which rule stopped it
}

func (e *FlowError) Error() string {
	return fmt.Sprintf("information flow blocked at %s: %s", e.Sink, e.Reason)
}

const nsuReason = "it would modify a container that code outside the current secret-dependent " +
	"condition can observe (no-sensitive-upgrade); build a new container inside the condition, " +
	"or use a comprehension"

// labelledError attaches a label to an error a builtin returns.
type labelledError struct {
	err error
	l   Label
}

func (e *labelledError) Error() string { return e.err.Error() }
func (e *labelledError) Unwrap() error { return e.err }

// LabelError attaches label l to err: the message of err depends on data
// labelled l. A builtin returns the result; the interpreter joins l into the
// label of the EvalError it reports.
func LabelError(err error, l Label) error {
	if err == nil || l == Public {
		return err
	}
	return &labelledError{err, l}
}

// exactError is an error whose label the builtin that returned it declared
// exactly (ExactLabelError).
type exactError struct {
	err error
	l   Label
}

func (e *exactError) Error() string { return e.err.Error() }
func (e *exactError) Unwrap() error { return e.err }

// ExactLabelError declares that the occurrence and the message of err, an
// error a builtin is about to return, depend only on the call's pc and shape
// and on data labelled l. Without it the interpreter labels a builtin's
// error with CallLabel (J): every input, reference and deep, since an error
// raised while a builtin handles its arguments (a wrong type, an unknown
// keyword, a count) may depend on any of them. A builtin may use it only for
// an error that it raises after examining nothing but the inputs whose labels
// are in l: typically a policy decision or a flow check about a target, made
// before the builtin looks at the data it would send. Whether an error is
// exact is decided by the error the builtin returns itself; an exact error
// passed up through another builtin loses its exactness.
func ExactLabelError(err error, l Label) error {
	if err == nil {
		return nil
	}
	return &exactError{err, l}
}

// errChainLabel returns the join of every label attached to err's chain (by
// LabelError, ExactLabelError, or an *EvalError's Label). The chain is a
// tree where an error wraps several (errors.Join, fmt.Errorf with more than
// one %w): every branch counts, not only what errors.Unwrap follows.
func errChainLabel(err error) Label {
	var l Label
	var more []error // branches of the tree not yet followed
	for err != nil {
		switch e := err.(type) {
		case *labelledError:
			l |= e.l
		case *exactError:
			l |= e.l
		case *EvalError:
			l |= e.Label
		}
		if m, ok := err.(interface{ Unwrap() []error }); ok {
			more = append(more, m.Unwrap()...)
			err = nil
		} else {
			err = errors.Unwrap(err)
		}
		for err == nil && len(more) > 0 {
			err, more = more[len(more)-1], more[:len(more)-1]
		}
	}
	return l
}

// ErrorLabel returns the Label of the *EvalError in err's chain, joined with
// any label attached by LabelError; Public if there is none.
func ErrorLabel(err error) Label { return errChainLabel(err) }

// LabelRule says how a builtin's result and error are labelled.
type LabelRule uint8

const (
	// RuleUnclassified: made by NewBuiltin without a classification. It is
	// labelled by the conservative rule; the coverage test fails on any core
	// builtin left here.
	RuleUnclassified LabelRule = iota
	// RuleConservative: classified, and deliberately labelled by the
	// conservative rule (see NewBuiltin).
	RuleConservative
	// RuleShallow: result and error labelled pc ⊔ callee ⊔ the reference labels of
	// the arguments, provided every argument and the receiver are atomic
	// (strings, bytes, numbers, bools, None, tuples of those); otherwise the
	// conservative rule applies.
	RuleShallow
	// RuleAware: the builtin labels its result itself through the thread API.
	RuleAware
	// RuleAudited: a rule of this package (ifc_rules.go).
	RuleAudited
	// RuleSink: an audited output sink (print).
	RuleSink
)

func (r LabelRule) String() string {
	switch r {
	case RuleUnclassified:
		return "unclassified"
	case RuleConservative:
		return "conservative"
	case RuleShallow:
		return "shallow"
	case RuleAware:
		return "label-aware"
	case RuleAudited:
		return "audited"
	case RuleSink:
		return "sink"
	}
	return fmt.Sprintf("LabelRule(%d)", uint8(r))
}

// builtinRule is the label rule attached to a Builtin. A nil rule is the
// conservative default.
type builtinRule struct {
	kind LabelRule
	// call, if set, replaces the builtin's Go function: it implements the
	// builtin and labels its result through the builtin context.
	call BuiltinFunc
}

var (
	conservativeRule = &builtinRule{kind: RuleConservative}
	shallowRule      = &builtinRule{kind: RuleShallow}
	awareRule        = &builtinRule{kind: RuleAware}
)

// LabelRule returns the classification of b's label rule.
func (b *Builtin) LabelRule() LabelRule {
	if b.rule == nil {
		return RuleUnclassified
	}
	return b.rule.kind
}

// NewLabelAwareBuiltin returns a builtin that labels its own result: while fn
// runs it reads the labels of its arguments through thread.ArgLabel,
// KwargLabel, PC and CallLabel, and declares the label of what it returns with
// thread.SetResultLabel. The interpreter labels the result PC ⊔ (labels set),
// and an error PC ⊔ (labels set) ⊔ (labels attached with LabelError). Sources
// and sinks are built this way. A label-aware builtin that writes into a
// container must itself respect no-sensitive-upgrade (see CheckWrite).
func NewLabelAwareBuiltin(name string, fn BuiltinFunc) *Builtin {
	return &Builtin{name: name, fn: fn, rule: awareRule}
}

// NewShallowBuiltin returns a builtin whose result depends only on its
// atomic arguments (strings, bytes, numbers, bools, None, tuples of those)
// and its receiver: it is labelled pc ⊔ callee ⊔ the argument labels. When an
// argument is a container or another non-atomic value, the conservative rule
// applies instead.
func NewShallowBuiltin(name string, fn BuiltinFunc) *Builtin {
	return &Builtin{name: name, fn: fn, rule: shallowRule}
}

// NewConservativeBuiltin returns a builtin explicitly classified as labelled
// by the conservative rule (see NewBuiltin). It behaves like NewBuiltin; the
// classification only tells the coverage test that the choice was deliberate.
func NewConservativeBuiltin(name string, fn BuiltinFunc) *Builtin {
	return &Builtin{name: name, fn: fn, rule: conservativeRule}
}

// --- the thread's label state ---

// ifcThread is the label state of a Thread.
type ifcThread struct {
	larena   []Label      // LIFO arena of frame labels (locals and operand stack)
	iters    []ifcIter    // label state of the active iterators of every frame, innermost last
	sawLabel bool         // a non-public label has entered this thread: deep walks are needed
	seen     Label        // the join of every label that has entered this thread (SeenLabel)
	pending  pendingCall  // argument labels from the CALL in progress, for its callee
	b        builtinCtx   // the builtin call in progress (thread API)
	bsaved   []builtinCtx // the contexts of the builtins that called the one in progress from Go
	ret      Label        // label of the result the last callee returned to the interpreter
	errLabel Label        // label for the next EvalError built by evalError
	errPC    Label        // pc label for the next EvalError
	highAt   CallStack    // call stack when the pc first became non-public (nil if never)

	// lastModule is the module of the last toplevel call whose predeclared
	// environment was walked (enterToplevel).
	lastModule *Module
	// runModules are the modules walked in this run (the toplevel call's,
	// and those of the functions Go code called back: ifcEnter), so that
	// each is walked once per run.
	runModules []*Module

	allocLimit int64 // SetMaxAllocBytes (0: none)
	allocated  int64 // estimated bytes allocated so far
	depthLimit int   // SetMaxCallDepth (0: none)

	walk walker // scratch state of deep walks
}

// pendingCall carries the labels of a call from the interpreter's CALL (or
// from CallLabeled) to the callee, which consumes it when fn matches.
type pendingCall struct {
	fn       Value
	pc       Label   // caller pc ⊔ label of the callee value
	pos      []Label // labels of the first len(pos) positional arguments
	varLab   Label   // label of every further positional argument (from *args)
	kv       []Label // name and value labels of the first len(kv)/2 keyword arguments
	kwVarLab Label   // label of every further keyword argument (from **kwargs)
	// shape is the label of the call's shape: how many positional
	// arguments there are, which keyword names are present, and so which
	// parameter each argument binds to. It is the pc joined with the
	// structure labels of the *args iterable and the **kwargs mapping (the
	// keys of which are the names); a call without them has the pc's.
	shape Label
}

// names reports whether the pending call is a call of v. Values of a type
// Go cannot compare (a host callable holding a slice, say: == panics on
// them) are taken to be the callee when their types match: a pending call
// is consumed by the next call, and nothing runs between the CALL (or
// CallLabeled) that made it and that call.
func (p *pendingCall) names(v Value) bool {
	if p.fn == nil {
		return false
	}
	if t := reflect.TypeOf(v); t != reflect.TypeOf(p.fn) {
		return false
	} else if !t.Comparable() {
		return true
	}
	return p.fn == v
}

func (p *pendingCall) argLabel(i int) Label {
	if i < len(p.pos) {
		return p.pos[i]
	}
	return p.varLab
}

// kwLabel returns the joined name and value label of keyword argument j.
func (p *pendingCall) kwLabel(j int) Label {
	if 2*j+1 < len(p.kv) {
		return p.kv[2*j] | p.kv[2*j+1]
	}
	return p.kwVarLab
}

// kwNameLabel and kwValueLabel split kwLabel into the label of the keyword
// argument's name and of its value.
func (p *pendingCall) kwNameLabel(j int) Label {
	if 2*j+1 < len(p.kv) {
		return p.kv[2*j]
	}
	return p.kwVarLab
}

func (p *pendingCall) kwValueLabel(j int) Label {
	if 2*j+1 < len(p.kv) {
		return p.kv[2*j+1]
	}
	return p.kwVarLab
}

// all returns the join of every argument label.
func (p *pendingCall) all() Label {
	l := p.varLab | p.kwVarLab | p.shape
	for _, x := range p.pos {
		l |= x
	}
	for _, x := range p.kv {
		l |= x
	}
	return l
}

// noteLabel records that a label entered the thread.
func (t *ifcThread) noteLabel(l Label) {
	if l != Public {
		t.sawLabel = true
		t.seen |= l
	}
}

// enterToplevel resets the per-run label state when the host starts a call
// on an idle thread (a previous run may have ended in a panic). Values made
// by another thread (frozen, shared) may hold labels this thread has not
// seen: the callee's predeclared environment and the arguments are walked
// once, so that deep walks are not skipped wrongly.
func (t *ifcThread) enterToplevel(fn Value, args Tuple) {
	if !t.pending.names(fn) {
		t.pending = pendingCall{}
	}
	// After the first label, deep walks no longer need this, but SeenLabel
	// does: the walk is repeated only for another module than last time.
	clear(t.runModules)
	t.runModules = t.runModules[:0]
	if f, ok := fn.(*Function); ok {
		if !t.sawLabel || f.module != t.lastModule {
			t.noteForeign(f)
		}
		t.runModules = append(t.runModules, f.module)
	}
	for _, a := range args {
		if !isScalar(a) {
			t.noteLabel(foreignLabel(a))
		}
	}
	t.larena, t.iters = t.larena[:0], t.iters[:0]
	t.b = builtinCtx{}
	clear(t.bsaved)
	t.bsaved = t.bsaved[:0]
	t.errLabel, t.errPC, t.ret = Public, Public, Public
	t.highAt = nil
}

// noteForeign notes the labels f, a function that may have been made on
// another thread, can bring into this one: its own (defaults, closure
// cells) and those of its module's globals and predeclared values.
func (t *ifcThread) noteForeign(f *Function) {
	t.noteLabel(foreignLabel(f))
	for _, v := range f.module.predeclared {
		t.noteLabel(foreignLabel(v))
	}
	t.lastModule = f.module
}

// noteHigh records where the pc first became non-public.
func (thread *Thread) noteHigh() {
	if thread.ifc.highAt == nil {
		thread.ifc.highAt = thread.CallStack()
	}
}

// --- the host API ---

// PC returns, while a builtin runs, the pc label of its call: the pc at the
// call site joined with the label of the callee value (which includes the
// label of a bound method's receiver).
func (thread *Thread) PC() Label { return thread.ifc.b.pc }

// ArgLabel returns, while a builtin runs, the reference label of its
// positional argument i. For a container it does not include the labels
// inside it: see DeepLabel. For an absent argument (i out of range) it is
// the call's shape label (ShapeLabel): whether the argument is there may
// depend on a labelled *args.
func (thread *Thread) ArgLabel(i int) Label {
	b := &thread.ifc.b
	if i < 0 || i >= len(b.args) {
		return b.shape
	}
	return b.argLabel(i)
}

// KwargLabel returns, while a builtin runs, the reference label of its
// keyword argument name, joined with the label of the name (a name that
// came from a labelled **kwargs dict is itself labelled). For an absent
// name it is the call's shape label (ShapeLabel): whether the name is there
// may depend on a labelled **kwargs.
func (thread *Thread) KwargLabel(name string) Label {
	b := &thread.ifc.b
	for j, kv := range b.kwargs {
		if k, ok := kv[0].(String); ok && string(k) == name {
			return b.kwLabel(j)
		}
	}
	return b.shape
}

// ShapeLabel returns, while a builtin runs, the label of its call's shape:
// the number of positional arguments, the set of keyword names and so which
// parameter each argument binds to. It is Public unless the call spreads a
// labelled *args or **kwargs (or runs under a labelled pc). Every argument
// label and every error label includes it.
func (thread *Thread) ShapeLabel() Label { return thread.ifc.b.shape }

// CallLabel returns, while a builtin runs, J: the pc of the call joined with
// the shallow and deep labels of every argument and of the receiver. It is the
// label of anything the builtin may compute from its inputs.
func (thread *Thread) CallLabel() Label { return thread.callLabel() }

// SeenLabel returns the join of every label that has entered the thread so
// far (through a source, a labelled predeclared or loaded value, a builtin
// result, a host attribute, the arguments of a host call), Public while none
// has. Labels are never removed: it only grows, for the thread's lifetime.
//
// It is the label of anything that measures the thread's own progress, such
// as a clock read: after `if secret: loop()`, how late it is depends on the
// secret, and on nothing the thread has not seen. Whether it is Public is
// public (the first label to enter cannot have been decided by a label);
// which labels it holds after that can depend on labelled data when the host
// lets a source be read under a labelled pc or with a labelled target, so a
// host that tells principals apart at its sinks must refuse such reads of a
// principal the thread has not seen yet.
func (thread *Thread) SeenLabel() Label { return thread.ifc.seen }

// SetResultLabel declares, while a label-aware builtin runs, that its result
// depends on data labelled l. Calls accumulate (join). The result's label is
// PC ⊔ every l set.
func (thread *Thread) SetResultLabel(l Label) {
	thread.ifc.b.res |= l
	thread.ifc.noteLabel(l)
}

// DeepLabel returns D(v): the join of every label inside v, excluding the
// label of the reference v itself: list and dict/set structure and element
// labels, recursively, tuple elements, function defaults and closure cells,
// bound receivers, and the children of host values that implement
// ChildVisitor. It is cycle-safe and visits each object once.
func DeepLabel(v Value) Label {
	var w walker
	return w.deep(v)
}

// A ChildVisitor is a host value that holds other Starlark values. Deep
// labels, no-sensitive-upgrade checks and label raises visit its children
// through VisitChildren. A host container type that does not implement it is
// treated as a leaf: its contents are invisible to the monitor, so it must
// not let Starlark code store labelled values in it.
type ChildVisitor interface {
	Value
	VisitChildren(visit func(Value))
}

// NewListLabeled returns a list holding elems, with per-element labels
// elemLabels (nil means all Public) and structure label structure (the
// label of its length and order). Callers must not modify elems or
// elemLabels afterwards. If len(elemLabels) != len(elems), which is a bug in
// the caller, every given label is joined into the structure label instead,
// which over-labels but loses nothing.
func NewListLabeled(elems []Value, elemLabels []Label, structure Label) *List {
	l := &List{elems: elems, slab: structure}
	if elemLabels != nil {
		if len(elemLabels) != len(elems) {
			for _, x := range elemLabels {
				l.slab |= x
			}
			return l
		}
		for _, x := range elemLabels {
			if x != Public {
				l.elabs = elemLabels
				break
			}
		}
	}
	return l
}

// ElemLabel returns the label of element i of l (not including the
// structure label).
func (l *List) ElemLabel(i int) Label {
	if l.elabs == nil || i < 0 || i >= len(l.elabs) {
		return Public
	}
	return l.elabs[i]
}

// StructureLabel returns the structure label S of l: the label of its
// length, its order and which element is where.
func (l *List) StructureLabel() Label { return l.slab }

// SetKeyLabeled is SetKey with labels: the entry's key gets keyLabel (joined
// with the old key label if k was present) and its value valueLabel; the
// structure label of d is raised by keyLabel, since whether k is present is
// derived from the key.
func (d *Dict) SetKeyLabeled(k, v Value, keyLabel, valueLabel Label) error {
	return d.ht.insertL(k, v, keyLabel, valueLabel)
}

// StructureLabel returns the structure label S of d: the label of its key
// set, length and order.
func (d *Dict) StructureLabel() Label { return d.ht.slab }

// EntryLabels returns the key and value labels of the entry for k (not
// including the structure label), and whether k is present.
func (d *Dict) EntryLabels(k Value) (keyLabel, valueLabel Label, found bool, err error) {
	e, err := d.ht.lookupEntry(k)
	if err != nil || e == nil {
		return Public, Public, false, err
	}
	return e.klab, e.vlab, true, nil
}

// StructureLabel returns the structure label S of s: the label of its
// membership, length and order.
func (s *Set) StructureLabel() Label { return s.ht.slab }

// RaiseStructureLabel joins l into the structure label of v if v is an
// unfrozen list, dict or set, and reports whether it did. Raising a label
// never changes a value, so it is always safe; it is how a label-aware
// builtin marks a container it wrote labelled data into.
func RaiseStructureLabel(v Value, l Label) bool {
	switch x := v.(type) {
	case *List:
		if !x.frozen {
			x.slab |= l
			return true
		}
	case *Dict:
		if !x.ht.frozen {
			x.ht.slab |= l
			return true
		}
	case *Set:
		if !x.ht.frozen {
			x.ht.slab |= l
			return true
		}
	}
	return false
}

// CheckWrite reports, while a builtin runs, whether the builtin may write
// into container v under the current pc: it returns a *FlowError if the pc
// of the call (PC) joined with extra (the label of the reference through
// which v was reached) does not flow to v's structure label.
func (thread *Thread) CheckWrite(v Value, extra Label, sink string) error {
	p := thread.ifc.b.pc | extra
	if p == Public {
		return nil
	}
	if s, ok := structureOf(v); ok && p&^s != 0 {
		return &FlowError{Sink: sink, Reason: nsuReason}
	}
	return nil
}

// structureOf returns the structure label of an unfrozen list, dict or set.
func structureOf(v Value) (Label, bool) {
	switch x := v.(type) {
	case *List:
		return x.slab, !x.frozen
	case *Dict:
		return x.ht.slab, !x.ht.frozen
	case *Set:
		return x.ht.slab, !x.ht.frozen
	}
	return Public, false
}

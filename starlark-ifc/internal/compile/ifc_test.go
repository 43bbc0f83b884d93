package compile

// Tests of the implicit-flow branch analysis (ifc.go).
//
// The analysis is checked three ways: against an independent, deliberately
// naive reference (instruction-level graph, set-intersection post-dominators,
// backward search for slot provenance) on every function the upstream test
// corpus compiles to; against hand-written expectations on small programs
// whose shapes the interpreter relies on; and against corrupted or random
// bytecode, where it must fall back to conservative answers without panicking.

import (
	"fmt"
	"math/bits"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/resolve"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// allOptions enables every dialect feature, so that while loops and
// top-level control flow (SETGLOBAL under a branch) are exercised.
func allOptions() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
}

// compileSource compiles one Starlark file with every name predeclared, so
// that chunks which only use built-ins still resolve.
func compileSource(name, src string) (*Program, error) {
	opts := allOptions()
	f, err := opts.Parse(name, src, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	yes := func(string) bool { return true }
	if err := resolve.File(f, yes, yes); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	pos := syntax.MakePosition(&f.Path, 1, 1)
	if len(f.Stmts) > 0 {
		pos = syntax.Start(f.Stmts[0])
	}
	m := f.Module.(*resolve.Module)
	return File(opts, f.Stmts, pos, "<toplevel>", m.Locals, m.Globals), nil
}

func mustCompile(t testing.TB, src string) *Program {
	t.Helper()
	prog, err := compileSource("test.star", src)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func funcodes(prog *Program) []*Funcode {
	return append([]*Funcode{prog.Toplevel}, prog.Functions...)
}

// corpus compiles every chunk of every Starlark file in the fork's test data
// that parses and resolves, and returns its functions.
func corpus(t testing.TB) (fns []*Funcode, chunks, skipped int) {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../*/testdata/*.star", "../../starlarktest/*.star"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d corpus files: %v", len(files), files)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, chunk := range strings.Split(string(data), "\n---\n") {
			prog, err := compileSource(fmt.Sprintf("%s:chunk%d", file, i), chunk)
			if err != nil {
				skipped++
				continue
			}
			chunks++
			fns = append(fns, funcodes(prog)...)
		}
	}
	return fns, chunks, skipped
}

// ---- the reference analysis ----

type refInsn struct {
	pc, next uint32
	op       Opcode
	arg      uint32
}

func refDecode(code []byte) []refInsn {
	var out []refInsn
	for pc := 0; pc < len(code); {
		in := refInsn{pc: uint32(pc), op: Opcode(code[pc])}
		pc++
		if in.op >= OpcodeArgMin {
			for s := uint(0); ; s += 7 {
				b := code[pc]
				pc++
				in.arg |= uint32(b&0x7f) << s
				if b < 0x80 {
					break
				}
			}
		}
		in.next = uint32(pc)
		out = append(out, in)
	}
	return out
}

// refPushes is the number of values an instruction leaves on the stack,
// from the stack pictures in compile.go; ITERJMP's element is handled by the
// caller.
func refPushes(op Opcode, arg uint32) int {
	switch op {
	case NOP, POP, SETINDEX, SETDICT, SETDICTUNIQ, APPEND, RETURN, ITERPUSH, ITERPOP,
		JMP, CJMP, ITERJMP, SETLOCAL, SETGLOBAL, SETLOCALCELL, SETFIELD:
		return 0
	case UNPACK, LOAD:
		return int(arg)
	case DUP2, EXCH:
		return 2
	}
	return 1
}

type refBranch struct {
	pc, ipdom                      uint32
	floor                          int
	locals, globals                []uint32
	accs                           []int
	mutLocals, mutGlobals, mutFree []uint32
	regionSize                     int
}

type bitset []uint64

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

type refEdge struct {
	from    int
	element bool // the ITERJMP fall-through edge, which pushes the element
}

// referenceAnalysis recomputes, at the granularity of single instructions and
// with the simplest algorithms, what Funcode.Branch should answer.
func referenceAnalysis(t *testing.T, fn *Funcode) (out []refBranch, maxDepth, deadNonNOP int) {
	t.Helper()
	insns := refDecode(fn.Code)
	n := len(insns)
	exit := n
	index := map[uint32]int{}
	for i, in := range insns {
		index[in.pc] = i
	}
	succ := make([][]int, n)
	for i, in := range insns {
		switch in.op {
		case JMP:
			succ[i] = []int{index[in.arg]}
		case CJMP, ITERJMP:
			succ[i] = []int{index[in.arg], i + 1}
		case RETURN:
			succ[i] = []int{exit}
		default:
			succ[i] = []int{i + 1}
		}
	}
	preds := make([][]refEdge, n+1)
	for i := range insns {
		for k, s := range succ[i] {
			preds[s] = append(preds[s], refEdge{i, insns[i].op == ITERJMP && k == 1})
		}
	}

	// Depth before each instruction.
	depth := make([]int, n)
	for i := range depth {
		depth[i] = -1
	}
	depth[0] = 0
	for work := []int{0}; len(work) > 0; {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		in := insns[i]
		d := depth[i] + (&insn{op: in.op, arg: in.arg}).stackeffect()
		maxDepth = max(maxDepth, d)
		for k, s := range succ[i] {
			if s == exit {
				continue
			}
			sd := d
			if in.op == ITERJMP && k == 1 {
				sd++
				maxDepth = max(maxDepth, sd)
			}
			if depth[s] < 0 {
				depth[s] = sd
				work = append(work, s)
			} else if depth[s] != sd {
				t.Fatalf("%s: reference: depth mismatch at pc %d", fn.Name, insns[s].pc)
			}
		}
	}
	reach := func(i int) bool { return i == exit || depth[i] >= 0 }
	for i, in := range insns {
		if !reach(i) && in.op != NOP {
			deadNonNOP++
		}
	}

	// Post-dominator sets by naive iteration to a fixed point.
	words := (n + 1 + 63) / 64
	pdom := make([]bitset, n+1)
	for i := range pdom {
		pdom[i] = make(bitset, words)
		if i == exit {
			pdom[i].set(exit)
		} else if reach(i) {
			for w := range pdom[i] {
				pdom[i][w] = ^uint64(0)
			}
		}
	}
	tmp := make(bitset, words)
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			if !reach(i) {
				continue
			}
			for w := range tmp {
				tmp[w] = ^uint64(0)
			}
			for _, s := range succ[i] {
				for w := range tmp {
					tmp[w] &= pdom[s][w]
				}
			}
			tmp.set(i)
			if !slices.Equal(tmp, pdom[i]) {
				copy(pdom[i], tmp)
				changed = true
			}
		}
	}
	for i := range insns {
		if reach(i) && !pdom[i].has(exit) {
			t.Fatalf("%s: reference: pc %d cannot reach exit", fn.Name, insns[i].pc)
		}
	}

	// origin finds who pushed slot s live before instruction j: the one
	// variable every path agrees on, or false.
	origin := func(j, s int) (ifcProv, bool) {
		type state struct{ i, s int }
		seen := map[state]bool{}
		var found []ifcProv
		unknown := false
		work := []state{{j, s}}
		for len(work) > 0 && !unknown {
			st := work[len(work)-1]
			work = work[:len(work)-1]
			if len(preds[st.i]) == 0 {
				unknown = true // slot live at entry: cannot happen
			}
			for _, e := range preds[st.i] {
				p, in, s := e.from, insns[e.from], st.s
				db := depth[p]
				if db < 0 {
					continue // unreachable predecessor (padding)
				}
				var next int = -1
				var got *ifcProv
				switch {
				case e.element && s == db:
					unknown = true
				case in.op == DUP && s == db:
					next = db - 1
				case in.op == DUP2 && s >= db:
					next = s - 2
				case in.op == EXCH && s == db-1:
					next = db - 2
				case in.op == EXCH && s == db-2:
					next = db - 1
				case (in.op == LOCAL || in.op == LOCALCELL) && s == db:
					got = &ifcProv{provLocal, in.arg}
				case in.op == GLOBAL && s == db:
					got = &ifcProv{provGlobal, in.arg}
				case in.op == FREECELL && s == db:
					got = &ifcProv{provFree, in.arg}
				default:
					after := db + (&insn{op: in.op, arg: in.arg}).stackeffect()
					if in.op != DUP && in.op != DUP2 && in.op != EXCH && s >= after-refPushes(in.op, in.arg) {
						unknown = true
					} else {
						next = s
					}
				}
				if got != nil && !slices.Contains(found, *got) {
					found = append(found, *got)
				}
				if next >= 0 && !seen[state{p, next}] {
					seen[state{p, next}] = true
					work = append(work, state{p, next})
				}
			}
		}
		if unknown || len(found) != 1 {
			return ifcProv{}, false
		}
		return found[0], true
	}

	for i, in := range insns {
		if !reach(i) || (in.op != CJMP && in.op != ITERJMP) {
			continue
		}
		// The immediate post-dominator is the strict post-dominator with
		// the most post-dominators of its own.
		ip := -1
		size := pdom[i].count()
		for p := 0; p <= n; p++ {
			if p != i && pdom[i].has(p) && pdom[p].count() == size-1 {
				ip = p
			}
		}
		if ip < 0 {
			t.Fatalf("%s: reference: no ipdom for pc %d", fn.Name, in.pc)
		}
		rb := refBranch{pc: in.pc, ipdom: ExitPC}
		if ip != exit {
			rb.ipdom = insns[ip].pc
		}
		rb.floor = depth[i]
		if in.op == CJMP {
			rb.floor--
		}
		atBranch := rb.floor // the depth once the branch has run
		region := map[int]bool{}
		var work []int
		for _, s := range succ[i] {
			if s != ip && s != exit && !region[s] {
				region[s] = true
				work = append(work, s)
			}
		}
		for len(work) > 0 {
			j := work[len(work)-1]
			work = work[:len(work)-1]
			for _, s := range succ[j] {
				if s != ip && s != exit && !region[s] {
					region[s] = true
					work = append(work, s)
				}
			}
		}
		rb.regionSize = len(region)
		addU := func(set *[]uint32, x uint32) {
			if !slices.Contains(*set, x) {
				*set = append(*set, x)
			}
		}
		mut := func(j, s int) {
			if p, ok := origin(j, s); ok {
				switch p.kind {
				case provLocal:
					addU(&rb.mutLocals, p.idx)
				case provGlobal:
					addU(&rb.mutGlobals, p.idx)
				case provFree:
					addU(&rb.mutFree, p.idx)
				}
			}
		}
		for j := range region {
			rj := insns[j]
			d := depth[j]
			after := d + (&insn{op: rj.op, arg: rj.arg}).stackeffect()
			rb.floor = min(rb.floor, d, after)
			switch rj.op {
			case SETLOCAL, SETLOCALCELL:
				addU(&rb.locals, rj.arg)
			case SETGLOBAL:
				addU(&rb.globals, rj.arg)
			case APPEND:
				if !slices.Contains(rb.accs, d-3) {
					rb.accs = append(rb.accs, d-3)
				}
			case SETDICT:
				if !slices.Contains(rb.accs, d-4) {
					rb.accs = append(rb.accs, d-4)
				}
			case ATTR:
				if isMutator(fn.Prog.Names[rj.arg]) {
					mut(j, d-1)
				}
			case SETINDEX:
				mut(j, d-3)
			case INPLACE_ADD, INPLACE_PIPE:
				mut(j, d-2)
			}
		}
		for _, s := range []*[]uint32{&rb.locals, &rb.globals, &rb.mutLocals, &rb.mutGlobals, &rb.mutFree} {
			slices.Sort(*s)
		}
		for _, a := range rb.accs {
			// Dropping accumulators at or above Floor must only drop
			// those the region creates, never one live at the branch.
			if a < atBranch && a >= rb.floor {
				t.Errorf("%s: pc %d: region pops accumulator %d that exists at the branch", fn.Name, in.pc, a)
			}
		}
		rb.accs = slices.DeleteFunc(rb.accs, func(a int) bool { return a >= rb.floor })
		slices.Sort(rb.accs)
		out = append(out, rb)
	}
	return out, maxDepth, deadNonNOP
}

// TestBranchAgainstReference cross-checks every branch of every function in
// the corpus against the naive reference.
func TestBranchAgainstReference(t *testing.T) {
	fns, chunks, skipped := corpus(t)
	var nbranch, nexit, nnopIPDom, nmut, nacc, ncode int
	for _, fn := range fns {
		refs, maxDepth, dead := referenceAnalysis(t, fn)
		ncode += len(fn.Code)
		where := fmt.Sprintf("%s (%s)", fn.Name, fn.Pos)
		if maxDepth != fn.MaxStack {
			t.Errorf("%s: reference max depth %d, compiler MaxStack %d", where, maxDepth, fn.MaxStack)
		}
		if dead != 0 {
			t.Errorf("%s: %d unreachable instructions other than NOP padding", where, dead)
		}
		if tbl := fn.ifcTable(); tbl.inexact != nil {
			t.Errorf("%s: analysis fell back to conservative answers: %v", where, tbl.inexact)
			continue
		}
		if got := len(fn.ifcTable().branches); got != len(refs) {
			t.Errorf("%s: %d branches, reference has %d", where, got, len(refs))
		}
		for _, r := range refs {
			nbranch++
			b := fn.Branch(r.pc)
			if b == nil {
				t.Errorf("%s: no branch at pc %d", where, r.pc)
				continue
			}
			want := Branch{PC: r.pc, IPDom: r.ipdom, Floor: r.floor, Locals: r.locals, Globals: r.globals,
				Accs: r.accs, MutLocals: r.mutLocals, MutGlobals: r.mutGlobals, MutFree: r.mutFree}
			if d := diffBranch(*b, want); d != "" {
				t.Errorf("%s: branch at pc %d: %s", where, r.pc, d)
			}
			if r.ipdom == ExitPC {
				nexit++
			} else if Opcode(fn.Code[r.ipdom]) == NOP {
				nnopIPDom++
			}
			if len(r.mutLocals)+len(r.mutGlobals)+len(r.mutFree) > 0 {
				nmut++
			}
			if len(r.accs) > 0 {
				nacc++
			}
		}
	}
	if len(fns) < 500 || nbranch < 300 {
		t.Errorf("corpus too small: %d functions, %d branches", len(fns), nbranch)
	}
	t.Logf("cross-checked %d functions (%d chunks compiled, %d skipped; %d bytes of code): %d branches, "+
		"%d with ipdom EXIT, %d with ipdom on NOP padding, %d with Mut sets, %d with Accs",
		len(fns), chunks, skipped, ncode, nbranch, nexit, nnopIPDom, nmut, nacc)
}

func diffBranch(got, want Branch) string {
	var d []string
	if got.PC != want.PC {
		d = append(d, fmt.Sprintf("PC %d, want %d", got.PC, want.PC))
	}
	if got.IPDom != want.IPDom {
		d = append(d, fmt.Sprintf("IPDom %d, want %d", got.IPDom, want.IPDom))
	}
	if got.Floor != want.Floor {
		d = append(d, fmt.Sprintf("Floor %d, want %d", got.Floor, want.Floor))
	}
	for _, f := range []struct {
		name      string
		got, want []uint32
	}{
		{"Locals", got.Locals, want.Locals},
		{"Globals", got.Globals, want.Globals},
		{"MutLocals", got.MutLocals, want.MutLocals},
		{"MutGlobals", got.MutGlobals, want.MutGlobals},
		{"MutFree", got.MutFree, want.MutFree},
	} {
		if !slices.Equal(f.got, f.want) {
			d = append(d, fmt.Sprintf("%s %v, want %v", f.name, f.got, f.want))
		}
	}
	if !slices.Equal(got.Accs, want.Accs) {
		d = append(d, fmt.Sprintf("Accs %v, want %v", got.Accs, want.Accs))
	}
	return strings.Join(d, "; ")
}

// ---- table tests on small programs ----

// insnText renders the first non-NOP instruction at or after pc, naming its
// variable operand, so that expectations read like the source.
func insnText(fn *Funcode, insns []refInsn, pc uint32) string {
	if pc == ExitPC {
		return "exit"
	}
	for _, in := range insns {
		if in.pc < pc || in.op == NOP {
			continue
		}
		switch in.op {
		case LOCAL, SETLOCAL, LOCALCELL, SETLOCALCELL:
			return fmt.Sprintf("%s %s", in.op, fn.Locals[in.arg].Name)
		case GLOBAL, SETGLOBAL:
			return fmt.Sprintf("%s %s", in.op, fn.Prog.Globals[in.arg].Name)
		case FREECELL:
			return fmt.Sprintf("%s %s", in.op, fn.FreeVars[in.arg].Name)
		case ATTR:
			return fmt.Sprintf("%s %s", in.op, fn.Prog.Names[in.arg])
		}
		return in.op.String()
	}
	return "end"
}

// branchesOf returns every branch of fn in address order, checking on the
// way that Branch answers nil for every other address.
func branchesOf(t *testing.T, fn *Funcode) []*Branch {
	t.Helper()
	var out []*Branch
	isBranch := map[uint32]bool{}
	for _, in := range refDecode(fn.Code) {
		if in.op == CJMP || in.op == ITERJMP {
			isBranch[in.pc] = true
		}
	}
	for pc := uint32(0); pc < uint32(len(fn.Code))+8; pc++ {
		b := fn.Branch(pc)
		if (b != nil) != isBranch[pc] {
			t.Fatalf("%s: Branch(%d) = %v, but instruction there is a branch: %t", fn.Name, pc, b, isBranch[pc])
		}
		if b != nil {
			out = append(out, b)
		}
	}
	if fn.Branch(ExitPC) != nil {
		t.Fatalf("Branch(ExitPC) != nil")
	}
	return out
}

type wantBranch struct {
	op         Opcode
	ipdom      string // insnText of the ipdom, "exit", or "branchN" for the address of branch N
	floor      int
	locals     string // names, space-separated, in index order
	globals    string
	accs       []int
	mutLocals  string
	mutGlobals string
	mutFree    string
}

func localNames(fn *Funcode, idx []uint32) string {
	var s []string
	for _, i := range idx {
		s = append(s, fn.Locals[i].Name)
	}
	return strings.Join(s, " ")
}

func globalNames(fn *Funcode, idx []uint32) string {
	var s []string
	for _, i := range idx {
		s = append(s, fn.Prog.Globals[i].Name)
	}
	return strings.Join(s, " ")
}

func freeNames(fn *Funcode, idx []uint32) string {
	var s []string
	for _, i := range idx {
		s = append(s, fn.FreeVars[i].Name)
	}
	return strings.Join(s, " ")
}

func TestBranchShapes(t *testing.T) {
	for _, test := range []struct {
		name, src, fn string
		want          []wantBranch
		check         func(t *testing.T, fn *Funcode, brs []*Branch)
	}{
		{
			name: "if/else merges at the statement after it",
			src: `
def f(s):
    if s:
        x = 1
    else:
        x = 2
    return x
`,
			want: []wantBranch{{op: CJMP, ipdom: "local x", locals: "x"}},
		},
		{
			name: "if without else: the not-taken assignment is still listed",
			src: `
def f(s):
    x = 0
    if s:
        x = 1
    return x
`,
			want: []wantBranch{{op: CJMP, ipdom: "local x", locals: "x"}},
		},
		{
			name: "elif chain: each test closes at the common merge",
			src: `
def f(s, t):
    if s:
        x = 1
    elif t:
        y = 2
    else:
        z = 3
    return x
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local x", locals: "x y z"},
				{op: CJMP, ipdom: "local x", locals: "y z"},
			},
		},
		{
			name: "or and and as values: Floor covers the result slot only",
			src: `
def f(a, b):
    return a or b, a and b
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local a", floor: 0},
				{op: CJMP, ipdom: "maketuple", floor: 1},
			},
		},
		{
			name: "and/or in a condition is a chain of CJMPs with one merge",
			src: `
def f(a, b):
    if a and b:
        x = 1
    return 0
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "constant", locals: "x"},
				{op: CJMP, ipdom: "constant", locals: "x"},
			},
		},
		{
			name: "conditional expression above another operand",
			src: `
def f(c, a, b):
    return (1, a if c else b)
`,
			want: []wantBranch{{op: CJMP, ipdom: "maketuple", floor: 1}},
		},
		{
			name: "for loop closes at ITERPOP",
			src: `
def f(l):
    out = []
    for x in l:
        out.append(x)
    return out
`,
			want: []wantBranch{{op: ITERJMP, ipdom: "iterpop", locals: "x", mutLocals: "out"}},
		},
		{
			name: "break extends the region to the loop exit",
			src: `
def f(l, out):
    for x in l:
        if x:
            break
        out.append(x)
    return out
`,
			want: []wantBranch{
				{op: ITERJMP, ipdom: "iterpop", locals: "x", mutLocals: "out"},
				{op: CJMP, ipdom: "iterpop", locals: "x", mutLocals: "out"},
			},
			check: func(t *testing.T, fn *Funcode, brs []*Branch) {
				if brs[0].IPDom != brs[1].IPDom {
					t.Errorf("break region closes at %d, loop at %d; want the same ITERPOP", brs[1].IPDom, brs[0].IPDom)
				}
			},
		},
		{
			name: "continue in while closes at the loop head",
			src: `
def f(n, out):
    while n > 0:
        n -= 1
        if n == 5:
            continue
        out.append(n)
    return out
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local out", locals: "n", mutLocals: "out"},
				{op: CJMP, ipdom: "local n", mutLocals: "out"},
			},
			check: func(t *testing.T, fn *Funcode, brs []*Branch) {
				// The while test falls through to the loop exit, so its
				// ipdom is the NOP padding of its own CJMP.
				if op := Opcode(fn.Code[brs[0].IPDom]); op != NOP || brs[0].IPDom != brs[0].PC+2 {
					t.Errorf("while exit at %d (%s), want the padding at %d", brs[0].IPDom, op, brs[0].PC+2)
				}
				if brs[1].IPDom != 0 {
					t.Errorf("continue region closes at %d, want the loop head 0", brs[1].IPDom)
				}
			},
		},
		{
			name: "break in while closes at the loop exit",
			src: `
def f(n):
    while n > 0:
        if n == 5:
            break
        n -= 1
    return n
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local n", locals: "n"},
				{op: CJMP, ipdom: "local n", locals: "n"},
			},
			check: func(t *testing.T, fn *Funcode, brs []*Branch) {
				if brs[0].IPDom != brs[1].IPDom {
					t.Errorf("break region closes at %d, loop at %d", brs[1].IPDom, brs[0].IPDom)
				}
			},
		},
		{
			name: "early return: the region never closes",
			src: `
def f(s, out):
    if s:
        return 1
    out.append(2)
    x = 3
    return x
`,
			want: []wantBranch{{op: CJMP, ipdom: "exit", locals: "x", mutLocals: "out"}},
		},
		{
			name: "return inside a loop makes the loop region reach EXIT",
			src: `
def f(l):
    for x in l:
        if x:
            return x
    return None
`,
			want: []wantBranch{
				{op: ITERJMP, ipdom: "exit", locals: "x"},
				{op: CJMP, ipdom: "exit", locals: "x"},
			},
		},
		{
			name: "list comprehension and its if clause write the accumulator",
			src: `
def f(l):
    return [x for x in l if x > 1]
`,
			want: []wantBranch{
				{op: ITERJMP, ipdom: "iterpop", floor: 1, locals: "x", accs: []int{0}},
				{op: CJMP, ipdom: "branch0", floor: 1, accs: []int{0}},
			},
		},
		{
			name: "dict comprehension above another operand",
			src: `
def f(l):
    return (1, {k: 2 for k in l})
`,
			want: []wantBranch{{op: ITERJMP, ipdom: "iterpop", floor: 2, locals: "k", accs: []int{1}}},
		},
		{
			name: "nested comprehension: each loop writes its own accumulator",
			src: `
def f(m):
    return [[y for y in r] for r in m]
`,
			want: []wantBranch{
				{op: ITERJMP, ipdom: "iterpop", floor: 1, locals: "r y", accs: []int{0}},
				{op: ITERJMP, ipdom: "iterpop", floor: 3, locals: "y", accs: []int{2}},
			},
		},
		{
			name: "conditional expression as comprehension body",
			src: `
def f(l, c):
    return [1 if c else 2 for x in l]
`,
			want: []wantBranch{
				{op: ITERJMP, ipdom: "iterpop", floor: 1, locals: "x", accs: []int{0}},
				{op: CJMP, ipdom: "append", floor: 2},
			},
		},
		{
			name: "a comprehension built inside the region has no accumulator to upgrade",
			src: `
def f(s, l):
    x = None
    if s:
        x = [y for y in l]
    return x
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local x", locals: "x y"},
				{op: ITERJMP, ipdom: "iterpop", floor: 1, locals: "y", accs: []int{0}},
			},
		},
		{
			name: "top-level writes are globals",
			src: `
x = 0
y = 0
if secret:
    x = 1
else:
    y = 2
`,
			fn:   "<toplevel>",
			want: []wantBranch{{op: CJMP, ipdom: "none", globals: "x y"}},
		},
		{
			name: "top-level loop appending to a global list",
			src: `
out = []
for c in secret.elems():
    out.append(c)
`,
			fn:   "<toplevel>",
			want: []wantBranch{{op: ITERJMP, ipdom: "iterpop", globals: "c", mutGlobals: "out"}},
		},
		{
			name: "d[k] = v mutates d",
			src: `
def f(s, d, k, v):
    if s:
        d[k] = v
`,
			want: []wantBranch{{op: CJMP, ipdom: "none", mutLocals: "d"}},
		},
		{
			name: "d[k] += v mutates d, not only the element",
			src: `
def f(s, d, k, v):
    if s:
        d[k] += v
`,
			want: []wantBranch{{op: CJMP, ipdom: "none", mutLocals: "d"}},
		},
		{
			name: "x += [1] extends x in place and reassigns it",
			src: `
def f(s, x):
    if s:
        x += [1]
    return x
`,
			want: []wantBranch{{op: CJMP, ipdom: "local x", locals: "x", mutLocals: "x"}},
		},
		{
			name: "x |= y",
			src: `
def f(s, x, y):
    if s:
        x |= y
    return x
`,
			want: []wantBranch{{op: CJMP, ipdom: "local x", locals: "x", mutLocals: "x"}},
		},
		{
			name: "provenance survives an inner branch in the index",
			src: `
def f(s, d, a, b, c, v):
    if s:
        d[a if c else b] = v
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "none", mutLocals: "d"},
				{op: CJMP, ipdom: "exch", floor: 2},
			},
		},
		{
			name: "receiver that differs by path is not listed",
			src: `
def f(s, c, x, y):
    if s:
        (x if c else y).append(1)
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "none"},
				{op: CJMP, ipdom: "attr append"},
			},
		},
		{
			name: "containers reached other than through a variable are not listed",
			src: `
def f(s, x, g, l):
    if s:
        y = x + [1]
        g(x).append(1)
        l[0].append(1)
        x.count(1)
        x.f += 1
`,
			want: []wantBranch{{op: CJMP, ipdom: "none", locals: "y"}},
		},
		{
			name: "every mutator method is recognised",
			src: `
def f(s, a, b, c, d, e, g, h, i, j, k, l, m, n, o, p):
    if s:
        a.append(1)
        b.extend(1)
        c.insert(1)
        d.pop(1)
        e.remove(1)
        g.clear()
        h.update(1)
        i.setdefault(1)
        j.popitem()
        k.add(1)
        l.discard(1)
        m.difference_update(1)
        n.intersection_update(1)
        o.symmetric_difference_update(1)
        p.get(1)
`,
			want: []wantBranch{{op: CJMP, ipdom: "none", mutLocals: "a b c d e g h i j k l m n o"}},
		},
		{
			name: "closure mutating a free variable",
			src: `
def outer(s):
    out = []
    def inner():
        if s:
            out.append(1)
    inner()
    return out
`,
			fn:   "inner",
			want: []wantBranch{{op: CJMP, ipdom: "none", mutFree: "out"}},
		},
		{
			name: "cell local: assignment and mutation through the cell",
			src: `
def outer(s):
    out = []
    x = 0
    def g():
        return out, x
    if s:
        out.append(1)
        x = 1
    return g
`,
			fn:   "outer",
			want: []wantBranch{{op: CJMP, ipdom: "local g", locals: "x", mutLocals: "out"}},
		},
		{
			name: "empty branches",
			src: `
def f(s):
    if s:
        pass
    while s:
        pass
`,
			want: []wantBranch{
				{op: CJMP, ipdom: "local s"},
				{op: CJMP, ipdom: "none"},
			},
			check: func(t *testing.T, fn *Funcode, brs []*Branch) {
				// while s: pass jumps back to its own test.
				if brs[1].IPDom != brs[1].PC+2 {
					t.Errorf("while ipdom %d, want %d", brs[1].IPDom, brs[1].PC+2)
				}
			},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			prog := mustCompile(t, test.src)
			name := test.fn
			if name == "" {
				name = "f"
			}
			var fn *Funcode
			for _, f := range funcodes(prog) {
				if f.Name == name {
					fn = f
				}
			}
			if fn == nil {
				t.Fatalf("no function %s", name)
			}
			if tbl := fn.ifcTable(); tbl.inexact != nil {
				t.Fatalf("analysis is conservative: %v", tbl.inexact)
			}
			brs := branchesOf(t, fn)
			if len(brs) != len(test.want) {
				t.Fatalf("%d branches, want %d", len(brs), len(test.want))
			}
			for i, w := range test.want {
				b := brs[i]
				if op := Opcode(fn.Code[b.PC]); op != w.op {
					t.Errorf("branch %d is %s, want %s", i, op, w.op)
				}
				ipdom := insnText(fn, refDecode(fn.Code), b.IPDom)
				for j, o := range brs {
					if o.PC == b.IPDom {
						ipdom = fmt.Sprintf("branch%d", j)
					}
				}
				check := func(what string, got, want any) {
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("branch %d (pc %d): %s = %v, want %v", i, b.PC, what, got, want)
					}
				}
				check("ipdom", ipdom, w.ipdom)
				check("Floor", b.Floor, w.floor)
				check("Locals", localNames(fn, b.Locals), w.locals)
				check("Globals", globalNames(fn, b.Globals), w.globals)
				check("Accs", b.Accs, w.accs)
				check("MutLocals", localNames(fn, b.MutLocals), w.mutLocals)
				check("MutGlobals", globalNames(fn, b.MutGlobals), w.mutGlobals)
				check("MutFree", freeNames(fn, b.MutFree), w.mutFree)
			}
			if test.check != nil {
				test.check(t, fn, brs)
			}
		})
	}
}

// TestBranchDeepNesting checks that nesting far deeper than any real program
// neither exhausts the stack nor loses precision.
func TestBranchDeepNesting(t *testing.T) {
	const depth = 200
	var b strings.Builder
	b.WriteString("def f(s):\n    x = 0\n")
	for i := range depth {
		fmt.Fprintf(&b, "%sif s > %d:\n", strings.Repeat(" ", 4*(i+1)), i)
	}
	fmt.Fprintf(&b, "%sx = 1\n    return x\n", strings.Repeat(" ", 4*(depth+1)))
	fmt.Fprintf(&b, "def g(s):\n    x = 0\n")
	for i := range 5 * depth {
		kw := "elif"
		if i == 0 {
			kw = "if"
		}
		fmt.Fprintf(&b, "    %s s == %d:\n        x = %d\n", kw, i, i)
	}
	b.WriteString("    return x\n")
	prog := mustCompile(t, b.String())
	for _, fn := range prog.Functions {
		if tbl := fn.ifcTable(); tbl.inexact != nil {
			t.Fatalf("%s: conservative: %v", fn.Name, tbl.inexact)
		}
		brs := branchesOf(t, fn)
		want := depth
		if fn.Name == "g" {
			want = 5 * depth
		}
		if len(brs) != want {
			t.Fatalf("%s: %d branches, want %d", fn.Name, len(brs), want)
		}
		// Every test of either shape merges at the final "return x".
		insns := refDecode(fn.Code)
		for i, br := range brs {
			if got := insnText(fn, insns, br.IPDom); got != "local x" || br.IPDom != brs[0].IPDom {
				t.Errorf("%s: branch %d closes at %d (%s), want the return at %d", fn.Name, i, br.IPDom, got, brs[0].IPDom)
			}
			if localNames(fn, br.Locals) != "x" {
				t.Errorf("%s: branch %d writes %q", fn.Name, i, localNames(fn, br.Locals))
			}
		}
	}
}

// ---- robustness ----

// asmInsn is one instruction for the test assembler; for jumps, arg is the
// index of the target instruction.
type asmInsn struct {
	op  Opcode
	arg uint32
}

// assemble encodes instructions as the compiler does: jump operands padded
// to 4 bytes, others as minimal varints.
func assemble(insns ...asmInsn) []byte {
	pcs := make([]uint32, len(insns)+1)
	for i, in := range insns {
		n := 1
		switch {
		case in.op == JMP || in.op == CJMP || in.op == ITERJMP:
			n += 4
		case in.op >= OpcodeArgMin:
			n += argLen(in.arg)
		}
		pcs[i+1] = pcs[i] + uint32(n)
	}
	var code []byte
	for _, in := range insns {
		code = append(code, byte(in.op))
		switch {
		case in.op == JMP || in.op == CJMP || in.op == ITERJMP:
			code = addUint32(code, pcs[in.arg], 4)
		case in.op >= OpcodeArgMin:
			code = addUint32(code, in.arg, 0)
		}
	}
	return code
}

// syntheticFuncode gives hand-made or random code a plausible environment.
func syntheticFuncode(code []byte, maxStack int) *Funcode {
	prog := &Program{
		Names:   []string{"append", "get", "update"},
		Globals: []Binding{{Name: "g0"}, {Name: "g1"}, {Name: "g2"}},
	}
	return &Funcode{
		Prog:     prog,
		Name:     "synthetic",
		Code:     code,
		Locals:   []Binding{{Name: "l0"}, {Name: "l1"}, {Name: "l2"}, {Name: "l3"}},
		FreeVars: []Binding{{Name: "f0"}, {Name: "f1"}},
		MaxStack: maxStack,
	}
}

// checkInvariants asserts what the interpreter relies on for any code
// whatsoever: no panic, answers only at branch opcodes, every index in range,
// sorted unique sets, and conservative answers when the analysis gave up.
func checkInvariants(t *testing.T, fn *Funcode) {
	t.Helper()
	tbl := fn.ifcTable()
	sortedIn := func(what string, xs []uint32, limit int) {
		for i, x := range xs {
			if int(x) >= limit || (i > 0 && xs[i-1] >= x) {
				t.Fatalf("code %x: %s = %v not sorted, unique and below %d", fn.Code, what, xs, limit)
			}
		}
	}
	for pc := uint32(0); pc <= uint32(len(fn.Code))+2; pc++ {
		b := fn.Branch(pc)
		if b == nil {
			continue
		}
		if b.PC != pc || int(pc) >= len(fn.Code) {
			t.Fatalf("code %x: Branch(%d).PC = %d", fn.Code, pc, b.PC)
		}
		if op := Opcode(fn.Code[pc]); op != CJMP && op != ITERJMP {
			t.Fatalf("code %x: Branch(%d) answered for %s", fn.Code, pc, op)
		}
		if b.IPDom != ExitPC && int(b.IPDom) >= len(fn.Code) {
			t.Fatalf("code %x: Branch(%d).IPDom = %d", fn.Code, pc, b.IPDom)
		}
		if b.Floor < 0 || b.Floor > fn.MaxStack {
			t.Fatalf("code %x: Branch(%d).Floor = %d, MaxStack %d", fn.Code, pc, b.Floor, fn.MaxStack)
		}
		sortedIn("Locals", b.Locals, len(fn.Locals))
		sortedIn("Globals", b.Globals, len(fn.Prog.Globals))
		sortedIn("MutLocals", b.MutLocals, len(fn.Locals))
		sortedIn("MutGlobals", b.MutGlobals, len(fn.Prog.Globals))
		sortedIn("MutFree", b.MutFree, len(fn.FreeVars))
		for i, x := range b.Accs {
			if x < 0 || x >= fn.MaxStack || (i > 0 && b.Accs[i-1] >= x) {
				t.Fatalf("code %x: Accs = %v", fn.Code, b.Accs)
			}
		}
		if tbl.inexact != nil {
			if b.IPDom != ExitPC || b.Floor != 0 || len(b.Accs)+len(b.MutLocals)+len(b.MutGlobals)+len(b.MutFree) != 0 {
				t.Fatalf("code %x: inexact (%v) but Branch(%d) = %+v", fn.Code, tbl.inexact, pc, *b)
			}
		}
	}
	if fn.Branch(ExitPC) != nil {
		t.Fatalf("code %x: Branch(ExitPC) != nil", fn.Code)
	}
}

func TestBranchConservative(t *testing.T) {
	const (
		l0, l1, l2 = 0, 1, 2
	)
	for _, test := range []struct {
		name     string
		code     []byte
		maxStack int
		reason   string // substring of the explanation
		locals   []uint32
		globals  []uint32
		branches []uint32 // pcs answered
	}{
		{
			name: "stack depth differs at a merge",
			code: assemble(
				asmInsn{LOCAL, l0},
				asmInsn{CJMP, 5},
				asmInsn{TRUE, 0},
				asmInsn{TRUE, 0},
				asmInsn{SETLOCAL, l2},
				asmInsn{NONE, 0}, // reached with depth 0 and 1
				asmInsn{RETURN, 0},
			),
			maxStack: 2, reason: "operand stack depth", locals: []uint32{l2}, branches: []uint32{2},
		},
		{
			name: "a branch into a self-loop",
			code: assemble(
				asmInsn{LOCAL, l0},
				asmInsn{CJMP, 6},
				asmInsn{TRUE, 0},
				asmInsn{SETGLOBAL, 0},
				asmInsn{NONE, 0},
				asmInsn{RETURN, 0},
				asmInsn{JMP, 6},
			),
			maxStack: 1, reason: "no path", globals: []uint32{0}, branches: []uint32{2},
		},
		{
			name: "infinite loop",
			code: assemble(
				asmInsn{LOCAL, l0},
				asmInsn{CJMP, 5},
				asmInsn{TRUE, 0},
				asmInsn{SETLOCAL, l1},
				asmInsn{JMP, 0},
				asmInsn{JMP, 5},
			),
			maxStack: 1, reason: "no path", locals: []uint32{l1}, branches: []uint32{2},
		},
		{
			name: "runs off the end",
			code: assemble(
				asmInsn{LOCAL, l0},
				asmInsn{CJMP, 2},
				asmInsn{NONE, 0},
			),
			maxStack: 1, reason: "past the end", branches: []uint32{2},
		},
		{
			name:     "DUP on an empty stack",
			code:     assemble(asmInsn{DUP, 0}, asmInsn{CJMP, 2}, asmInsn{NONE, 0}, asmInsn{RETURN, 0}),
			maxStack: 2, reason: "underflows", branches: []uint32{1},
		},
		{
			name:     "MaxStack too small",
			code:     assemble(asmInsn{LOCAL, 0}, asmInsn{LOCAL, 0}, asmInsn{CJMP, 3}, asmInsn{RETURN, 0}),
			maxStack: 1, reason: "MaxStack", branches: []uint32{4},
		},
		{
			name:     "truncated operand",
			code:     []byte{byte(LOCAL), 0, byte(CJMP), 7, byte(NOP), byte(NOP), byte(NOP), byte(CONSTANT), 0x80},
			maxStack: 1, reason: "past the end", locals: []uint32{0, 1, 2, 3}, globals: []uint32{0, 1, 2}, branches: []uint32{2},
		},
		{
			name: "jump into the middle of an instruction",
			// CJMP 8 lands on the operand byte of the CONSTANT at 7, which is itself a CJMP opcode.
			code:     []byte{byte(LOCAL), 0, byte(CJMP), 8, byte(NOP), byte(NOP), byte(NOP), byte(CONSTANT), byte(CJMP), byte(RETURN)},
			maxStack: 1, reason: "inside an instruction", locals: []uint32{0, 1, 2, 3}, globals: []uint32{0, 1, 2}, branches: []uint32{2, 8},
		},
		{
			name:     "invalid opcode",
			code:     []byte{byte(LOCAL), 0, byte(CJMP), 7, byte(NOP), byte(NOP), byte(NOP), 200},
			maxStack: 1, reason: "invalid opcode", locals: []uint32{0, 1, 2, 3}, globals: []uint32{0, 1, 2}, branches: []uint32{2},
		},
		{
			name:     "local index out of range",
			code:     assemble(asmInsn{LOCAL, 9}, asmInsn{CJMP, 2}, asmInsn{NONE, 0}, asmInsn{RETURN, 0}),
			maxStack: 1, reason: "out of range", locals: []uint32{0, 1, 2, 3}, globals: []uint32{0, 1, 2}, branches: []uint32{2},
		},
		{
			name:     "empty code",
			code:     nil,
			maxStack: 0, reason: "empty", locals: []uint32{0, 1, 2, 3}, globals: []uint32{0, 1, 2},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			fn := syntheticFuncode(test.code, test.maxStack)
			checkInvariants(t, fn)
			tbl := fn.ifcTable()
			if tbl.inexact == nil || !strings.Contains(tbl.inexact.Error(), test.reason) {
				t.Fatalf("reason %v, want one mentioning %q", tbl.inexact, test.reason)
			}
			var pcs []uint32
			for _, b := range tbl.branches {
				pcs = append(pcs, b.PC)
				if !slices.Equal(b.Locals, test.locals) || !slices.Equal(b.Globals, test.globals) {
					t.Errorf("pc %d: Locals %v Globals %v, want %v %v", b.PC, b.Locals, b.Globals, test.locals, test.globals)
				}
			}
			if !slices.Equal(pcs, test.branches) {
				t.Errorf("branches at %v, want %v", pcs, test.branches)
			}
		})
	}
}

// TestBranchAssembledExact checks that the assembler and synthetic
// environment are themselves sound, so that the conservative cases above
// fail for the reason they state.
func TestBranchAssembledExact(t *testing.T) {
	fn := syntheticFuncode(assemble(
		asmInsn{LOCAL, 0},  // 0
		asmInsn{CJMP, 5},   // 2
		asmInsn{GLOBAL, 1}, // 7
		asmInsn{ATTR, 2},   // 9: .update
		asmInsn{POP, 0},    // 11
		asmInsn{NONE, 0},   // 12
		asmInsn{RETURN, 0}, // 13
	), 1)
	checkInvariants(t, fn)
	if tbl := fn.ifcTable(); tbl.inexact != nil {
		t.Fatal(tbl.inexact)
	}
	b := fn.Branch(2)
	if b == nil || b.IPDom != 12 || !slices.Equal(b.MutGlobals, []uint32{1}) {
		t.Fatalf("Branch(2) = %+v, want IPDom 12 and MutGlobals [1]", b)
	}
}

// TestBranchFloorCountsPops checks that Floor counts the slots an
// instruction pops before it pushes its result: here PLUS overwrites slot 0
// with a value that exists only on one path, so slot 0 must be joined.
func TestBranchFloorCountsPops(t *testing.T) {
	fn := syntheticFuncode(assemble(
		asmInsn{LOCAL, 0},  // 0
		asmInsn{LOCAL, 1},  // 2
		asmInsn{LOCAL, 2},  // 4
		asmInsn{CJMP, 6},   // 6
		asmInsn{PLUS, 0},   // 11: depth 2 -> 0 -> 1
		asmInsn{JMP, 7},    // 12
		asmInsn{POP, 0},    // 17: depth 2 -> 1
		asmInsn{RETURN, 0}, // 18
	), 3)
	checkInvariants(t, fn)
	b := fn.Branch(6)
	if b == nil || b.IPDom != 18 || b.Floor != 0 {
		t.Fatalf("Branch(6) = %+v, want IPDom 18, Floor 0", b)
	}
}

// TestBranchCorruptedCode runs the analysis on many corruptions of real
// bytecode and on random bytes.
func TestBranchCorruptedCode(t *testing.T) {
	fns, _, _ := corpus(t)
	rng := rand.New(rand.NewSource(1))
	var exact, inexact int
	run := func(code []byte, maxStack int, src *Funcode) {
		fn := syntheticFuncode(code, maxStack)
		if src != nil {
			fn.Prog, fn.Locals, fn.FreeVars = src.Prog, src.Locals, src.FreeVars
		}
		checkInvariants(t, fn)
		if fn.ifcTable().inexact != nil {
			inexact++
		} else {
			exact++
		}
	}
	for i, fn := range fns {
		if i%3 != 0 {
			continue
		}
		for range 8 {
			code := slices.Clone(fn.Code)
			switch rng.Intn(4) {
			case 0:
				code[rng.Intn(len(code))] = byte(rng.Intn(256))
			case 1:
				code[rng.Intn(len(code))] = byte(rng.Intn(int(OpcodeMax) + 1))
			case 2:
				code = code[:rng.Intn(len(code))]
			case 3:
				j := rng.Intn(len(code))
				code = slices.Insert(code, j, byte(rng.Intn(int(OpcodeMax)+1)))
			}
			run(code, max(0, fn.MaxStack+rng.Intn(2)-rng.Intn(2)), fn)
		}
	}
	for range 2000 {
		code := make([]byte, rng.Intn(40))
		for j := range code {
			code[j] = byte(rng.Intn(int(OpcodeMax) + 8))
		}
		run(code, rng.Intn(6), nil)
	}
	if exact == 0 || inexact == 0 {
		t.Errorf("corruptions: %d analysed exactly, %d conservatively; want some of each", exact, inexact)
	}
	t.Logf("corruptions: %d analysed exactly, %d conservatively", exact, inexact)
}

func FuzzBranchAnalysis(f *testing.F) {
	for _, src := range []string{
		"def f(s):\n    if s:\n        x = 1\n    return x\n",
		"def f(l, out):\n    for x in l:\n        if x:\n            break\n        out.append(x)\n",
		"def f(n):\n    while n > 0:\n        n -= 1\n        if n == 3:\n            continue\n    return [y for y in n if y]\n",
		"def f(a, b):\n    return a or b, a and b, 1 if a else 2\n",
	} {
		prog, err := compileSource("seed.star", src)
		if err != nil {
			f.Fatal(err)
		}
		for _, fn := range funcodes(prog) {
			f.Add(fn.Code, uint8(fn.MaxStack))
		}
	}
	f.Add([]byte{byte(CJMP), 0x80, 0x80}, uint8(1))
	f.Add([]byte{byte(ITERJMP), 0, byte(NOP), byte(NOP), byte(NOP), byte(RETURN)}, uint8(1))
	f.Fuzz(func(t *testing.T, code []byte, maxStack uint8) {
		checkInvariants(t, syntheticFuncode(code, int(maxStack)))
	})
}

// TestPopsMatchStackPictures ties ifcPops to the compiler's stack effects:
// every opcode must push a non-negative number of values, the number its
// stack picture in compile.go shows.
func TestPopsMatchStackPictures(t *testing.T) {
	for op := Opcode(0); op <= OpcodeMax; op++ {
		for _, arg := range []uint32{0, 1, 3, 0x102} {
			if op < OpcodeArgMin && arg != 0 {
				continue
			}
			pushes := ifcPops(op, arg) + (&insn{op: op, arg: arg}).stackeffect()
			if want := refPushes(op, arg); pushes != want {
				t.Errorf("%s<%d>: pops %d + effect = %d pushes, want %d", op, arg, ifcPops(op, arg), pushes, want)
			}
		}
	}
}

// TestBranchConcurrent calls Branch on a fresh Funcode from several
// goroutines; run with -race it checks the lazy initialisation.
func TestBranchConcurrent(t *testing.T) {
	prog := mustCompile(t, "def f(s):\n    if s:\n        x = 1\n    return x\n")
	fn := prog.Functions[0]
	var wg sync.WaitGroup
	results := make([]*Branch, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = fn.Branch(2)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r == nil || r != results[0] {
			t.Fatalf("concurrent Branch(2) answers differ or are nil: %v", results)
		}
	}
}

// BenchmarkBranchAnalysis measures the whole analysis (decoding included)
// of every function in the corpus, bypassing the per-Funcode cache.
func BenchmarkBranchAnalysis(b *testing.B) {
	fns, _, _ := corpus(b)
	var nbranch int
	for _, fn := range fns {
		nbranch += len(analyzeBranches(fn).branches)
	}
	for b.Loop() {
		for _, fn := range fns {
			analyzeBranches(fn)
		}
	}
	// After the loop: ResetTimer and b.Loop discard earlier metrics.
	b.ReportMetric(float64(len(fns)), "funcs")
	b.ReportMetric(float64(nbranch), "branches")
}

// BenchmarkBranchLookup measures Funcode.Branch once the table is built.
func BenchmarkBranchLookup(b *testing.B) {
	prog := mustCompile(b, "def f(l, out):\n    for x in l:\n        if x:\n            break\n        out.append(x)\n")
	fn := prog.Functions[0]
	var pcs []uint32
	for _, in := range refDecode(fn.Code) {
		if in.op == CJMP || in.op == ITERJMP {
			pcs = append(pcs, in.pc)
		}
	}
	for b.Loop() {
		for _, pc := range pcs {
			if fn.Branch(pc) == nil {
				b.Fatal("nil")
			}
		}
	}
}

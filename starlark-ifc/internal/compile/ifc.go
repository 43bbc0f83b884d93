// This file is an Aegis addition to the fork: the control-flow analysis that
// lets the interpreter track implicit flows.
//
// When a frame branches on a labelled value (CJMP, or ITERJMP over a labelled
// iterable), everything that happens until the paths merge again depends on
// that value: which variables get assigned, which containers get mutated,
// which value a short-circuit expression leaves on the stack. The interpreter
// raises the frame's pc label at the branch and must lower it exactly where
// every path from the branch has merged, that is, at the branch's immediate
// post-dominator. It also needs, before it runs the branch, the set of
// variables the not-taken path could have written, so that those variables
// are raised too ("the assignment that did not happen" leak).
//
// The compiler discards its block graph once it has emitted Funcode.Code, and
// compiled programs are serialised without one, so the graph is recovered
// here from the bytes alone, lazily and once per Funcode (like the line
// table), which keeps the compiler, serial.go and compile.Version untouched
// and costs unlabelled programs nothing:
//
//  1. decode the instructions exactly as the interpreter does (the NOP
//     padding after CJMP, ITERJMP and back-edge JMP decodes as real NOPs);
//  2. cut basic blocks at 0, at jump targets and after JMP, CJMP, ITERJMP and
//     RETURN, and link them (RETURN leads to a virtual EXIT);
//  3. recompute the operand-stack depth at each block with the compiler's own
//     stack effects (the ITERJMP fall-through pushes the element), and track
//     which variable pushed each stack slot;
//  4. compute immediate post-dominators with the Cooper-Harvey-Kennedy
//     algorithm on the reverse graph, rooted at EXIT;
//  5. for each branch, walk its region (what is reachable from its
//     successors without passing its post-dominator) and summarise it.
//
// Every traversal uses explicit stacks, so deeply nested programs cannot
// exhaust the Go stack. Code that the compiler could not have produced
// (truncated or invalid instructions, jumps into the middle of an
// instruction, inconsistent stack depths, a block with no path to a RETURN)
// never makes the analysis panic: every branch of such a function is then
// described conservatively (see conservativeBranches).

package compile

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// ExitPC is the IPDom of a branch whose region extends to the end of the function (early return).
const ExitPC = ^uint32(0)

// Branch describes the implicit-flow region of one conditional jump (CJMP or ITERJMP).
//
// A *Branch returned by Funcode.Branch is shared by every caller and thread:
// it and its slices must not be modified.
type Branch struct {
	PC    uint32 // address of the CJMP/ITERJMP instruction
	IPDom uint32 // address of the first instruction of its immediate post-dominator block, or ExitPC
	// Floor is the minimum operand-stack depth reached anywhere inside the region, counting the depth
	// right after the branch instruction pops its operand (CJMP) / before it pushes the element
	// (ITERJMP). When the region closes at IPDom, the interpreter joins the region's pc label into every
	// operand-stack slot in [Floor, sp): those slots may hold values that differ by path (`x or y`,
	// `a if c else b`).
	Floor   int
	Locals  []uint32 // SETLOCAL / SETLOCALCELL targets inside the region (sorted, unique)
	Globals []uint32 // SETGLOBAL targets inside the region
	Accs    []int    // operand-stack indices of comprehension accumulators written by APPEND/SETDICT in the region
	// (only those below Floor: an accumulator the region itself creates does not exist at the branch)
	// Containers the region visibly mutates through a variable, found by tracking, within a basic block,
	// which instruction pushed each stack slot: the receiver of ATTR <mutator> (append, extend, insert,
	// pop, remove, clear, update, setdefault, popitem, add, discard, difference_update,
	// intersection_update, symmetric_difference_update), the container operand of SETINDEX, and the left
	// operand of INPLACE_ADD / INPLACE_PIPE, when that slot was pushed by LOCAL/LOCALCELL i (MutLocals),
	// GLOBAL i (MutGlobals) or FREECELL i (MutFree). Anything else is not listed (the interpreter then
	// falls back to no-sensitive-upgrade, which is safe).
	//
	// The tracking also crosses block boundaries when every path into a block agrees on who pushed
	// a slot, so `d[a if c else b] = v` still names d.
	MutLocals  []uint32
	MutGlobals []uint32
	MutFree    []uint32
}

// Branch returns the analysis of the CJMP/ITERJMP at pc, or nil if pc is not such an instruction.
// The table is computed lazily, once per Funcode (sync.Once, like lntOnce), with no change to the
// compiler, serial.go or compile.Version. It must never panic on any compiled program.
//
// If Code is not something the compiler could have produced, every branch is conservative:
// IPDom = ExitPC, Floor = 0, Locals and Globals list every variable the function writes anywhere
// (every variable it has, if the code cannot even be decoded), and Accs and the Mut sets are
// empty. In that case any CJMP or ITERJMP byte is answered, since the interpreter might reach it.
func (fn *Funcode) Branch(pc uint32) *Branch {
	t := fn.ifcTable().branches
	// Binary search for the first entry with PC >= pc; written out, like
	// Position, to keep the per-branch cost free of closures.
	i, j := 0, len(t)
	for i < j {
		h := int(uint(i+j) >> 1)
		if t[h].PC < pc {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(t) && t[i].PC == pc {
		return &t[i]
	}
	return nil
}

// ifcState is the lazily computed branch table of one Funcode.
type ifcState struct {
	once  sync.Once
	table ifcTable
}

// ifcTable is the result of the analysis of one Funcode.
type ifcTable struct {
	branches []Branch // sorted by PC
	// inexact explains why the branches are conservative; it is nil when the
	// analysis succeeded. Kept for tests and debugging.
	inexact error
}

func (fn *Funcode) ifcTable() *ifcTable {
	s := &fn.ifc
	s.once.Do(func() { s.table = analyzeBranches(fn) })
	return &s.table
}

// analyzeBranches computes the branch table of fn. It never panics.
func analyzeBranches(fn *Funcode) ifcTable {
	a := &ifcAnalysis{fn: fn}
	if err := a.decode(); err != nil {
		return ifcTable{branches: conservativeBranches(fn, nil), inexact: err}
	}
	if err := a.run(); err != nil {
		return ifcTable{branches: conservativeBranches(fn, a.insns), inexact: err}
	}
	return ifcTable{branches: a.branches}
}

// conservativeBranches describes every branch as if its region were the rest
// of the function. insns is the decoded code, or nil if it could not be
// decoded; then the interpreter's view of the code is unknown, so every
// CJMP/ITERJMP byte is treated as a branch and every variable as written.
//
// Accs and the Mut sets stay empty: stack indices and slot provenance are not
// trustworthy once the depth analysis has failed, and an empty Mut set only
// sends the interpreter to no-sensitive-upgrade. With IPDom = ExitPC the
// frame runs at the raised pc until it returns.
func conservativeBranches(fn *Funcode, insns []ifcInsn) []Branch {
	var locals, globals []uint32
	var pcs []uint32
	if insns == nil {
		for i := range fn.Locals {
			locals = append(locals, uint32(i))
		}
		if fn.Prog != nil {
			for i := range fn.Prog.Globals {
				globals = append(globals, uint32(i))
			}
		}
		for pc, b := range fn.Code {
			if op := Opcode(b); op == CJMP || op == ITERJMP {
				pcs = append(pcs, uint32(pc))
			}
		}
	} else {
		for _, in := range insns {
			switch in.op {
			case SETLOCAL, SETLOCALCELL:
				locals = append(locals, in.arg)
			case SETGLOBAL:
				globals = append(globals, in.arg)
			case CJMP, ITERJMP:
				pcs = append(pcs, in.pc)
			}
		}
		slices.Sort(locals)
		locals = slices.Compact(locals)
		slices.Sort(globals)
		globals = slices.Compact(globals)
	}
	locals = locals[:len(locals):len(locals)]
	globals = globals[:len(globals):len(globals)]
	out := make([]Branch, len(pcs))
	for i, pc := range pcs {
		out[i] = Branch{PC: pc, IPDom: ExitPC, Locals: locals, Globals: globals}
	}
	return out
}

// ifcInsn is one decoded instruction.
type ifcInsn struct {
	pc     uint32 // address of the opcode
	arg    uint32
	target int32 // for JMP, CJMP, ITERJMP: index of the target instruction
	// pops and effect are ifcPops and the compiler's stack effect, computed
	// once because every pass needs them.
	pops, effect int32
	op           Opcode
}

// ifcBlock is a basic block of decoded instructions.
type ifcBlock struct {
	first, end int32    // insns[first:end]
	succ       [2]int32 // -1 if absent; for CJMP/ITERJMP, [jump target, fall-through]
	depth      int32    // operand-stack depth on entry, -1 until known
	low        int32    // lowest depth reached inside the block
	eff        [2]int32 // effects[eff[0]:eff[1]]
	reached    bool     // reachable from the entry
	offEnd     bool     // falls through past the end of Code
}

// ifcEffect is something a block does that a branch region must report.
type ifcEffect struct {
	kind ifcEffectKind
	idx  uint32
}

type ifcEffectKind uint8

const (
	effLocal     ifcEffectKind = iota // SETLOCAL, SETLOCALCELL
	effGlobal                         // SETGLOBAL
	effAcc                            // APPEND/SETDICT into the accumulator at stack index idx
	effMutLocal                       // mutation of the container in local idx
	effMutGlobal                      // ... in global idx
	effMutFree                        // ... in free variable idx
	numEffectKinds
)

// ifcProv records which variable pushed an operand-stack slot.
type ifcProv struct {
	kind uint8 // provUnknown, provLocal, provGlobal, provFree
	idx  uint32
}

const (
	provUnknown = iota
	provLocal
	provGlobal
	provFree
)

// ifcAnalysis holds the working state of the analysis of one Funcode.
type ifcAnalysis struct {
	fn      *Funcode
	insns   []ifcInsn
	blocks  []ifcBlock
	blockOf []int32 // instruction index -> block index
	effects []ifcEffect
	ipdom   []int32 // block index (or exit = len(blocks)) -> ipdom block, or exit
	// maxDepth is the deepest operand stack seen; tables indexed by stack
	// slot are sized by it rather than by MaxStack, which a corrupt
	// compiled file could make huge.
	maxDepth int

	branches []Branch
}

// decode splits Code into instructions, as the interpreter's fetch loop does,
// and checks every operand the analysis or the interpreter will use as an index.
func (a *ifcAnalysis) decode() error {
	fn := a.fn
	code := fn.Code
	if len(code) == 0 {
		return fmt.Errorf("empty code")
	}
	if fn.MaxStack < 0 {
		return fmt.Errorf("negative MaxStack %d", fn.MaxStack)
	}
	if uint64(len(code)) >= uint64(ExitPC) {
		return fmt.Errorf("code too long (%d bytes)", len(code))
	}
	var nnames, nglobals int
	if fn.Prog != nil {
		nnames, nglobals = len(fn.Prog.Names), len(fn.Prog.Globals)
	}
	insns := make([]ifcInsn, 0, len(code)/2)
	for pc := 0; pc < len(code); {
		op := Opcode(code[pc])
		if op > OpcodeMax {
			return fmt.Errorf("pc %d: invalid opcode %d", pc, op)
		}
		next := pc + 1
		var arg uint32
		if op >= OpcodeArgMin {
			for s := uint(0); ; s += 7 {
				if next >= len(code) {
					return fmt.Errorf("pc %d: %s operand runs past the end of the code", pc, op)
				}
				b := code[next]
				next++
				arg |= uint32(b&0x7f) << s
				if b < 0x80 {
					break
				}
			}
		}
		var limit int // operands that index a table must be below limit
		switch op {
		case JMP, CJMP, ITERJMP:
			limit = len(code)
		case LOCAL, LOCALCELL, SETLOCAL, SETLOCALCELL:
			limit = len(fn.Locals)
		case FREE, FREECELL:
			limit = len(fn.FreeVars)
		case GLOBAL, SETGLOBAL:
			limit = nglobals
		case ATTR:
			limit = nnames
		case MAKETUPLE, MAKELIST, UNPACK, LOAD:
			// Counts of stack slots: bounded by MaxStack, which also keeps
			// the stack arithmetic below far from overflow.
			limit = fn.MaxStack + 1
		default:
			limit = -1
		}
		if limit >= 0 && uint64(arg) >= uint64(limit) {
			return fmt.Errorf("pc %d: %s operand %d out of range", pc, op, arg)
		}
		insns = append(insns, ifcInsn{
			pc:     uint32(pc),
			arg:    arg,
			op:     op,
			target: -1,
			pops:   int32(ifcPops(op, arg)),
			effect: int32((&insn{op: op, arg: arg}).stackeffect()),
		})
		pc = next
	}
	for i := range insns {
		in := &insns[i]
		switch in.op {
		case JMP, CJMP, ITERJMP:
			t, ok := slices.BinarySearchFunc(insns, in.arg, func(x ifcInsn, pc uint32) int {
				return cmp.Compare(x.pc, pc)
			})
			if !ok {
				return fmt.Errorf("pc %d: %s target %d is inside an instruction", in.pc, in.op, in.arg)
			}
			in.target = int32(t)
		}
	}
	a.insns = insns
	return nil
}

// run builds the blocks and the branch table from the decoded instructions.
func (a *ifcAnalysis) run() error {
	a.buildBlocks()
	a.markReachable()
	if err := a.computeDepths(); err != nil {
		return err
	}
	a.computeEffects()
	if err := a.postDominators(); err != nil {
		return err
	}
	a.summarizeRegions()
	return nil
}

func (a *ifcAnalysis) buildBlocks() {
	insns := a.insns
	leader := make([]bool, len(insns))
	leader[0] = true
	for i, in := range insns {
		switch in.op {
		case JMP, CJMP, ITERJMP:
			leader[in.target] = true
			if i+1 < len(insns) {
				leader[i+1] = true
			}
		case RETURN:
			if i+1 < len(insns) {
				leader[i+1] = true
			}
		}
	}
	a.blockOf = make([]int32, len(insns))
	for i := range insns {
		if leader[i] {
			if n := len(a.blocks); n > 0 {
				a.blocks[n-1].end = int32(i)
			}
			a.blocks = append(a.blocks, ifcBlock{first: int32(i), depth: -1})
		}
		a.blockOf[i] = int32(len(a.blocks) - 1)
	}
	a.blocks[len(a.blocks)-1].end = int32(len(insns))

	exit := int32(len(a.blocks))
	for bi := range a.blocks {
		b := &a.blocks[bi]
		b.succ = [2]int32{-1, -1}
		fall := int32(bi + 1)
		if fall == exit {
			fall = -1
		}
		last := insns[b.end-1]
		switch last.op {
		case JMP:
			b.succ[0] = a.blockOf[last.target]
		case CJMP, ITERJMP:
			b.succ[0] = a.blockOf[last.target]
			b.succ[1] = fall
			b.offEnd = fall < 0
		case RETURN:
			b.succ[0] = exit
		default:
			b.succ[0] = fall
			b.offEnd = fall < 0
		}
	}
}

func (a *ifcAnalysis) markReachable() {
	stack := []int32{0}
	a.blocks[0].reached = true
	exit := int32(len(a.blocks))
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range a.blocks[b].succ {
			if s >= 0 && s != exit && !a.blocks[s].reached {
				a.blocks[s].reached = true
				stack = append(stack, s)
			}
		}
	}
}

// ifcPops returns how many operands op consumes. Together with the
// compiler's stack effect it gives the lowest depth an instruction reaches:
// CALL pops the callee and its arguments before it pushes the result.
func ifcPops(op Opcode, arg uint32) int {
	switch op {
	case POP, UPLUS, UMINUS, TILDE, NOT, ITERPUSH, RETURN, CJMP, MAKEFUNC,
		SETLOCAL, SETGLOBAL, SETLOCALCELL, ATTR, UNPACK:
		return 1
	case EXCH, INDEX, APPEND, INPLACE_ADD, INPLACE_PIPE, SETFIELD:
		return 2
	case SETINDEX, SETDICT, SETDICTUNIQ:
		return 3
	case SLICE:
		return 4
	case MAKETUPLE, MAKELIST:
		return int(arg)
	case LOAD:
		return int(arg) + 1
	case CALL, CALL_VAR, CALL_KW, CALL_VAR_KW:
		n := 1 + int(arg>>8) + 2*int(arg&0xff)
		if op == CALL_VAR || op == CALL_VAR_KW {
			n++
		}
		if op == CALL_KW || op == CALL_VAR_KW {
			n++
		}
		return n
	}
	if op >= LT && op <= IN { // comparisons, binary arithmetic, IN
		return 2
	}
	return 0 // NOP, DUP, DUP2, pushes of constants and variables, ITERPOP, MAKEDICT, jumps
}

// computeDepths recomputes the operand-stack depth at the entry of every
// reachable block, as the compiler's setinitialstack did, and the lowest
// depth reached within each block.
func (a *ifcAnalysis) computeDepths() error {
	maxStack := a.fn.MaxStack
	exit := int32(len(a.blocks))
	for bi := range a.blocks {
		if b := &a.blocks[bi]; b.reached && b.offEnd {
			return fmt.Errorf("pc %d: execution runs past the end of the code", a.insns[b.end-1].pc)
		}
	}
	a.blocks[0].depth = 0
	work := []int32{0}
	for len(work) > 0 {
		bi := work[len(work)-1]
		work = work[:len(work)-1]
		b := &a.blocks[bi]
		d := int(b.depth)
		low := d
		for i := b.first; i < b.end; i++ {
			in := &a.insns[i]
			pops := int(in.pops)
			reads := pops
			switch in.op {
			case DUP:
				reads = 1
			case DUP2:
				reads = 2
			}
			if d-reads < 0 {
				return fmt.Errorf("pc %d: %s underflows the operand stack", in.pc, in.op)
			}
			low = min(low, d-pops)
			d += int(in.effect)
			if d > maxStack {
				return fmt.Errorf("pc %d: operand stack exceeds MaxStack %d", in.pc, maxStack)
			}
			a.maxDepth = max(a.maxDepth, d)
		}
		b.low = int32(low)
		last := a.insns[b.end-1].op
		for k, s := range b.succ {
			if s < 0 || s == exit {
				continue
			}
			sd := d
			if last == ITERJMP && k == 1 {
				sd++ // the next element
				if sd > maxStack {
					return fmt.Errorf("pc %d: operand stack exceeds MaxStack %d", a.insns[b.end-1].pc, maxStack)
				}
				a.maxDepth = max(a.maxDepth, sd)
			}
			sb := &a.blocks[s]
			if sb.depth < 0 {
				sb.depth = int32(sd)
				work = append(work, s)
			} else if int(sb.depth) != sd {
				return fmt.Errorf("pc %d: operand stack depth %d on one path, %d on another",
					a.insns[sb.first].pc, sb.depth, sd)
			}
		}
	}
	return nil
}

// isMutator reports whether a method of that name mutates its receiver in
// one of the built-in container types.
func isMutator(name string) bool {
	switch name {
	case "append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
		"popitem", "add", "discard", "difference_update", "intersection_update",
		"symmetric_difference_update":
		return true
	}
	return false
}

// simulate runs block b on a stack of slot provenances that holds its entry
// state, and returns the stack at its end (before the ITERJMP element). If
// record is set, it appends the block's effects to a.effects.
func (a *ifcAnalysis) simulate(b *ifcBlock, stack []ifcProv, record bool) []ifcProv {
	emit := func(kind ifcEffectKind, idx uint32) {
		if record {
			a.effects = append(a.effects, ifcEffect{kind, idx})
		}
	}
	mutation := func(p ifcProv) {
		switch p.kind {
		case provLocal:
			emit(effMutLocal, p.idx)
		case provGlobal:
			emit(effMutGlobal, p.idx)
		case provFree:
			emit(effMutFree, p.idx)
		}
	}
	for i := b.first; i < b.end; i++ {
		in := &a.insns[i]
		d := len(stack) // computeDepths guarantees that every pop below is in range
		switch in.op {
		case SETLOCAL, SETLOCALCELL:
			emit(effLocal, in.arg)
		case SETGLOBAL:
			emit(effGlobal, in.arg)
		case APPEND: // acc acc' elem APPEND: acc' is a DUP of the accumulator below it
			if d >= 3 {
				emit(effAcc, uint32(d-3))
			}
		case SETDICT: // acc acc' key value SETDICT
			if d >= 4 {
				emit(effAcc, uint32(d-4))
			}
		case ATTR:
			if isMutator(a.fn.Prog.Names[in.arg]) {
				mutation(stack[d-1])
			}
		case SETINDEX: // container index value SETINDEX
			mutation(stack[d-3])
		case INPLACE_ADD, INPLACE_PIPE: // x y INPLACE_ADD: x may be extended in place
			mutation(stack[d-2])
		}
		switch in.op {
		case LOCAL, LOCALCELL:
			stack = append(stack, ifcProv{provLocal, in.arg})
		case GLOBAL:
			stack = append(stack, ifcProv{provGlobal, in.arg})
		case FREECELL:
			stack = append(stack, ifcProv{provFree, in.arg})
		case DUP:
			stack = append(stack, stack[d-1])
		case DUP2:
			stack = append(stack, stack[d-2], stack[d-1])
		case EXCH:
			stack[d-2], stack[d-1] = stack[d-1], stack[d-2]
		default:
			pops := int(in.pops)
			pushes := pops + int(in.effect)
			stack = stack[:d-pops]
			for range pushes {
				stack = append(stack, ifcProv{})
			}
		}
	}
	return stack
}

// computeEffects finds, for every reachable block, the variables it writes,
// the accumulators it appends to and the variables whose containers it
// mutates. Slot provenance flows across blocks: a slot keeps its provenance
// at a merge only if every incoming path agrees on it.
func (a *ifcAnalysis) computeEffects() {
	exit := int32(len(a.blocks))
	// Entry provenance of each block, in one backing array.
	entryAt := make([]int, len(a.blocks))
	total := 0
	for bi, b := range a.blocks {
		entryAt[bi] = total
		if b.reached {
			total += int(b.depth)
		}
	}
	entries := make([]ifcProv, total)
	seen := make([]bool, len(a.blocks))
	queued := make([]bool, len(a.blocks))
	seen[0], queued[0] = true, true
	work := []int32{0}
	scratch := make([]ifcProv, 0, a.maxDepth+1)
	for len(work) > 0 {
		bi := work[len(work)-1]
		work = work[:len(work)-1]
		queued[bi] = false
		b := &a.blocks[bi]
		in := entries[entryAt[bi] : entryAt[bi]+int(b.depth)]
		out := a.simulate(b, append(scratch[:0], in...), false)
		iterjmp := a.insns[b.end-1].op == ITERJMP
		for k, s := range b.succ {
			if s < 0 || s == exit {
				continue
			}
			if iterjmp && k == 1 {
				out = append(out, ifcProv{})
			}
			dst := entries[entryAt[s] : entryAt[s]+int(a.blocks[s].depth)]
			changed := false
			if !seen[s] {
				seen[s] = true
				copy(dst, out)
				changed = true
			} else {
				for j := range dst {
					if dst[j] != out[j] && dst[j].kind != provUnknown {
						dst[j] = ifcProv{}
						changed = true
					}
				}
			}
			if changed && !queued[s] {
				queued[s] = true
				work = append(work, s)
			}
		}
	}
	for bi := range a.blocks {
		b := &a.blocks[bi]
		b.eff[0] = int32(len(a.effects))
		if b.reached {
			in := entries[entryAt[bi] : entryAt[bi]+int(b.depth)]
			a.simulate(b, append(scratch[:0], in...), true)
		}
		b.eff[1] = int32(len(a.effects))
	}
}

// postDominators computes a.ipdom with Cooper, Harvey and Kennedy's
// "A Simple, Fast Dominance Algorithm" on the reverse graph, whose root is
// the virtual EXIT node.
func (a *ifcAnalysis) postDominators() error {
	nb := len(a.blocks)
	exit := int32(nb)
	n := nb + 1
	// Predecessor lists (the reverse graph's successors) in one array.
	predAt := make([]int32, n+1)
	for _, b := range a.blocks {
		if b.reached {
			for _, s := range b.succ {
				if s >= 0 {
					predAt[s+1]++
				}
			}
		}
	}
	for i := 1; i <= n; i++ {
		predAt[i] += predAt[i-1]
	}
	preds := make([]int32, predAt[n])
	fill := slices.Clone(predAt[:n])
	for bi, b := range a.blocks {
		if b.reached {
			for _, s := range b.succ {
				if s >= 0 {
					preds[fill[s]] = int32(bi)
					fill[s]++
				}
			}
		}
	}

	// Postorder of the reverse graph from EXIT.
	po := make([]int32, n)
	for i := range po {
		po[i] = -1
	}
	order := make([]int32, 0, n)
	visited := make([]bool, n)
	type frame struct{ node, next int32 }
	stack := []frame{{exit, predAt[exit]}}
	visited[exit] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < predAt[top.node+1] {
			p := preds[top.next]
			top.next++
			if !visited[p] {
				visited[p] = true
				stack = append(stack, frame{p, predAt[p]})
			}
			continue
		}
		po[top.node] = int32(len(order))
		order = append(order, top.node)
		stack = stack[:len(stack)-1]
	}
	for bi, b := range a.blocks {
		if b.reached && po[bi] < 0 {
			return fmt.Errorf("pc %d: no path from here to a return", a.insns[b.first].pc)
		}
	}

	ipdom := make([]int32, n)
	for i := range ipdom {
		ipdom[i] = -1
	}
	ipdom[exit] = exit
	intersect := func(x, y int32) int32 {
		for x != y {
			for po[x] < po[y] {
				x = ipdom[x]
			}
			for po[y] < po[x] {
				y = ipdom[y]
			}
		}
		return x
	}
	for changed := true; changed; {
		changed = false
		// Reverse postorder, skipping EXIT (the last node of the postorder).
		for i := len(order) - 2; i >= 0; i-- {
			b := order[i]
			nd := int32(-1)
			for _, s := range a.blocks[b].succ {
				if s < 0 || ipdom[s] < 0 {
					continue
				}
				if nd < 0 {
					nd = s
				} else {
					nd = intersect(s, nd)
				}
			}
			if ipdom[b] != nd {
				ipdom[b] = nd
				changed = true
			}
		}
	}
	a.ipdom = ipdom
	return nil
}

// summarizeRegions fills a.branches, in PC order.
func (a *ifcAnalysis) summarizeRegions() {
	fn := a.fn
	nb := len(a.blocks)
	exit := int32(nb)
	nglobals := 0
	if fn.Prog != nil {
		nglobals = len(fn.Prog.Globals)
	}
	// mark[kind][i] == stamp means i has already been collected for the
	// current branch; inRegion likewise for blocks.
	limits := [numEffectKinds]int{
		effLocal:     len(fn.Locals),
		effGlobal:    nglobals,
		effAcc:       a.maxDepth + 1,
		effMutLocal:  len(fn.Locals),
		effMutGlobal: nglobals,
		effMutFree:   len(fn.FreeVars),
	}
	var mark [numEffectKinds][]int32
	for k, n := range limits {
		mark[k] = make([]int32, n)
	}
	inRegion := make([]int32, nb)
	var (
		stamp int32
		walk  []int32
		sets  [numEffectKinds][]uint32
	)
	// All result slices are cut from two shared arrays once they are complete.
	type span struct{ lo, hi int }
	var (
		u32   []uint32
		ints  []int
		spans [][numEffectKinds]span
	)
	for bi := range a.blocks {
		b := &a.blocks[bi]
		last := &a.insns[b.end-1]
		if !b.reached || (last.op != CJMP && last.op != ITERJMP) {
			continue
		}
		stamp++
		pd := a.ipdom[bi]
		br := Branch{PC: last.pc, IPDom: ExitPC}
		if pd != exit {
			br.IPDom = a.insns[a.blocks[pd].first].pc
		}
		// Start from the depth after the branch's own pop (CJMP), or before
		// the element (ITERJMP), that is, the depth at the end of its block.
		floor := int(b.depth)
		for i := b.first; i < b.end; i++ {
			floor += int(a.insns[i].effect)
		}
		for k := range sets {
			sets[k] = sets[k][:0]
		}
		walk = walk[:0]
		for _, s := range b.succ {
			if s >= 0 && s != pd && s != exit && inRegion[s] != stamp {
				inRegion[s] = stamp
				walk = append(walk, s)
			}
		}
		for len(walk) > 0 {
			x := walk[len(walk)-1]
			walk = walk[:len(walk)-1]
			xb := &a.blocks[x]
			floor = min(floor, int(xb.low))
			for _, e := range a.effects[xb.eff[0]:xb.eff[1]] {
				if m := mark[e.kind]; int(e.idx) < len(m) && m[e.idx] != stamp {
					m[e.idx] = stamp
					sets[e.kind] = append(sets[e.kind], e.idx)
				}
			}
			for _, s := range xb.succ {
				if s >= 0 && s != pd && s != exit && inRegion[s] != stamp {
					inRegion[s] = stamp
					walk = append(walk, s)
				}
			}
		}
		br.Floor = floor
		// An accumulator at or above Floor does not exist yet when the
		// branch runs (the region builds it, under the raised pc), and the
		// slot holds a stale value the interpreter must not upgrade.
		sets[effAcc] = slices.DeleteFunc(sets[effAcc], func(x uint32) bool { return int(x) >= floor })
		var sp [numEffectKinds]span
		for k := range sets {
			slices.Sort(sets[k])
			if ifcEffectKind(k) == effAcc {
				sp[k] = span{len(ints), len(ints) + len(sets[k])}
				for _, x := range sets[k] {
					ints = append(ints, int(x))
				}
			} else {
				sp[k] = span{len(u32), len(u32) + len(sets[k])}
				u32 = append(u32, sets[k]...)
			}
		}
		spans = append(spans, sp)
		a.branches = append(a.branches, br)
	}
	cut := func(s span) []uint32 {
		if s.lo == s.hi {
			return nil
		}
		return u32[s.lo:s.hi:s.hi]
	}
	for i := range a.branches {
		br, sp := &a.branches[i], spans[i]
		br.Locals = cut(sp[effLocal])
		br.Globals = cut(sp[effGlobal])
		br.MutLocals = cut(sp[effMutLocal])
		br.MutGlobals = cut(sp[effMutGlobal])
		br.MutFree = cut(sp[effMutFree])
		if s := sp[effAcc]; s.lo != s.hi {
			br.Accs = ints[s.lo:s.hi:s.hi]
		}
	}
}

package starlark

// This file defines the bytecode interpreter.

import (
	"fmt"
	"os"
	"slices"
	"unsafe"

	"github.com/aegisdev/aegis/starlark-ifc/internal/compile"
	"github.com/aegisdev/aegis/starlark-ifc/internal/spell"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

const vmdebug = false // TODO(adonovan): use a bitfield of specific kinds of error.

// TODO(adonovan):
// - optimize position table.
// - opt: record MaxIterStack during compilation and preallocate the stack.

// IFC: the interpreter also runs the label monitor: a label beside every
// local and operand (llocals, lstack), the pc label pcl with its stack of
// implicit-flow regions, and the label rule of every opcode; the longer
// helpers are in ifc_interp.go. With no labelled data every label is Public.
// The loop itself is interpret, below: CallInternal is its prologue and
// epilogue.
func (fn *Function) CallInternal(thread *Thread, args Tuple, kwargs []Tuple) (Value, error) {
	// Postcondition: args is not mutated. This is stricter than required by Callable,
	// but allows CALL to avoid a copy.

	// IFC: the labels the caller passed; an error before the frame runs gets its pc.
	var ownPend pendingCall
	pend, callback := thread.ifcEnter(fn, &ownPend)
	thread.ifc.errLabel = pend.pc
	if err := thread.checkCallDepth(); err != nil {
		return nil, err
	}

	f := fn.funcode
	if f.Prog.Recursion {
		// prevent stack overflow
		//
		// Each CallInternal recursion (via Call) uses ~1.4KB,
		// but the stack limit is on the order of 1GB, so a
		// maximum of about 700K recursive calls is possible.
		// Limit it to much less here.
		if len(thread.stack) > 100_000 {
			return nil, fmt.Errorf("Starlark stack overflow")
		}
	} else {
		// detect recursion
		for _, fr := range thread.stack[:len(thread.stack)-1] {
			// We look for the same function code,
			// not function value, otherwise the user could
			// defeat the check by writing the Y combinator.
			if frfn, ok := fr.Callable().(*Function); ok && frfn.funcode == f {
				return nil, fmt.Errorf("function %s called recursively", fn.Name())
			}
		}
	}

	fr := thread.frameAt(0)

	// Allocate space for stack and locals.
	// Logically these do not escape from this frame
	// (See https://github.com/golang/go/issues/20533.)
	//
	// This heap allocation looks expensive, but I was unable to get
	// more than 1% real time improvement in a large alloc-heavy
	// benchmark (in which this alloc was 8% of alloc-bytes)
	// by allocating space for 8 Values in each frame, or
	// by allocating stack by slicing an array held by the Thread
	// that is expanded in chunks of min(k, nspace), for k=256 or 1024.
	nlocals := len(f.Locals)
	nspace := nlocals + f.MaxStack
	space := make([]Value, nspace)
	locals := space[:nlocals:nlocals] // local variables, starting with parameters
	stack := space[nlocals:]          // operand stack

	// Digest arguments and set parameters.
	err := setArgs(locals, fn, args, kwargs)
	if err != nil {
		thread.ifc.errLabel = pend.pc | pend.all() // IFC: the error depends on the arguments
		return nil, thread.evalError(err)
	}
	thread.ifc.errLabel = Public

	// IFC: labels of the locals and the operand stack, and the frame's base pc.
	t := &thread.ifc
	lbase := len(t.larena)
	lspace := t.frameLabels(nspace)
	llocals := lspace[:nlocals:nlocals]
	lstack := lspace[nlocals:]
	if t.sawLabel {
		// Until a label enters the thread every label is Public: the
		// arguments' too, and the fresh frame labels already are.
		t.bindArgLabels(llocals, locals, fn, args, kwargs, pend)
	}
	t.pending.fn = nil // consumed
	if pend.pc != Public {
		thread.noteHigh()
	}
	ibase := len(t.iters)
	st := ifcFrame{fr: fr, locals: locals, stack: stack, llocals: llocals, lstack: lstack, pcl: pend.pc, nextIPD: compile.ExitPC}

	fr.locals = locals

	if vmdebug {
		fmt.Printf("Entering %s @ %s\n", f.Name, f.Position(0))
		fmt.Printf("%d stack, %d locals\n", len(stack), len(locals))
		defer fmt.Println("Leaving ", f.Name)
	}

	// Spill indicated locals to cells.
	// Each cell is a separate alloc to avoid spurious liveness.
	for _, index := range f.Cells {
		locals[index] = &cell{v: locals[index], l: llocals[index]} // IFC: a cell carries its label
	}

	// TODO(adonovan): add static check that beneath this point
	// - there is exactly one return statement
	// - there is no redefinition of 'err'.

	// Use defer so that application panics can pass through
	// interpreter without leaving thread in a bad state.
	defer func() {
		// ITERPOP the rest of the iterator stack.
		for _, iter := range st.iterstack { // IFC: the loop keeps it in st
			iter.Done()
		}

		fr.locals = nil
		t.larena, t.iters = t.larena[:lbase], t.iters[:ibase] // IFC: release this frame's labels
	}()

	// IFC: the loop is interpret, compiled twice (ifcMode). While no label
	// has entered the thread, the plain instance runs; it stops after the
	// instruction that brings one in, and the labelled instance resumes the
	// frame at the next.
	var result Value
	if !t.sawLabel {
		result, err = interpret[ifcPlain](fn, thread, &st)
	}
	if result == nil && err == nil {
		result, err = interpret[ifcLabelled](fn, thread, &st)
	}

	// (deferred cleanup runs here)
	if err != nil || callback {
		thread.ifcFrameExit(err, st.errl, st.pcl, callback) // IFC: label the error; report to a calling builtin
	}
	return result, err
}

// interpret runs fn's bytecode from fs.pc with operand stack depth fs.sp,
// until the frame returns or fails, keeping labels by mode M (see ifcMode);
// it leaves in fs what the frame's epilogue, or the labelled instance
// taking over from the plain one, needs. The plain instance returns a nil
// result and a nil error when it stops for the labelled one.
//
// IFC: this is upstream's interpreter loop (CallInternal's, moved here so
// that it can be compiled once per mode), with the label rules in the
// lines marked IFC. Label work that only matters for labelled data, and
// every label store (the plain instance's labels are all Public), sits
// under `if labelled`; the instructions that can bring a label into a
// thread end with the plain instance's exit ("a label entered"), which
// stores that label.
func interpret[M ifcMode](fn *Function, thread *Thread, fs *ifcFrame) (result Value, err error) {
	var mode M
	labelled := unsafe.Sizeof(mode) == ifcLabelledSize
	f := fn.funcode
	t := &thread.ifc
	fr := fs.fr
	locals, stack := fs.locals, fs.stack
	llocals, lstack := fs.llocals[:len(locals)], fs.lstack[:len(stack)] // the bounds checks of locals and stack cover them
	iterstack := fs.iterstack
	sp, pc := fs.sp, fs.pc
	pcl := fs.pcl
	if !labelled {
		pcl = Public // constant: label joins with the pc compile away
	}
	var errl Label   // label of the operands of a failing instruction
	var hint ifcHint // component labels for an UNPACK right after an ITERJMP
	code := f.Code

loop:
	for {
		// IFC: err and errl describe the failing instruction only. Clearing
		// them here keeps them out of the values the loop carries from one
		// instruction to the next (and the registers it spills for them).
		errl, err = Public, nil
		thread.Steps++
		if thread.Steps >= thread.maxSteps {
			if thread.OnMaxSteps != nil {
				thread.OnMaxSteps(thread)
				if !labelled && t.sawLabel { // IFC: the callback let a label in
					thread.Steps-- // the labelled instance counts this step (and checks the limit again)
					break loop
				}
			} else {
				thread.Cancel("too many steps")
			}
		}
		if reason := thread.cancelReason.Load(); reason != nil {
			err = fmt.Errorf("Starlark computation cancelled: %s", *reason)
			break loop
		}

		fr.pc = pc

		// IFC: close the implicit-flow regions that end here.
		if labelled && pc == fs.nextIPD {
			pcl = fs.ifcPop(pc, pcl, lstack, sp)
		}

		op := compile.Opcode(code[pc])
		pc++
		var arg uint32
		if op >= compile.OpcodeArgMin {
			// TODO(adonovan): opt: profile this.
			// Perhaps compiling big endian would be less work to decode?
			for s := uint(0); ; s += 7 {
				b := code[pc]
				pc++
				arg |= uint32(b&0x7f) << s
				if b < 0x80 {
					break
				}
			}
		}
		if vmdebug {
			fmt.Fprintln(os.Stderr, stack[:sp]) // very verbose!
			compile.PrintOp(f, fr.pc, op, arg)
		}

		switch op {
		case compile.NOP:
			// nop

		case compile.DUP:
			stack[sp] = stack[sp-1]
			if labelled {
				lstack[sp] = lstack[sp-1]
			}
			sp++

		case compile.DUP2:
			stack[sp] = stack[sp-2]
			stack[sp+1] = stack[sp-1]
			if labelled {
				lstack[sp], lstack[sp+1] = lstack[sp-2], lstack[sp-1]
			}
			sp += 2

		case compile.POP:
			sp--

		case compile.EXCH:
			stack[sp-2], stack[sp-1] = stack[sp-1], stack[sp-2]
			if labelled {
				lstack[sp-2], lstack[sp-1] = lstack[sp-1], lstack[sp-2]
			}

		case compile.EQL, compile.NEQ, compile.GT, compile.LT, compile.LE, compile.GE:
			op := syntax.Token(op-compile.EQL) + syntax.EQL
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			ok, err2 := Compare(op, x, y)
			l := lstack[sp] | lstack[sp+1] | pcl
			if labelled {
				l = t.compareLabel(x, y, l)
			}
			if err2 != nil {
				err, errl = err2, l
				break loop
			}
			stack[sp] = Bool(ok)
			if labelled {
				lstack[sp] = l
			}
			sp++

		case compile.PLUS,
			compile.MINUS,
			compile.STAR,
			compile.SLASH,
			compile.SLASHSLASH,
			compile.PERCENT,
			compile.AMP,
			compile.PIPE,
			compile.CIRCUMFLEX,
			compile.LTLT,
			compile.GTGT,
			compile.IN:
			binop := syntax.Token(op-compile.PLUS) + syntax.PLUS
			if op == compile.IN {
				binop = syntax.IN // IN token is out of order
			}
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			l := lstack[sp] | lstack[sp+1] | pcl
			if t.allocLimit > 0 { // IFC: allocation limit, checked before allocating
				if err = t.binaryAlloc(binop, x, y); err != nil {
					errl = t.compareLabel(x, y, l)
					break loop
				}
			}
			z, err2 := Binary(binop, x, y)
			if err2 != nil {
				err, errl = err2, t.compareLabel(x, y, l)
				break loop
			}
			if labelled {
				l = t.binaryLabel(binop, x, y, z, l)
			}
			stack[sp] = z
			if labelled {
				lstack[sp] = l
			}
			sp++

		case compile.UPLUS, compile.UMINUS, compile.TILDE:
			var unop syntax.Token
			if op == compile.TILDE {
				unop = syntax.TILDE
			} else {
				unop = syntax.Token(op-compile.UPLUS) + syntax.PLUS
			}
			x := stack[sp-1]
			y, err2 := Unary(unop, x)
			if labelled {
				lstack[sp-1] |= pcl
			}
			if err2 != nil {
				err, errl = err2, lstack[sp-1]
				break loop
			}
			stack[sp-1] = y

		case compile.INPLACE_ADD:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2

			// It's possible that y is not Iterable but
			// nonetheless defines x+y, in which case we
			// should fall back to the general case.
			var z Value
			l := lstack[sp] | lstack[sp+1] | pcl
			if t.allocLimit > 0 { // IFC: allocation limit, checked before allocating
				if err = t.binaryAlloc(syntax.PLUS, x, y); err != nil {
					errl = t.compareLabel(x, y, l)
					break loop
				}
			}
			if xlist, ok := x.(*List); ok {
				if yiter, ok := y.(Iterable); ok {
					errl = l | xlist.slab
					if err = xlist.checkMutable("apply += to"); err != nil {
						break loop
					}
					// IFC: no-sensitive-upgrade, and the new elements keep their labels.
					if (pcl|lstack[sp])&^xlist.slab != 0 {
						err = &FlowError{Sink: "+=", Reason: nsuReason}
						break loop
					}
					ifcListExtend(xlist, yiter, lstack[sp+1]|pcl)
					z = xlist
					l = lstack[sp] | pcl
				}
			}
			if z == nil {
				z, err = Binary(syntax.PLUS, x, y)
				if err != nil {
					errl = t.compareLabel(x, y, l)
					break loop
				}
				if labelled {
					l = t.binaryLabel(syntax.PLUS, x, y, z, l)
				}
			}

			stack[sp] = z
			if labelled {
				lstack[sp] = l
			}
			sp++

		case compile.INPLACE_PIPE:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2

			// It's possible that y is not Dict but
			// nonetheless defines x|y, in which case we
			// should fall back to the general case.
			var z Value
			l := lstack[sp] | lstack[sp+1] | pcl
			if t.allocLimit > 0 { // IFC: allocation limit, checked before allocating
				if err = t.binaryAlloc(syntax.PIPE, x, y); err != nil {
					errl = t.compareLabel(x, y, l)
					break loop
				}
			}
			if xdict, ok := x.(*Dict); ok {
				if ydict, ok := y.(*Dict); ok {
					errl = l | xdict.ht.slab
					if err = xdict.ht.checkMutable("apply |= to"); err != nil {
						break loop
					}
					// IFC: no-sensitive-upgrade; the entries keep their labels.
					if (pcl|lstack[sp])&^xdict.ht.slab != 0 {
						err = &FlowError{Sink: "|=", Reason: nsuReason}
						break loop
					}
					xdict.ht.addAll(&ydict.ht) // can't fail
					xdict.ht.slab |= lstack[sp+1] | pcl
					z = xdict
					l = lstack[sp] | pcl
				}
			}
			if z == nil {
				z, err = Binary(syntax.PIPE, x, y)
				if err != nil {
					errl = t.compareLabel(x, y, l)
					break loop
				}
				if labelled {
					l = t.binaryLabel(syntax.PIPE, x, y, z, l)
				}
			}

			stack[sp] = z
			if labelled {
				lstack[sp] = l
			}
			sp++

		case compile.NONE:
			stack[sp] = None
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.TRUE:
			stack[sp] = True
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.FALSE:
			stack[sp] = False
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.MANDATORY:
			stack[sp] = mandatory{}
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.JMP:
			pc = arg

		case compile.CALL, compile.CALL_VAR, compile.CALL_KW, compile.CALL_VAR_KW:
			// IFC: hand the labels of the function and arguments to the callee
			// (in the plain instance they are all Public: see below).
			if labelled {
				errl = thread.ifcPrepareCall(op, arg, stack, lstack, sp, pcl)
			}

			var spreadPos, spreadKw Label // IFC
			var kwargs Value
			if op == compile.CALL_KW || op == compile.CALL_VAR_KW {
				kwargs = stack[sp-1]
				sp--
			}

			var args Value
			if op == compile.CALL_VAR || op == compile.CALL_VAR_KW {
				args = stack[sp-1]
				sp--
			}

			// named args (pairs)
			var kvpairs []Tuple
			if nkvpairs := int(arg & 0xff); nkvpairs > 0 {
				kvpairs = make([]Tuple, 0, nkvpairs)
				kvpairsAlloc := make(Tuple, 2*nkvpairs) // allocate a single backing array
				sp -= 2 * nkvpairs
				for i := range nkvpairs {
					pair := kvpairsAlloc[:2:2]
					kvpairsAlloc = kvpairsAlloc[2:]
					pair[0] = stack[sp+2*i]   // name
					pair[1] = stack[sp+2*i+1] // value
					kvpairs = append(kvpairs, pair)
				}
			}
			if kwargs != nil {
				// Add key/value items from **kwargs dictionary.
				dict, ok := kwargs.(IterableMapping)
				if !ok {
					err = fmt.Errorf("argument after ** must be a mapping, not %s", kwargs.Type())
					break loop
				}
				items := dict.Items()
				if !isCore(kwargs) {
					items, spreadKw = t.unlabelItems(kwargs, items) // IFC: a host mapping's items may be labelled (fromHost)
					errl |= spreadKw
				}
				for _, item := range items {
					if !is[String](item[0]) {
						err = fmt.Errorf("keywords must be strings, not %s", item[0].Type())
						break loop
					}
				}
				if len(kvpairs) == 0 {
					kvpairs = items
				} else {
					kvpairs = append(kvpairs, items...)
				}
			}

			// positional args
			var positional Tuple
			if npos := int(arg >> 8); npos > 0 {
				positional = stack[sp-npos : sp]
				sp -= npos

				// Copy positional arguments into a new array,
				// unless the callee is another Starlark function,
				// in which case it can be trusted not to mutate them.
				if !is[*Function](stack[sp-1]) || args != nil {
					positional = slices.Clone(positional)
				}
			}
			if args != nil {
				// Add elements from *args sequence.
				iter := Iterate(args)
				if iter == nil {
					err = fmt.Errorf("argument after * must be iterable, not %s", args.Type())
					break loop
				}
				var elem Value
				n0 := len(positional) // IFC
				for iter.Next(&elem) {
					positional = append(positional, elem)
				}
				iter.Done()
				if !isCore(args) {
					spreadPos = t.unlabelArgs(args, positional[n0:]) // IFC: a host iterable's elements may be labelled (fromHost)
				}
			}

			function := stack[sp-1]
			if labelled { // IFC: the labels of the Labeled elements unwrapped above
				t.pending.varLab |= spreadPos
				t.pending.kwVarLab |= spreadKw
			} else {
				t.pending = pendingCall{fn: function, varLab: spreadPos, kwVarLab: spreadKw}
			}

			if vmdebug {
				fmt.Printf("VM call %s args=%s kwargs=%s @%s\n",
					function, positional, kvpairs, f.Position(fr.pc))
			}

			thread.endProfSpan()
			z, err2 := Call(thread, function, positional, kvpairs)
			thread.beginProfSpan()
			zl := thread.ifcCallResult() // IFC: the callee labelled its result
			if err2 != nil {
				err = err2
				if _, ok := err2.(*EvalError); ok {
					errl = pcl // the callee labelled its own error
				} // else: Call's own error (not callable) depends on the operands
				break loop
			}
			if vmdebug {
				fmt.Printf("Resuming %s @ %s\n", f.Name, f.Position(0))
			}
			stack[sp-1] = z
			if labelled || t.sawLabel { // IFC: in the plain instance, pcl is Public
				lstack[sp-1] = zl | pcl
				if !labelled {
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}

		case compile.ITERPUSH:
			x := stack[sp-1]
			sp--
			iter := Iterate(x)
			if iter == nil {
				err, errl = fmt.Errorf("%s value is not iterable", x.Type()), lstack[sp]|pcl
				break loop
			}
			iterstack = append(iterstack, iter)
			fs.iterstack = iterstack // IFC: for the frame's deferred cleanup
			// IFC: the iteration's label covers the iterable's reference and length.
			t.iters = append(t.iters, t.iterInfo(x, iter, lstack[sp]|pcl))

		case compile.ITERJMP:
			iter := iterstack[len(iterstack)-1]
			if labelled {
				// IFC: iterating a labelled iterable is a branch on it.
				il := &t.iters[len(t.iters)-1]
				if il.lab&^pcl != 0 {
					pcl = thread.ifcPush(fn, fs, il.lab, pcl)
				}
				if il.plain {
					if iter.Next(&stack[sp]) {
						lstack[sp] = pcl | il.lab
						sp++
					} else {
						pc = arg
					}
				} else if ok, el := il.next(t, iter, &stack[sp]); ok {
					lstack[sp] = pcl | il.lab | el
					sp++
					if il.list != nil { // IFC: component labels for an UNPACK right after (ifc_components.go)
						if cl := il.list.l.componentsAt(il.list.i - 1); cl != nil {
							hint = ifcHint{at: pc, base: pcl | il.lab, comps: cl}
						}
					}
				} else {
					pc = arg
				}
			} else if iter.Next(&stack[sp]) {
				if il := &t.iters[len(t.iters)-1]; il.host {
					lstack[sp] = il.unlabelElem(t, &stack[sp]) // IFC: a host iterable's element may be labelled (fromHost)
					if t.sawLabel {
						sp++
						break loop // IFC: a label entered: the labelled instance resumes at the next instruction
					}
				}
				sp++
			} else {
				pc = arg
			}

		case compile.ITERPOP:
			n := len(iterstack) - 1
			iterstack[n].Done()
			iterstack = iterstack[:n]
			t.iters = t.iters[:len(t.iters)-1]
			fs.iterstack = iterstack

		case compile.NOT:
			if labelled {
				if _, ok := stack[sp-1].(Bool); !ok {
					lstack[sp-1] = t.truthLabel(stack[sp-1], lstack[sp-1])
				}
				lstack[sp-1] |= pcl
			}
			stack[sp-1] = !stack[sp-1].Truth()

		case compile.RETURN:
			result = stack[sp-1]
			t.ret = lstack[sp-1] | pcl // IFC: the result depends on the pc too
			break loop

		case compile.SETINDEX:
			z := stack[sp-1]
			y := stack[sp-2]
			x := stack[sp-3]
			sp -= 3
			err, errl = thread.ifcSetIndex(x, y, z, lstack[sp], lstack[sp+1], lstack[sp+2], pcl)
			if err != nil {
				break loop
			}

		case compile.INDEX:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			z, zl, err2 := thread.ifcIndex(x, y, lstack[sp]|lstack[sp+1]|pcl)
			if err2 != nil {
				err, errl = err2, zl
				break loop
			}
			stack[sp] = z
			sp++
			if labelled || t.sawLabel {
				lstack[sp-1] = zl
				if !labelled {
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}

		case compile.ATTR:
			x := stack[sp-1]
			name := f.Prog.Names[arg]
			y, err2 := getAttr(x, name)
			if labelled {
				lstack[sp-1] |= pcl
			}
			if err2 != nil {
				err, errl = err2, lstack[sp-1]|t.deepLabel(x)
				break loop
			}
			if !isCore(x) { // IFC: a host attribute may be labelled (fromHost)
				var yl Label
				y, yl = t.fromHost(x, y)
				lstack[sp-1] |= yl
				if !labelled && t.sawLabel {
					stack[sp-1] = y
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}
			stack[sp-1] = y

		case compile.SETFIELD:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			name := f.Prog.Names[arg]
			if err2, l := thread.ifcSetField(x, name, y, lstack[sp]|lstack[sp+1]|pcl); err2 != nil {
				err, errl = err2, l
				break loop
			}

		case compile.MAKEDICT:
			d := new(Dict)
			d.ht.slab = pcl
			stack[sp] = d
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.SETDICT, compile.SETDICTUNIQ:
			dict := stack[sp-3].(*Dict)
			k := stack[sp-2]
			v := stack[sp-1]
			sp -= 3
			// IFC: no-sensitive-upgrade; the entry keeps its labels.
			kl := lstack[sp+1] | pcl
			if pcl&^dict.ht.slab != 0 {
				err, errl = &FlowError{Sink: "dict comprehension", Reason: nsuReason}, pcl
				break loop
			}
			if err = t.allocIf(entryBytes); err != nil {
				errl = pcl
				break loop
			}
			oldlen := dict.Len()
			if err2 := dict.ht.insertL(k, v, kl, lstack[sp+2]|pcl); err2 != nil {
				err, errl = err2, kl|dict.ht.slab
				break loop
			}
			if op == compile.SETDICTUNIQ && dict.Len() == oldlen {
				err, errl = fmt.Errorf("duplicate key: %v", k), kl|dict.ht.slab
				break loop
			}

		case compile.APPEND:
			elem := stack[sp-1]
			list := stack[sp-2].(*List)
			sp -= 2
			// IFC: no-sensitive-upgrade; the element keeps its label.
			if pcl&^list.slab != 0 {
				err, errl = &FlowError{Sink: "list comprehension", Reason: nsuReason}, pcl
				break loop
			}
			if err = t.allocIf(valueBytes); err != nil {
				errl = pcl
				break loop
			}
			list.elems = append(list.elems, elem)
			list.appendLabel(lstack[sp+1] | pcl)

		case compile.SLICE:
			x := stack[sp-4]
			lo := stack[sp-3]
			hi := stack[sp-2]
			step := stack[sp-1]
			sp -= 4
			res, err2 := slice(x, lo, hi, step)
			l := lstack[sp] | lstack[sp+1] | lstack[sp+2] | lstack[sp+3] | pcl
			if err2 != nil {
				err, errl = err2, l|t.structLabel(x)
				break loop
			}
			if !isCore(x) { // IFC: a host value's slice may be labelled (fromHost)
				var rl Label
				res, rl = t.fromHost(x, res)
				l |= rl
			}
			stack[sp] = res
			sp++
			if labelled || t.sawLabel {
				lstack[sp-1] = t.sliceLabel(x, res, l)
				if !labelled {
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}

		case compile.UNPACK:
			n := int(arg)
			iterable := stack[sp-1]
			sp--
			iter := Iterate(iterable)
			errl = lstack[sp] | pcl | t.structLabel(iterable) // IFC: the count errors reveal the length
			if iter == nil {
				err = fmt.Errorf("got %s in sequence assignment", iterable.Type())
				break loop
			}
			i := 0
			sp += n
			for i < n && iter.Next(&stack[sp-1-i]) {
				i++
			}
			var dummy Value
			if iter.Next(&dummy) {
				// NB: Len may return -1 here in obscure cases.
				err = fmt.Errorf("too many values to unpack (got %d, want %d)", Len(iterable), n)
				break loop
			}
			iter.Done()
			if i < n {
				err = fmt.Errorf("too few values to unpack (got %d, want %d)", i, n)
				break loop
			}
			t.unpackLabels(iterable, stack, lstack, sp, n, lstack[sp-n]|pcl)
			if hint.comps != nil && len(hint.comps) == n && hint.follows(code, fr.pc) { // IFC: ifc_components.go
				for i, l := range hint.comps {
					lstack[sp-1-i] = pcl | hint.base | l
				}
			}
			hint.comps = nil
			if !labelled && t.sawLabel {
				break loop // IFC: a label entered: the labelled instance resumes at the next instruction
			}

		case compile.CJMP:
			// IFC: a branch on a labelled condition opens a region.
			if labelled {
				c := lstack[sp-1]
				if _, ok := stack[sp-1].(Bool); !ok {
					c = t.truthLabel(stack[sp-1], c)
				}
				if c&^pcl != 0 {
					pcl = thread.ifcPush(fn, fs, c, pcl)
				}
			}
			if stack[sp-1].Truth() {
				pc = arg
			}
			sp--

		case compile.CONSTANT:
			stack[sp] = fn.module.constants[arg]
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.MAKETUPLE:
			n := int(arg)
			if err = t.allocIf(int64(n) * valueBytes); err != nil {
				errl = pcl
				break loop
			}
			tuple := make(Tuple, n)
			sp -= n
			copy(tuple, stack[sp:])
			stack[sp] = tuple
			if labelled {
				l := pcl // IFC: a tuple has one label, the join of its elements'
				for _, el := range lstack[sp : sp+n] {
					l |= el
				}
				lstack[sp] = l
			}
			sp++

		case compile.MAKELIST:
			n := int(arg)
			if err = t.allocIf(int64(n) * valueBytes); err != nil {
				errl = pcl
				break loop
			}
			elems := make([]Value, n)
			sp -= n
			copy(elems, stack[sp:])
			list := NewList(elems)
			if labelled {
				list.slab, list.elabs = pcl, makeListLabels(lstack[sp:sp+n]) // IFC
			}
			stack[sp] = list
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.MAKEFUNC:
			funcode := f.Prog.Functions[arg]
			tuple := stack[sp-1].(Tuple)
			n := len(tuple) - len(funcode.FreeVars)
			defaults := tuple[:n:n]
			freevars := tuple[n:]
			stack[sp-1] = &Function{
				funcode:  funcode,
				module:   fn.module,
				defaults: defaults,
				freevars: freevars,
				dlab:     lstack[sp-1], // IFC: the defaults keep their label
			}
			if labelled {
				lstack[sp-1] = pcl
			}

		case compile.LOAD:
			n := int(arg)
			module := string(stack[sp-1].(String))
			sp--

			errl = lstack[sp] | pcl
			if thread.Load == nil {
				err = fmt.Errorf("load not implemented by this application")
				break loop
			}

			thread.endProfSpan()
			dict, err2 := thread.Load(thread, module)
			thread.beginProfSpan()
			if err2 != nil {
				err = wrappedError{
					msg:   fmt.Sprintf("cannot load %s: %v", module, err2),
					cause: err2,
				}
				break loop
			}

			for i := range n {
				from := string(stack[sp-1-i].(String))
				v, ok := dict[from]
				if !ok {
					err = fmt.Errorf("load: name %s not found in module %s", from, module)
					if n := spell.Nearest(from, dict.Keys()); n != "" {
						err = fmt.Errorf("%s (did you mean %s?)", err, n)
					}
					break loop
				}
				// IFC: a loaded value may be labelled (Labeled), or hold labels.
				var vl Label
				v, vl = unlabel(v)
				t.noteLabel(vl | foreignLabel(v))
				stack[sp-1-i] = v
				lstack[sp-1-i] = vl | pcl
			}
			if !labelled && t.sawLabel {
				break loop // IFC: a label entered: the labelled instance resumes at the next instruction
			}

		case compile.SETLOCAL:
			locals[arg] = stack[sp-1]
			if labelled {
				llocals[arg] = lstack[sp-1] | pcl
			}
			sp--

		case compile.SETLOCALCELL:
			c := locals[arg].(*cell)
			c.v = stack[sp-1]
			if labelled {
				c.l = lstack[sp-1] | pcl
			}
			sp--

		case compile.SETGLOBAL:
			fn.module.globals[arg] = stack[sp-1]
			if labelled {
				fn.module.globalLabels[arg] = lstack[sp-1] | pcl
			}
			sp--

		case compile.LOCAL:
			x := locals[arg]
			if x == nil {
				err, errl = fmt.Errorf("local variable %s referenced before assignment", f.Locals[arg].Name), llocals[arg]
				break loop
			}
			stack[sp] = x
			if labelled {
				lstack[sp] = llocals[arg] | pcl
			}
			sp++

		case compile.FREE:
			stack[sp] = fn.freevars[arg]
			if labelled {
				lstack[sp] = pcl
			}
			sp++

		case compile.LOCALCELL:
			c := locals[arg].(*cell)
			v := c.v
			if v == nil {
				err, errl = fmt.Errorf("local variable %s referenced before assignment", f.Locals[arg].Name), c.l
				break loop
			}
			stack[sp] = v
			if labelled {
				lstack[sp] = c.l | pcl
			}
			sp++

		case compile.FREECELL:
			c := fn.freevars[arg].(*cell)
			v := c.v
			if v == nil {
				err, errl = fmt.Errorf("local variable %s referenced before assignment", f.FreeVars[arg].Name), c.l
				break loop
			}
			stack[sp] = v
			if labelled {
				lstack[sp] = c.l | pcl
			}
			sp++

		case compile.GLOBAL:
			x := fn.module.globals[arg]
			if x == nil {
				err, errl = fmt.Errorf("global variable %s referenced before assignment", f.Prog.Globals[arg].Name), fn.module.globalLabels[arg]
				break loop
			}
			stack[sp] = x
			if labelled {
				lstack[sp] = fn.module.globalLabels[arg] | pcl
			}
			sp++

		case compile.PREDECLARED:
			name := f.Prog.Names[arg]
			x := fn.module.predeclared[name]
			if x == nil {
				err = fmt.Errorf("internal error: predeclared variable %s is uninitialized", name)
				break loop
			}
			var xl Label // IFC: a host value may be labelled (Labeled)
			x, xl = unlabel(x)
			t.noteLabel(xl)
			stack[sp] = x
			sp++
			if labelled || t.sawLabel { // IFC: in the plain instance, pcl is Public
				lstack[sp-1] = xl | pcl
				if !labelled {
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}

		case compile.UNIVERSAL:
			x, xl := unlabel(Universe[f.Prog.Names[arg]]) // IFC: as PREDECLARED
			t.noteLabel(xl)
			stack[sp] = x
			sp++
			if labelled || t.sawLabel { // IFC: in the plain instance, pcl is Public
				lstack[sp-1] = xl | pcl
				if !labelled {
					break loop // IFC: a label entered: the labelled instance resumes at the next instruction
				}
			}

		default:
			err = fmt.Errorf("unimplemented: %s", op)
			break loop
		}
	}
	fs.pc, fs.sp, fs.pcl, fs.errl = pc, sp, pcl, errl
	return result, err
}

type wrappedError struct {
	msg   string
	cause error
}

func (e wrappedError) Error() string {
	return e.msg
}

// Implements the xerrors.Wrapper interface
// https://godoc.org/golang.org/x/xerrors#Wrapper
func (e wrappedError) Unwrap() error {
	return e.cause
}

// mandatory is a sentinel value used in a function's defaults tuple
// to indicate that a (keyword-only) parameter is mandatory.
type mandatory struct{}

func (mandatory) String() string        { return "mandatory" }
func (mandatory) Type() string          { return "mandatory" }
func (mandatory) Freeze()               {} // immutable
func (mandatory) Truth() Bool           { return False }
func (mandatory) Hash() (uint32, error) { return 0, nil }

// A cell is a box containing a Value.
// Local variables marked as cells hold their value indirectly
// so that they may be shared by outer and inner nested functions.
// Cells are always accessed using indirect {FREE,LOCAL,SETLOCAL}CELL instructions.
// The FreeVars tuple contains only cells.
// The FREE instruction always yields a cell.
type cell struct {
	v Value
	l Label // IFC: the label of v
}

func (c *cell) String() string { return "cell" }
func (c *cell) Type() string   { return "cell" }
func (c *cell) Freeze() {
	FreezeAll(c) // IFC: no recursion (ifc_depth.go)
}
func (c *cell) Truth() Bool           { panic("unreachable") }
func (c *cell) Hash() (uint32, error) { panic("unreachable") }

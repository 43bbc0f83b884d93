// This file is an Aegis addition: the label-free copy of the interpreter
// loop.
//
// While no label has entered a thread (ifcThread.sawLabel is false), every
// label the thread can reach is Public: the label of every value, every
// container's structure and element labels, every pc. A frame then runs
// fastLoop, upstream's loop with only the resource limits added, which
// keeps no labels and costs what upstream costs. At the exact instruction
// where a label first appears in the frame (a call that brought one in, a
// Labeled host value, a labelled global or cell of a module made on another
// thread, a loaded value that holds labels), fastLoop stores that label in
// lstack and returns "switched": CallInternal continues the same frame, from
// the next instruction, in the labelled loop, whose state is then exact:
// every other label is Public, no region is open, and the active iterators
// get their label state rebuilt (ifcRebuildIters).
//
// Keep this loop in step with upstream's loop in interp.go: it is that loop,
// with the changes marked above and the iterator stack held by the caller
// (so that the caller's deferred cleanup sees it if a builtin panics).

package starlark

import (
	"fmt"
	"os"
	"slices"

	"github.com/aegisdev/aegis/starlark-ifc/internal/compile"
	"github.com/aegisdev/aegis/starlark-ifc/internal/spell"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// Changes from upstream's loop: the allocation checks of the labelled loop;
// t.pending set for each call (all labels Public); t.ret set at RETURN; and
// the switch points, each commented.

// fastLoop runs fn's code from *pcp with operand stack depth *spp, without
// labels, until the frame returns, fails, or a label appears (switched).
func (fn *Function) fastLoop(thread *Thread, fr *frame, locals, stack []Value, lstack []Label,
	iterstack *[]Iterator, pcp *uint32, spp *int) (result Value, err error, switched bool) {
	f := fn.funcode
	t := &thread.ifc
	sp := *spp
	pc := *pcp
	code := f.Code
	defer func() { *pcp, *spp = pc, sp }()
loop:
	for {
		thread.Steps++
		if thread.Steps >= thread.maxSteps {
			if thread.OnMaxSteps != nil {
				thread.OnMaxSteps(thread)
			} else {
				thread.Cancel("too many steps")
			}
		}
		if reason := thread.cancelReason.Load(); reason != nil {
			err = fmt.Errorf("Starlark computation cancelled: %s", *reason)
			break loop
		}

		fr.pc = pc

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
			sp++

		case compile.DUP2:
			stack[sp] = stack[sp-2]
			stack[sp+1] = stack[sp-1]
			sp += 2

		case compile.POP:
			sp--

		case compile.EXCH:
			stack[sp-2], stack[sp-1] = stack[sp-1], stack[sp-2]

		case compile.EQL, compile.NEQ, compile.GT, compile.LT, compile.LE, compile.GE:
			op := syntax.Token(op-compile.EQL) + syntax.EQL
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			ok, err2 := Compare(op, x, y)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = Bool(ok)
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
			if t.allocLimit > 0 {
				if err = t.binaryAlloc(binop, x, y); err != nil {
					break loop
				}
			}
			z, err2 := Binary(binop, x, y)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = z
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
			if err2 != nil {
				err = err2
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
			if t.allocLimit > 0 {
				if err = t.binaryAlloc(syntax.PLUS, x, y); err != nil {
					break loop
				}
			}
			if xlist, ok := x.(*List); ok {
				if yiter, ok := y.(Iterable); ok {
					if err = xlist.checkMutable("apply += to"); err != nil {
						break loop
					}
					listExtend(xlist, yiter)
					z = xlist
				}
			}
			if z == nil {
				z, err = Binary(syntax.PLUS, x, y)
				if err != nil {
					break loop
				}
			}

			stack[sp] = z
			sp++

		case compile.INPLACE_PIPE:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2

			// It's possible that y is not Dict but
			// nonetheless defines x|y, in which case we
			// should fall back to the general case.
			var z Value
			if t.allocLimit > 0 {
				if err = t.binaryAlloc(syntax.PIPE, x, y); err != nil {
					break loop
				}
			}
			if xdict, ok := x.(*Dict); ok {
				if ydict, ok := y.(*Dict); ok {
					if err = xdict.ht.checkMutable("apply |= to"); err != nil {
						break loop
					}
					xdict.ht.addAll(&ydict.ht) // can't fail
					z = xdict
				}
			}
			if z == nil {
				z, err = Binary(syntax.PIPE, x, y)
				if err != nil {
					break loop
				}
			}

			stack[sp] = z
			sp++

		case compile.NONE:
			stack[sp] = None
			sp++

		case compile.TRUE:
			stack[sp] = True
			sp++

		case compile.FALSE:
			stack[sp] = False
			sp++

		case compile.MANDATORY:
			stack[sp] = mandatory{}
			sp++

		case compile.JMP:
			pc = arg

		case compile.CALL, compile.CALL_VAR, compile.CALL_KW, compile.CALL_VAR_KW:
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
				for iter.Next(&elem) {
					positional = append(positional, elem)
				}
				iter.Done()
			}

			function := stack[sp-1]
			t.pending = pendingCall{fn: function} // the callee's labels: all Public

			if vmdebug {
				fmt.Printf("VM call %s args=%s kwargs=%s @%s\n",
					function, positional, kvpairs, f.Position(fr.pc))
			}

			thread.endProfSpan()
			z, err2 := Call(thread, function, positional, kvpairs)
			thread.beginProfSpan()
			t.pending.fn = nil
			if err2 != nil {
				err = err2
				break loop
			}
			if vmdebug {
				fmt.Printf("Resuming %s @ %s\n", f.Name, f.Position(0))
			}
			stack[sp-1] = z
			if t.sawLabel { // a label entered during the call
				lstack[sp-1] = t.ret
				switched = true
				break loop
			}

		case compile.ITERPUSH:
			x := stack[sp-1]
			sp--
			iter := Iterate(x)
			if iter == nil {
				err = fmt.Errorf("%s value is not iterable", x.Type())
				break loop
			}
			*iterstack = append(*iterstack, iter)

		case compile.ITERJMP:
			iter := (*iterstack)[len(*iterstack)-1]
			if iter.Next(&stack[sp]) {
				if _, ok := stack[sp].(Labeled); ok { // a labelled element of a host iterable
					var l Label
					stack[sp], l = unlabel(stack[sp])
					t.noteLabel(l)
					lstack[sp] = l
					sp++
					switched = true
					break loop
				}
				sp++
			} else {
				pc = arg
			}

		case compile.ITERPOP:
			n := len(*iterstack) - 1
			(*iterstack)[n].Done()
			*iterstack = (*iterstack)[:n]

		case compile.NOT:
			stack[sp-1] = !stack[sp-1].Truth()

		case compile.RETURN:
			result = stack[sp-1]
			t.ret = Public
			break loop

		case compile.SETINDEX:
			z := stack[sp-1]
			y := stack[sp-2]
			x := stack[sp-3]
			sp -= 3
			if _, ok := x.(*Dict); ok {
				if err = t.allocIf(entryBytes); err != nil {
					break loop
				}
			}
			err = setIndex(x, y, z)
			if err != nil {
				break loop
			}

		case compile.INDEX:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			z, err2 := getIndex(x, y)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = z
			sp++
			if _, ok := z.(Labeled); ok { // from a host container
				var l Label
				stack[sp-1], l = unlabel(z)
				t.noteLabel(l)
				lstack[sp-1] = l
				switched = true
				break loop
			}

		case compile.ATTR:
			x := stack[sp-1]
			name := f.Prog.Names[arg]
			y, err2 := getAttr(x, name)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp-1] = y
			if _, ok := y.(Labeled); ok { // a labelled host attribute
				var l Label
				stack[sp-1], l = unlabel(y)
				t.noteLabel(l)
				lstack[sp-1] = l
				switched = true
				break loop
			}

		case compile.SETFIELD:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			name := f.Prog.Names[arg]
			if err2 := setField(x, name, y); err2 != nil {
				err = err2
				break loop
			}

		case compile.MAKEDICT:
			stack[sp] = new(Dict)
			sp++

		case compile.SETDICT, compile.SETDICTUNIQ:
			dict := stack[sp-3].(*Dict)
			k := stack[sp-2]
			v := stack[sp-1]
			sp -= 3
			if err = t.allocIf(entryBytes); err != nil {
				break loop
			}
			oldlen := dict.Len()
			if err2 := dict.SetKey(k, v); err2 != nil {
				err = err2
				break loop
			}
			if op == compile.SETDICTUNIQ && dict.Len() == oldlen {
				err = fmt.Errorf("duplicate key: %v", k)
				break loop
			}

		case compile.APPEND:
			elem := stack[sp-1]
			list := stack[sp-2].(*List)
			sp -= 2
			if err = t.allocIf(valueBytes); err != nil {
				break loop
			}
			list.elems = append(list.elems, elem)

		case compile.SLICE:
			x := stack[sp-4]
			lo := stack[sp-3]
			hi := stack[sp-2]
			step := stack[sp-1]
			sp -= 4
			res, err2 := slice(x, lo, hi, step)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = res
			sp++

		case compile.UNPACK:
			n := int(arg)
			iterable := stack[sp-1]
			sp--
			iter := Iterate(iterable)
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
			for i := sp - n; i < sp; i++ {
				if _, ok := stack[i].(Labeled); ok { // from a host iterable
					var l Label
					stack[i], l = unlabel(stack[i])
					t.noteLabel(l)
					lstack[i] = l
					switched = true
				}
			}
			if switched {
				break loop
			}

		case compile.CJMP:
			if stack[sp-1].Truth() {
				pc = arg
			}
			sp--

		case compile.CONSTANT:
			stack[sp] = fn.module.constants[arg]
			sp++

		case compile.MAKETUPLE:
			n := int(arg)
			if err = t.allocIf(int64(n) * valueBytes); err != nil {
				break loop
			}
			tuple := make(Tuple, n)
			sp -= n
			copy(tuple, stack[sp:])
			stack[sp] = tuple
			sp++

		case compile.MAKELIST:
			n := int(arg)
			if err = t.allocIf(int64(n) * valueBytes); err != nil {
				break loop
			}
			elems := make([]Value, n)
			sp -= n
			copy(elems, stack[sp:])
			stack[sp] = NewList(elems)
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
			}

		case compile.LOAD:
			n := int(arg)
			module := string(stack[sp-1].(String))
			sp--

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
				var vl Label
				v, vl = unlabel(v)
				t.noteLabel(vl | foreignLabel(v))
				stack[sp-1-i] = v
				lstack[sp-1-i] = vl
			}
			if t.sawLabel { // a loaded value holds labels
				switched = true
				break loop
			}

		case compile.SETLOCAL:
			locals[arg] = stack[sp-1]
			sp--

		case compile.SETLOCALCELL:
			locals[arg].(*cell).v = stack[sp-1]
			sp--

		case compile.SETGLOBAL:
			fn.module.globals[arg] = stack[sp-1]
			sp--

		case compile.LOCAL:
			x := locals[arg]
			if x == nil {
				err = fmt.Errorf("local variable %s referenced before assignment", f.Locals[arg].Name)
				break loop
			}
			stack[sp] = x
			sp++

		case compile.FREE:
			stack[sp] = fn.freevars[arg]
			sp++

		case compile.LOCALCELL:
			v := locals[arg].(*cell).v
			if v == nil {
				err = fmt.Errorf("local variable %s referenced before assignment", f.Locals[arg].Name)
				break loop
			}
			stack[sp] = v
			sp++

		case compile.FREECELL:
			c := fn.freevars[arg].(*cell)
			v := c.v
			if v == nil {
				err = fmt.Errorf("local variable %s referenced before assignment", f.FreeVars[arg].Name)
				break loop
			}
			stack[sp] = v
			sp++
			if c.l != Public { // a closure made on another thread
				t.noteLabel(c.l)
				lstack[sp-1] = c.l
				switched = true
				break loop
			}

		case compile.GLOBAL:
			x := fn.module.globals[arg]
			if x == nil {
				err = fmt.Errorf("global variable %s referenced before assignment", f.Prog.Globals[arg].Name)
				break loop
			}
			stack[sp] = x
			sp++
			if l := fn.module.globalLabels[arg]; l != Public { // a module run on another thread
				t.noteLabel(l)
				lstack[sp-1] = l
				switched = true
				break loop
			}

		case compile.PREDECLARED:
			name := f.Prog.Names[arg]
			x := fn.module.predeclared[name]
			if x == nil {
				err = fmt.Errorf("internal error: predeclared variable %s is uninitialized", name)
				break loop
			}
			stack[sp] = x
			sp++
			if lx, ok := x.(Labeled); ok { // a labelled host value
				stack[sp-1], lstack[sp-1] = lx.V, lx.L
				t.noteLabel(lx.L)
				switched = t.sawLabel
				if switched {
					break loop
				}
			}

		case compile.UNIVERSAL:
			x := Universe[f.Prog.Names[arg]]
			stack[sp] = x
			sp++
			if lx, ok := x.(Labeled); ok { // a labelled host value
				stack[sp-1], lstack[sp-1] = lx.V, lx.L
				t.noteLabel(lx.L)
				switched = t.sawLabel
				if switched {
					break loop
				}
			}

		default:
			err = fmt.Errorf("unimplemented: %s", op)
			break loop
		}
	}
	return result, err, switched
}

// ifcRebuildIters returns the label state of the active iterators when a
// frame switches from fastLoop: no iteration is labelled, but lists and
// dicts must still give their elements' labels from now on.
func (t *ifcThread) ifcRebuildIters(iterstack []Iterator, iterlabs []ifcIter) []ifcIter {
	iterlabs = iterlabs[:0]
	for _, iter := range iterstack {
		switch it := iter.(type) {
		case *listIterator:
			iterlabs = append(iterlabs, ifcIter{list: it})
		case *keyIterator:
			iterlabs = append(iterlabs, ifcIter{keys: it})
		case *tupleIterator, *rangeIterator, *stringElemsIterator, *stringCodepointsIterator, *bytesIterator:
			iterlabs = append(iterlabs, ifcIter{plain: true})
		default:
			iterlabs = append(iterlabs, ifcIter{host: true})
		}
	}
	return iterlabs
}

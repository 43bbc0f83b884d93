// Aegis: the information-flow tests. TestIFCFiles runs the chunked
// testdata/ifc_*.star files in upstream's format (chunks separated by "---",
// "### "regex"" marking the error a line must fail with), with these
// predeclared helpers, for tests only:
//
//	secret(x[, who])   x, labelled with a test principal ("a" by default)
//	sink(x)            fails with a FlowError unless x (reference ⊔ deep label)
//	                   and the pc are public; returns None
//	public_print(x)    the same check, then records str(x) in the chunk's output
//	is_public(x)       a Public bool: whether x (reference ⊔ deep label) is public;
//	                   a test oracle, not something a real host would offer
//	label_of(x)        a Public sorted list of the principals of x (oracle)
//	pc_is_public()     a Public bool: whether the pc at the call is public (oracle)
//	catch(f)           f's error message (labelled with the error's label), or None
//	secret_elems(l[, who])
//	                   a new list of l's elements, each labelled with a test
//	                   principal, the list itself public, declared with no
//	                   result label (as a host source of names may build it)
//	time               lib/time's module
//
// Every chunk runs with all dialect options on (while, set, top-level
// control, global reassignment, recursion).

package starlark_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/internal/chunkedfile"
	starlarkproto "github.com/aegisdev/aegis/starlark-ifc/lib/proto"
	starlarktime "github.com/aegisdev/aegis/starlark-ifc/lib/time"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
	"github.com/aegisdev/aegis/starlark-ifc/starlarktest"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// ifcOptions enables the dialect agents write.
var ifcOptions = syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// ifcEnv is the predeclared environment of the IFC tests.
type ifcEnv struct {
	reg *labels.Registry
	out []string // public_print output
}

func newIFCEnv() *ifcEnv { return &ifcEnv{reg: labels.NewRegistry()} }

func (e *ifcEnv) principal(who string) starlark.Label { return e.reg.Principal("test:" + who) }

func (e *ifcEnv) names(l starlark.Label) *starlark.List {
	var vals []starlark.Value
	for _, n := range e.reg.Names(l) {
		vals = append(vals, starlark.String(strings.TrimPrefix(n, "test:")))
	}
	return starlark.NewList(vals)
}

// fullLabel is the label of args[i] as a whole: reference and deep labels.
func fullLabel(thread *starlark.Thread, args starlark.Tuple, i int) starlark.Label {
	return thread.ArgLabel(i) | starlark.DeepLabel(args[i])
}

func (e *ifcEnv) predeclared() starlark.StringDict {
	secret := starlark.NewLabelAwareBuiltin("secret", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x starlark.Value
		who := "a"
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x, &who); err != nil {
			return nil, err
		}
		thread.SetResultLabel(thread.ArgLabel(0) | e.principal(who))
		return x, nil
	})
	check := func(name string, record bool) *starlark.Builtin {
		return starlark.NewLabelAwareBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
				return nil, err
			}
			if thread.PC() != starlark.Public {
				return nil, &starlark.FlowError{Sink: name, Reason: "the pc is labelled"}
			}
			if fullLabel(thread, args, 0) != starlark.Public {
				return nil, &starlark.FlowError{Sink: name, Reason: "the argument is labelled"}
			}
			if record {
				if s, ok := starlark.AsString(x); ok {
					e.out = append(e.out, s)
				} else {
					e.out = append(e.out, x.String())
				}
			}
			return starlark.None, nil
		})
	}
	isPublic := starlark.NewLabelAwareBuiltin("is_public", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 || len(kwargs) != 0 {
			return nil, fmt.Errorf("is_public: want 1 argument")
		}
		return starlark.Bool(fullLabel(thread, args, 0) == starlark.Public), nil
	})
	labelOf := starlark.NewLabelAwareBuiltin("label_of", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 || len(kwargs) != 0 {
			return nil, fmt.Errorf("label_of: want 1 argument")
		}
		return e.names(fullLabel(thread, args, 0)), nil
	})
	pcIsPublic := starlark.NewLabelAwareBuiltin("pc_is_public", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return starlark.Bool(thread.PC() == starlark.Public), nil
	})
	catch := starlark.NewLabelAwareBuiltin("catch", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 || len(kwargs) != 0 {
			return nil, fmt.Errorf("catch: want 1 argument")
		}
		if _, err := starlark.Call(thread, args[0], nil, nil); err != nil {
			thread.SetResultLabel(starlark.ErrorLabel(err))
			return starlark.String(err.Error()), nil
		}
		return starlark.None, nil
	})
	secretElems := starlark.NewLabelAwareBuiltin("secret_elems", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var l *starlark.List
		who := "a"
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l, &who); err != nil {
			return nil, err
		}
		elems := make([]starlark.Value, l.Len())
		labs := make([]starlark.Label, l.Len())
		for i := range elems {
			elems[i], labs[i] = l.Index(i), e.principal(who)
		}
		return starlark.NewListLabeled(elems, labs, starlark.Public), nil
	})
	return starlark.StringDict{
		"catch":        catch,
		"secret_elems": secretElems,
		"time":         starlarktime.Module,
		"secret":       secret,
		"sink":         check("sink", false),
		"public_print": check("public_print", true),
		"is_public":    isPublic,
		"label_of":     labelOf,
		"pc_is_public": pcIsPublic,
		"struct":       starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
}

func TestIFCFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(starlarktest.DataFile("starlark", "."), "testdata", "ifc_*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/ifc_*.star files")
	}
	sort.Strings(files)
	for _, filename := range files {
		t.Run(filepath.Base(filename), func(t *testing.T) {
			runIFCFile(t, filename)
		})
	}
}

func runIFCFile(t *testing.T, filename string) {
	for _, chunk := range chunkedfile.Read(filename, t) {
		env := newIFCEnv()
		thread := &starlark.Thread{Load: load}
		starlarktest.SetReporter(thread, t)
		opts := ifcOptions
		_, err := starlark.ExecFileOptions(&opts, thread, filename, chunk.Source, env.predeclared())
		switch err := err.(type) {
		case *starlark.EvalError:
			found := false
			for i := range err.CallStack {
				posn := err.CallStack.At(i).Pos
				if posn.Filename() == filename {
					chunk.GotError(int(posn.Line), err.Error())
					found = true
					break
				}
			}
			if !found {
				t.Error(err.Backtrace())
			}
		case nil:
		default:
			t.Errorf("\n%s", err)
		}
		chunk.Done()
	}
}

// ifcRun runs src with the IFC test environment and returns the error and
// the public_print output.
func ifcRun(t *testing.T, src string) (*starlark.EvalError, []string) {
	t.Helper()
	env := newIFCEnv()
	thread := &starlark.Thread{Load: load}
	opts := ifcOptions
	_, err := starlark.ExecFileOptions(&opts, thread, "test.star", src, env.predeclared())
	if err == nil {
		return nil, env.out
	}
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	return ev, env.out
}

// TestExecFileLabelledLoop runs upstream's own testdata files (the 21 of
// TestExecFile) through the labelled instance of the interpreter loop: a
// labelled predeclared value, unused by the scripts, makes every frame run
// it from its first instruction. Upstream's semantics must be unchanged
// there too, not only in the plain instance TestExecFile exercises.
func TestExecFileLabelledLoop(t *testing.T) {
	testdata := starlarktest.DataFile("starlark", ".")
	thread := &starlark.Thread{Load: load}
	starlarktest.SetReporter(thread, t)
	data, err := os.ReadFile("testdata/proto/test.fds")
	if err != nil {
		t.Fatal(err)
	}
	fds := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(data, fds); err != nil {
		t.Fatal(err)
	}
	pool, err := protodesc.NewFiles(fds)
	if err != nil {
		t.Fatal(err)
	}
	starlarkproto.SetPool(thread, pool)
	ran := 0
	for _, file := range []string{
		"assign", "bool", "builtins", "bytes", "control", "dict", "float", "function", "int",
		"json", "list", "math", "misc", "proto", "set", "string", "time", "tuple", "recursion",
		"module", "while",
	} {
		filename := filepath.Join(testdata, "testdata", file+".star")
		ran++
		for _, chunk := range chunkedfile.Read(filename, t) {
			predeclared := starlark.StringDict{
				"hasfields":       starlark.NewBuiltin("hasfields", newHasFields),
				"fibonacci":       fib{},
				"struct":          starlark.NewBuiltin("struct", starlarkstruct.Make),
				"_labelled_input": starlark.Labeled{V: starlark.None, L: 1},
			}
			opts := getOptions(chunk.Source)
			_, err := starlark.ExecFileOptions(opts, thread, filename, chunk.Source, predeclared)
			switch err := err.(type) {
			case *starlark.EvalError:
				found := false
				for i := range err.CallStack {
					posn := err.CallStack.At(i).Pos
					if posn.Filename() == filename {
						chunk.GotError(int(posn.Line), err.Error())
						found = true
						break
					}
				}
				if !found {
					t.Error(err.Backtrace())
				}
			case nil:
			default:
				t.Errorf("\n%s", err)
			}
			chunk.Done()
		}
	}
	if ran != 21 {
		t.Errorf("ran %d upstream files, want 21", ran)
	}
}

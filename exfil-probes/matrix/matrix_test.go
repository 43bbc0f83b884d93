package matrix

import (
	"flag"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aegisdev/aegis/builtins"
	starlarktime "github.com/aegisdev/aegis/starlark-ifc/lib/time"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

var (
	tableOut = flag.String("matrix.table", "", "write the coverage table to this file")
	only     = flag.String("matrix.only", "", "run only the cases of callees with this prefix")
)

// callables lists every callable a script can reach, by the names the
// templates use: the universe's builtins, each module member and top-level
// host builtin of a run, and each method of each built-in type.
func callables(t *testing.T) []string {
	var out []string
	for name, v := range starlark.Universe {
		if _, ok := v.(starlark.Callable); ok {
			out = append(out, name)
		}
	}
	h := &builtins.Host{}
	for name, v := range h.Modules() {
		switch m := v.(type) {
		case *starlarkstruct.Module:
			for member, mv := range m.Members {
				if _, ok := mv.(starlark.Callable); ok {
					out = append(out, name+"."+member)
				}
			}
		case starlark.Callable:
			out = append(out, name)
		default:
			t.Fatalf("predeclared %s is a %s: the matrix does not know how to enumerate it", name, v.Type())
		}
	}
	for typ, sample := range map[string]starlark.Value{
		"string":    starlark.String(""),
		"bytes":     starlark.Bytes(""),
		"list":      starlark.NewList(nil),
		"dict":      starlark.NewDict(0),
		"set":       starlark.NewSet(0),
		"time.time": starlarktime.Time{},
	} {
		x := sample.(starlark.HasAttrs)
		for _, m := range x.AttrNames() {
			// Methods only: a time's year is a field, not a callable.
			if v, err := x.Attr(m); err == nil {
				if _, ok := v.(starlark.Callable); ok {
					out = append(out, typ+"."+m)
				}
			}
		}
	}
	// Values scripts get from builtins whose attributes are fields only
	// (a time.duration's hours): the test fails if one grows a method.
	for _, sample := range []starlark.HasAttrs{starlarktime.Duration(0)} {
		for _, m := range sample.AttrNames() {
			if v, err := sample.Attr(m); err == nil {
				if _, ok := v.(starlark.Callable); ok {
					t.Fatalf("%s.%s is a method: give %s a sample in callables", sample.Type(), m, sample.Type())
				}
			}
		}
	}
	out = append(out, "def")
	sort.Strings(out)
	return out
}

// Every callable has templates, and every template names a callable.
func TestMatrixCoversEveryCallable(t *testing.T) {
	all := callables(t)
	covered := Covered()
	var missing []string
	known := map[string]bool{}
	for _, c := range all {
		known[c] = true
		if !covered[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		t.Errorf("callables without templates in exfil-probes/matrix/spec.go: %s", strings.Join(missing, ", "))
	}
	for c := range covered {
		if !known[c] {
			t.Errorf("templates for %s, which scripts cannot call", c)
		}
	}
}

// The boundary matrix: every case, both pcs, two secrets.
func TestBoundaryMatrix(t *testing.T) {
	cases := Cases()
	if *only != "" {
		var keep []Case
		for _, c := range cases {
			if strings.HasPrefix(c.Callee, *only) {
				keep = append(keep, c)
			}
		}
		cases = keep
	}
	workers := max(runtime.GOMAXPROCS(0), 2)
	fixtures := make([]*Fixture, workers)
	for i := range fixtures {
		f, err := NewFixture(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fixtures[i] = f
	}
	results := make([]Result, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(f *Fixture) {
			defer wg.Done()
			for i := range next {
				a, err := f.Run(cases[i], Secret1)
				if err == nil {
					var b Obs
					b, err = f.Run(cases[i], Secret2)
					results[i] = Judge(cases[i], a, b)
				}
				errs[i] = err
			}
		}(fixtures[w])
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()

	leaks, charged, errored := 0, 0, 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("%s: %v", cases[i].Name(), errs[i])
		}
		if r.Charged {
			charged++
		}
		if r.Errored {
			errored++
		}
		if r.Leak == "" {
			continue
		}
		leaks++
		if leaks <= 25 {
			t.Errorf("LEAK %s: %s\nprogram:\n%s\nS1: %+v\nS2: %+v", r.Case.Name(), r.Leak, r.Case.Program(), r.A, r.B)
		}
	}
	table := Table(results)
	if *tableOut != "" {
		if err := os.WriteFile(*tableOut, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("boundary matrix: %d cases (%d runs), %d with an error path taken, %d charged, %d leaks\n%s",
		len(cases), 2*len(cases), errored, charged, leaks, table)
	if leaks > 0 {
		t.Errorf("%d leaking cases", leaks)
	}
	// The matrix must exercise the error paths and the termination
	// channel, or it proves little.
	if *only == "" && (errored < len(cases)/4 || charged < len(cases)/10) {
		t.Errorf("only %d erroring and %d charged cases of %d: the templates no longer reach the error paths", errored, charged, len(cases))
	}
}

package starlark_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/lib/json"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarktest"
)

// BenchmarkStarlarkLabeled runs upstream's benchmark.star (the programs of BenchmarkStarlark)
// with labelled inputs, to measure label work on the hot path: a predeclared `range` shadows
// the universal one and returns its result labelled with a secret principal. Every benchmark
// loops over range(b.n), so each timed loop runs under a non-public pc, and the module data
// built from range (range1000, largedict, largeset, deep_list) carries element and structure
// labels. Nothing in the file writes, under that pc, into a container built outside it, so no
// benchmark stops on no-sensitive-upgrade. bench/ifc-overhead compares it with BenchmarkStarlark
// on the fork and on upstream.
func BenchmarkStarlarkLabeled(b *testing.B) {
	secret := labels.NewRegistry().Principal(labels.Env("BENCH_SECRET"))
	universeRange, ok := starlark.Universe["range"].(*starlark.Builtin)
	if !ok {
		b.Fatal("universe has no range builtin")
	}
	labelledRange := starlark.NewLabelAwareBuiltin("range", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		// Label-aware: the result carries the secret and whatever its arguments carried.
		thread.SetResultLabel(secret | thread.CallLabel())
		return universeRange.CallInternal(thread, args, kwargs)
	})
	predeclared := starlark.StringDict{"range": labelledRange, "json": json.Module}

	filename := filepath.Join(starlarktest.DataFile("starlark", "."), "testdata/benchmark.star")
	src, err := os.ReadFile(filename)
	if err != nil {
		b.Fatal(err)
	}
	thread := new(starlark.Thread)
	globals, globalLabels, err := starlark.ExecFileLabeled(thread, filename, src, predeclared, getOptions(string(src)))
	if err != nil {
		reportEvalError(b, err)
	}
	// Guard against measuring nothing: the data the benchmarks read must really be labelled.
	for _, name := range []string{"range1000", "largedict", "largeset", "deep_list"} {
		v, ok := globals[name]
		if !ok {
			b.Fatalf("benchmark.star no longer defines %s", name)
		}
		if (globalLabels[name] | starlark.DeepLabel(v)) == labels.Public {
			b.Fatalf("global %s is not labelled: the labelled variant would measure the unlabelled path", name)
		}
	}
	for _, name := range globals.Keys() {
		fn, ok := globals[name].(*starlark.Function)
		if !ok || !strings.HasPrefix(name, "bench_") {
			continue
		}
		b.Run(name, func(b *testing.B) {
			if _, err := starlark.Call(thread, fn, starlark.Tuple{benchmark{b}}, nil); err != nil {
				reportEvalError(b, err)
			}
		})
	}
}

// Command ifc-overhead measures what the information-flow labels cost: it runs upstream's
// BenchmarkStarlark suite on the pristine pinned go.starlark.net and on the Aegis fork
// (starlark-ifc/starlark), plus the fork's BenchmarkStarlarkLabeled (the same programs with
// labelled inputs), interleaved in one run, and prints per-benchmark medians, ratios and
// geometric means against the targets of issue 2.
//
//	go run ./bench/ifc-overhead -rounds 6
//
// Map: prepare() builds the test binaries (upstream is copied out of the module cache into a
// temp dir and built there as its own module, so it is exactly the pinned upstream; the fork
// binary serves both fork variants); measure() runs, in each round, each benchmark in every
// variant back to back, alternating the order so that no variant always runs first;
// report() takes per-round (paired) ratios, their medians and geometric means.
//
// The machine running this is usually shared and noisy: absolute times swing by a factor of
// two under load, which is why ratios are taken between runs seconds apart, and why the
// ratio of the fastest runs is printed beside the median as a cross-check.
// This is a measurement tool, not a test: it exits non-zero only when something fails to
// build or run, or, with -strict, when a target is missed.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/aegisdev/aegis/bench/internal/upstream"
)

// Targets from issue 2.
const (
	targetGeomean      = 1.10 // fork/upstream, no labelled data
	targetWorstInterp  = 1.35 // fork/upstream, worst interpreter-bound benchmark
	targetLabelledMean = 1.60 // labelled/upstream geometric mean
)

// interpreterBound names the benchmarks whose time goes to the bytecode loop rather than to a
// builtin or the hash table (the subset used in the design study, §5.2).
var interpreterBound = map[string]bool{
	"bench_calling":            true,
	"bench_int":                true,
	"bench_bigint":             true,
	"bench_gauss":              true,
	"bench_mix":                true,
	"bench_range_iteration":    true,
	"bench_range_construction": true,
	"bench_builtin_method":     true,
}

type config struct {
	rounds    int
	benchtime string
	filter    string
	keep      bool
	strict    bool
	labelled  bool
	root      string
}

// variant is one binary and the benchmark it runs.
type variant struct {
	name  string // "upstream", "fork", "labelled"
	bin   string
	dir   string // working directory: the package directory, for testdata/
	bench string // -test.bench pattern
}

// sample is one benchmark line of one run.
type sample struct {
	ns     float64
	allocs float64
}

func main() {
	var cfg config
	flag.IntVar(&cfg.rounds, "rounds", 6, "number of interleaved rounds (each runs every binary once)")
	flag.StringVar(&cfg.benchtime, "benchtime", "200ms", "-test.benchtime for each benchmark")
	flag.StringVar(&cfg.filter, "run", "", "only benchmarks whose name matches this regexp (e.g. 'calling|bench_int')")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory with the built binaries")
	flag.BoolVar(&cfg.strict, "strict", false, "exit 1 when a target is missed")
	flag.BoolVar(&cfg.labelled, "labelled", true, "also run BenchmarkStarlarkLabeled on the fork")
	flag.StringVar(&cfg.root, "root", "", "root of the Aegis module whose fork to measure (default: the module of the current directory), e.g. a `git archive` snapshot")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ifc-overhead:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1, got %d", cfg.rounds)
	}
	var filter *regexp.Regexp
	if cfg.filter != "" {
		var err error
		if filter, err = regexp.Compile(cfg.filter); err != nil {
			return fmt.Errorf("-run: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "ifc-overhead-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	if cfg.keep {
		fmt.Println("binaries kept in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	variants, err := prepare(tmp, cfg)
	if err != nil {
		return err
	}
	names, results, err := measure(variants, cfg, filter)
	if err != nil {
		return err
	}
	missed := report(os.Stdout, names, results, cfg)
	if missed && cfg.strict {
		return errors.New("a target was missed (see above)")
	}
	return nil
}

// prepare builds the upstream and fork test binaries.
func prepare(tmp string, cfg config) ([]variant, error) {
	root := cfg.root
	if root == "" {
		var err error
		if root, err = upstream.Go("", "list", "-m", "-f", "{{.Dir}}"); err != nil {
			return nil, fmt.Errorf("finding the Aegis module root (run this inside the repository, or pass -root): %w", err)
		}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("-root: %w", err)
	}
	if _, err := os.Stat(filepath.Join(root, "starlark-ifc", "starlark", "bench_test.go")); err != nil {
		return nil, fmt.Errorf("module at %s has no starlark-ifc/starlark/bench_test.go: %w", root, err)
	}

	upDir := filepath.Join(tmp, "upstream")
	if err := upstream.Fetch(root, upDir); err != nil {
		return nil, err
	}

	upBin := filepath.Join(tmp, "upstream.test")
	forkBin := filepath.Join(tmp, "fork.test")
	fmt.Println("building upstream test binary")
	if _, err := upstream.Go(upDir, "test", "-c", "-o", upBin, "./starlark"); err != nil {
		return nil, fmt.Errorf("building upstream's starlark tests: %w", err)
	}
	fmt.Println("building fork test binary")
	if _, err := upstream.Go(root, "test", "-c", "-o", forkBin, "./starlark-ifc/starlark"); err != nil {
		return nil, fmt.Errorf("building the fork's starlark tests: %w", err)
	}
	forkDir := filepath.Join(root, "starlark-ifc", "starlark")
	vs := []variant{
		{name: "upstream", bin: upBin, dir: filepath.Join(upDir, "starlark"), bench: "^BenchmarkStarlark$"},
		{name: "fork", bin: forkBin, dir: forkDir, bench: "^BenchmarkStarlark$"},
	}
	if cfg.labelled {
		vs = append(vs, variant{name: "labelled", bin: forkBin, dir: forkDir, bench: "^BenchmarkStarlarkLabeled$"})
	}
	return vs, nil
}

// benchLine matches a benchmark result line, e.g.
// "BenchmarkStarlark/bench_int-2   	   22022	     52857 ns/op	      48 B/op	       1 allocs/op".
var benchLine = regexp.MustCompile(`^Benchmark\w+/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ B/op\s+([\d.]+) allocs/op)?`)

// measure discovers the benchmark names, then, round by round and benchmark by benchmark,
// runs that one benchmark in every variant back to back, alternating the order. Running the
// variants of one benchmark seconds apart, rather than whole suites minutes apart, keeps
// them under the same machine load, so the per-round ratios are far less noisy than the
// absolute times. results[variant][benchmark][round].
func measure(vs []variant, cfg config, filter *regexp.Regexp) ([]string, map[string]map[string][]sample, error) {
	all, err := runBench(vs[0], vs[0].bench, "1x")
	if err != nil {
		return nil, nil, fmt.Errorf("listing the benchmarks: %w", err)
	}
	var names []string
	for name := range all {
		if filter == nil || filter.MatchString(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no benchmark matches -run %q", cfg.filter)
	}
	sort.Strings(names)
	results := map[string]map[string][]sample{}
	for _, v := range vs {
		results[v.name] = map[string][]sample{}
	}
	for r := 0; r < cfg.rounds; r++ {
		fmt.Printf("round %d/%d\n", r+1, cfg.rounds)
		for i, name := range names {
			order := append([]variant(nil), vs...)
			if (r+i)%2 == 1 {
				for a, b := 0, len(order)-1; a < b; a, b = a+1, b-1 {
					order[a], order[b] = order[b], order[a]
				}
			}
			for _, v := range order {
				got, err := runBench(v, v.bench+"/^"+regexp.QuoteMeta(name)+"$", cfg.benchtime)
				if err != nil {
					return nil, nil, err
				}
				s, ok := got[name]
				if !ok {
					return nil, nil, fmt.Errorf("%s: %s/%s printed no result (the labelled variant lives in starlark-ifc/starlark/ifc_bench_test.go; -labelled=false skips it)", v.name, v.bench, name)
				}
				results[v.name][name] = append(results[v.name][name], s)
			}
		}
	}
	return names, results, nil
}

func runBench(v variant, pattern, benchtime string) (map[string]sample, error) {
	cmd := exec.Command(v.bin, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.benchmem")
	cmd.Dir = v.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running %s benchmarks: %w\n%s%s", v.name, err, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "--- FAIL") {
		return nil, fmt.Errorf("%s benchmarks failed:\n%s", v.name, stdout.String())
	}
	got := map[string]sample{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", sc.Text(), err)
		}
		var allocs float64
		if m[3] != "" {
			if allocs, err = strconv.ParseFloat(m[3], 64); err != nil {
				return nil, fmt.Errorf("parsing %q: %w", sc.Text(), err)
			}
		}
		got[m[1]] = sample{ns: ns, allocs: allocs}
	}
	return got, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is (max-min)/median, a crude noise indicator per benchmark.
func spread(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return (hi - lo) / median(xs)
}

func geomean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}

type stat struct{ med, min, spread, allocs float64 }

func stats(ss []sample) stat {
	var ns, al []float64
	for _, s := range ss {
		ns = append(ns, s.ns)
		al = append(al, s.allocs)
	}
	lo := ns[0]
	for _, x := range ns {
		lo = math.Min(lo, x)
	}
	return stat{med: median(ns), min: lo, spread: spread(ns), allocs: median(al)}
}

// pairedRatio is the median over rounds of a[r]/b[r]: each round's two samples were taken
// seconds apart, so machine load mostly cancels out of their ratio.
func pairedRatio(a, b []sample) float64 {
	var rs []float64
	for r := range a {
		if r < len(b) && b[r].ns > 0 {
			rs = append(rs, a[r].ns/b[r].ns)
		}
	}
	return median(rs)
}

// report prints the table and the summary; it returns whether a target was missed.
func report(w io.Writer, names []string, results map[string]map[string][]sample, cfg config) bool {
	hasLab := cfg.labelled && len(results["labelled"]) > 0
	fmt.Fprintf(w, "\n%d rounds, -test.benchtime %s. ns/op: median over rounds; spread = (max-min)/median.\n", cfg.rounds, cfg.benchtime)
	fmt.Fprintf(w, "Ratios: median over rounds of the per-round ratio (paired); \"min\" = ratio of the fastest runs.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "benchmark\tupstream\tspread\tfork\tspread\tfork/up\tmin\tallocs up→fork"
	if hasLab {
		header += "\tlabelled\tspread\tlab/fork\tlab/up\tmin\tallocs lab"
	}
	fmt.Fprintln(tw, header+"\t")
	var forkR, forkMin, labUp, labUpMin, labFork []float64
	worstName, worst, worstMin := "", 0.0, 0.0
	labWorstName, labWorst := "", 0.0
	for _, name := range names {
		upS, fkS := results["upstream"][name], results["fork"][name]
		up, fk := stats(upS), stats(fkS)
		r, rmin := pairedRatio(fkS, upS), fk.min/up.min
		forkR, forkMin = append(forkR, r), append(forkMin, rmin)
		mark := ""
		if interpreterBound[name] {
			mark = " *"
			if r > worst {
				worstName, worst, worstMin = name, r, rmin
			}
		}
		row := fmt.Sprintf("%s%s\t%.0f\t%.0f%%\t%.0f\t%.0f%%\t%.3f\t%.3f\t%.0f→%.0f", name, mark, up.med, 100*up.spread, fk.med, 100*fk.spread, r, rmin, up.allocs, fk.allocs)
		if hasLab {
			lbS := results["labelled"][name]
			lb := stats(lbS)
			lu, lf, lumin := pairedRatio(lbS, upS), pairedRatio(lbS, fkS), lb.min/up.min
			labUp, labFork, labUpMin = append(labUp, lu), append(labFork, lf), append(labUpMin, lumin)
			if lu > labWorst {
				labWorstName, labWorst = name, lu
			}
			row += fmt.Sprintf("\t%.0f\t%.0f%%\t%.3f\t%.3f\t%.3f\t%.0f", lb.med, 100*lb.spread, lf, lu, lumin, lb.allocs)
		}
		fmt.Fprintln(tw, row+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\n* interpreter-bound")

	missed := false
	check := func(what string, got, gotMin, target float64) {
		verdict := "ok"
		if got > target {
			verdict, missed = "MISSED", true
		}
		fmt.Fprintf(w, "%-52s %.3fx (min-based %.3fx)  target ≤ %.2fx  %s\n", what, got, gotMin, target, verdict)
	}
	fmt.Fprintln(w)
	check(fmt.Sprintf("fork/upstream geometric mean (%d benchmarks)", len(forkR)), geomean(forkR), geomean(forkMin), targetGeomean)
	if worstName != "" {
		check("worst interpreter-bound fork/upstream: "+worstName, worst, worstMin, targetWorstInterp)
	}
	if hasLab {
		check(fmt.Sprintf("labelled/upstream geometric mean (%d benchmarks)", len(labUp)), geomean(labUp), geomean(labUpMin), targetLabelledMean)
		fmt.Fprintf(w, "%-52s %.3fx\n", "labelled/fork geometric mean", geomean(labFork))
		fmt.Fprintf(w, "%-52s %.3fx\n", "worst labelled/upstream: "+labWorstName, labWorst)
	}
	return missed
}

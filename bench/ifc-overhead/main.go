// Command ifc-overhead measures what the information-flow labels cost: it runs upstream's
// BenchmarkStarlark suite on the pristine pinned go.starlark.net and on the Aegis fork
// (starlark-ifc/starlark), plus the fork's BenchmarkStarlarkLabeled (the same programs with
// labelled inputs), interleaved in one run, and prints per-benchmark medians, ratios and
// geometric means against the targets of issue 13.
//
//	go run ./bench/ifc-overhead -rounds 6
//	go run ./bench/ifc-overhead -callgrind    # instruction counts instead of time
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
// With -callgrind, measureIr() counts instructions instead (valgrind --tool=callgrind):
// slower, but repeatable on a loaded machine, so the ratios are the same from run to run.
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

// Targets from issue 13.
const (
	targetGeomean       = 1.08 // fork/upstream geometric mean, no labelled data
	targetWorst         = 1.30 // fork/upstream, worst benchmark
	targetLabelledMean  = 1.20 // labelled/upstream geometric mean
	targetLabelledWorst = 1.40 // labelled/upstream, worst benchmark
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
	callgrind bool
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
	flag.BoolVar(&cfg.callgrind, "callgrind", false, "count instructions per op with valgrind --tool=callgrind instead of timing (repeatable under load; needs valgrind; -rounds and -benchtime are ignored)")
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
	if cfg.callgrind {
		names, ir, err := measureIr(variants, filter)
		if err != nil {
			return err
		}
		if reportIr(os.Stdout, names, ir, cfg) && cfg.strict {
			return errors.New("a target was missed (see above)")
		}
		return nil
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
	names, err := benchNames(vs[0], filter)
	if err != nil {
		return nil, nil, err
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
	labWorstName, labWorst, labWorstMin := "", 0.0, 0.0
	for _, name := range names {
		upS, fkS := results["upstream"][name], results["fork"][name]
		up, fk := stats(upS), stats(fkS)
		r, rmin := pairedRatio(fkS, upS), fk.min/up.min
		forkR, forkMin = append(forkR, r), append(forkMin, rmin)
		mark := ""
		if interpreterBound[name] {
			mark = " *"
		}
		if r > worst {
			worstName, worst, worstMin = name, r, rmin
		}
		row := fmt.Sprintf("%s%s\t%.0f\t%.0f%%\t%.0f\t%.0f%%\t%.3f\t%.3f\t%.0f→%.0f", name, mark, up.med, 100*up.spread, fk.med, 100*fk.spread, r, rmin, up.allocs, fk.allocs)
		if hasLab {
			lbS := results["labelled"][name]
			lb := stats(lbS)
			lu, lf, lumin := pairedRatio(lbS, upS), pairedRatio(lbS, fkS), lb.min/up.min
			labUp, labFork, labUpMin = append(labUp, lu), append(labFork, lf), append(labUpMin, lumin)
			if lu > labWorst {
				labWorstName, labWorst, labWorstMin = name, lu, lumin
			}
			row += fmt.Sprintf("\t%.0f\t%.0f%%\t%.3f\t%.3f\t%.3f\t%.0f", lb.med, 100*lb.spread, lf, lu, lumin, lb.allocs)
		}
		fmt.Fprintln(tw, row+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\n* interpreter-bound")

	c := checker{w: w}
	fmt.Fprintln(w)
	c.check(fmt.Sprintf("fork/upstream geometric mean (%d benchmarks)", len(forkR)), geomean(forkR), geomean(forkMin), targetGeomean)
	c.check("worst fork/upstream: "+worstName, worst, worstMin, targetWorst)
	if hasLab {
		c.check(fmt.Sprintf("labelled/upstream geometric mean (%d benchmarks)", len(labUp)), geomean(labUp), geomean(labUpMin), targetLabelledMean)
		c.check("worst labelled/upstream: "+labWorstName, labWorst, labWorstMin, targetLabelledWorst)
		fmt.Fprintf(w, "%-52s %.3fx\n", "labelled/fork geometric mean", geomean(labFork))
	}
	return c.missed
}

// checker prints a figure against its target and remembers a miss.
type checker struct {
	w      io.Writer
	missed bool
}

// check prints got (and, when gotMin is not NaN, the ratio of the fastest runs beside it).
func (c *checker) check(what string, got, gotMin, target float64) {
	verdict := "ok"
	if got > target {
		verdict, c.missed = "MISSED", true
	}
	also := ""
	if !math.IsNaN(gotMin) {
		also = fmt.Sprintf(" (min-based %.3fx)", gotMin)
	}
	fmt.Fprintf(c.w, "%-52s %.3fx%s  target ≤ %.2fx  %s\n", what, got, also, target, verdict)
}

// irEnv makes a test binary's instruction count repeatable under valgrind: one P (no idle
// spinning), no garbage collector (its cycles fall at different points), no RDTSCP (which
// valgrind cannot decode) and no asynchronous preemption signals (which callgrind mishandles).
var irEnv = []string{"GOMAXPROCS=1", "GOGC=off", "GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1"}

// irRefs runs one benchmark of v at -test.benchtime=Nx under callgrind and returns the
// instructions executed by the whole process.
func irRefs(v variant, name string, n int) (float64, error) {
	cmd := exec.Command("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", v.bin,
		"-test.run", "^$", "-test.bench", v.bench+"/^"+regexp.QuoteMeta(name)+"$", "-test.benchtime", fmt.Sprintf("%dx", n))
	cmd.Dir = v.dir
	cmd.Env = append(os.Environ(), irEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("valgrind %s %s: %w\n%s%s", v.name, name, err, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "--- FAIL") {
		return 0, fmt.Errorf("%s %s failed under valgrind:\n%s", v.name, name, stdout.String())
	}
	m := irLine.FindStringSubmatch(stderr.String())
	if m == nil {
		return 0, fmt.Errorf("valgrind %s %s: no instruction count in\n%s", v.name, name, stderr.String())
	}
	return strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
}

var irLine = regexp.MustCompile(`I\s+refs:\s+([\d,]+)`)

// irPerOp returns the instructions of one iteration of a benchmark: the difference between
// a run of 2+m iterations and one of 2 (the testing package runs a benchmark function with
// N=1 first, then with N; both runs do the function's set-up once each), divided by m, with
// m grown until the difference is large enough to drown the run-to-run jitter.
func irPerOp(v variant, name string) (float64, error) {
	base, err := irRefs(v, name, 2)
	if err != nil {
		return 0, err
	}
	for m := 2; ; {
		total, err := irRefs(v, name, 2+m)
		if err != nil {
			return 0, err
		}
		d := total - base
		if d >= 40e6 || m >= 10_000_000 {
			return d / float64(m), nil
		}
		m = int(float64(m) * math.Min(1000, math.Max(4, 60e6/math.Max(d, 1))))
	}
}

// measureIr counts the instructions per op of every benchmark in every variant, two
// valgrind processes at a time. ir[variant][benchmark].
func measureIr(vs []variant, filter *regexp.Regexp) ([]string, map[string]map[string]float64, error) {
	names, err := benchNames(vs[0], filter)
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	type job struct {
		v    variant
		name string
	}
	type result struct {
		job
		ir  float64
		err error
	}
	jobs := make(chan job)
	results := make(chan result)
	for range 2 {
		go func() {
			for j := range jobs {
				ir, err := irPerOp(j.v, j.name)
				results <- result{j, ir, err}
			}
		}()
	}
	go func() {
		for _, name := range names {
			for _, v := range vs {
				jobs <- job{v, name}
			}
		}
		close(jobs)
	}()
	ir := map[string]map[string]float64{}
	for _, v := range vs {
		ir[v.name] = map[string]float64{}
	}
	var firstErr error
	for range len(names) * len(vs) {
		r := <-results
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		ir[r.v.name][r.name] = r.ir
		fmt.Printf("%-10s %-40s %14.0f instructions/op\n", r.v.name, r.name, r.ir)
	}
	return names, ir, firstErr
}

// reportIr prints the instruction-count table and the targets; it returns whether one was
// missed. The ratios are of instructions, a proxy for time that ignores cache and branch
// effects, but the same from one run to the next.
func reportIr(w io.Writer, names []string, ir map[string]map[string]float64, cfg config) bool {
	hasLab := cfg.labelled && len(ir["labelled"]) > 0
	fmt.Fprintf(w, "\nInstructions per op (callgrind; differences of two runs, see irPerOp).\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "benchmark\tupstream\tfork\tfork/up"
	if hasLab {
		header += "\tlabelled\tlab/fork\tlab/up"
	}
	fmt.Fprintln(tw, header+"\t")
	var forkR, labUp, labFork []float64
	worstName, worst, labWorstName, labWorst := "", 0.0, "", 0.0
	for _, name := range names {
		up, fk := ir["upstream"][name], ir["fork"][name]
		r := fk / up
		forkR = append(forkR, r)
		if r > worst {
			worstName, worst = name, r
		}
		mark := ""
		if interpreterBound[name] {
			mark = " *"
		}
		row := fmt.Sprintf("%s%s\t%.0f\t%.0f\t%.3f", name, mark, up, fk, r)
		if hasLab {
			lb := ir["labelled"][name]
			lu, lf := lb/up, lb/fk
			labUp, labFork = append(labUp, lu), append(labFork, lf)
			if lu > labWorst {
				labWorstName, labWorst = name, lu
			}
			row += fmt.Sprintf("\t%.0f\t%.3f\t%.3f", lb, lf, lu)
		}
		fmt.Fprintln(tw, row+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\n* interpreter-bound")
	c := checker{w: w}
	fmt.Fprintln(w)
	c.check(fmt.Sprintf("fork/upstream geometric mean (%d benchmarks)", len(forkR)), geomean(forkR), math.NaN(), targetGeomean)
	c.check("worst fork/upstream: "+worstName, worst, math.NaN(), targetWorst)
	if hasLab {
		c.check(fmt.Sprintf("labelled/upstream geometric mean (%d benchmarks)", len(labUp)), geomean(labUp), math.NaN(), targetLabelledMean)
		c.check("worst labelled/upstream: "+labWorstName, labWorst, math.NaN(), targetLabelledWorst)
		fmt.Fprintf(w, "%-52s %.3fx\n", "labelled/fork geometric mean", geomean(labFork))
	}
	return c.missed
}

// benchNames lists the benchmarks of v that filter (nil: all) keeps, by
// running each once.
func benchNames(v variant, filter *regexp.Regexp) ([]string, error) {
	all, err := runBench(v, v.bench, "1x")
	if err != nil {
		return nil, fmt.Errorf("listing the benchmarks: %w", err)
	}
	var names []string
	for name := range all {
		if filter == nil || filter.MatchString(name) {
			names = append(names, name)
		}
	}
	return names, nil
}

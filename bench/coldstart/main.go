// Command coldstart measures what starting Aegis costs: the wall time of
// `aegis run --policy P hello.star` on a one-line script against the time of
// upstream's `starlark hello.star` on the same script, as a ratio of medians
// (issue 13's target: at most 1.25x). The CPU time of the runs (user +
// system, from the kernel's accounting of the child) is reported beside it:
// it counts no time spent waiting for a core, so on a loaded machine it is
// the steadier figure.
//
//	go run ./bench/coldstart -n 200
//
// Map: build() compiles ./cmd/aegis, the pristine upstream command (copied
// out of the module cache into a temp dir and built there as its own module
// with its own go.sum, so it is exactly the pinned upstream, not the fork),
// and, with -fork, the fork's copy of that command (starlark-ifc/cmd/starlark)
// to separate what the interpreter changes cost from what Aegis adds;
// measure() runs each command n times, interleaved (the order rotates every
// round so no command always goes first), after a few untimed warm-up runs;
// report() prints median, p90 and min per command and the ratios.
//
// Everything runs in a temp dir: the policy, the script and the audit log the
// runs append to. The machine is usually shared and noisy, which is why the
// runs are interleaved and the ratio is of medians. This is a measurement
// tool, not a test: it exits non-zero only when something fails to build or
// run, or, with -strict, when the target is missed.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aegisdev/aegis/bench/internal/upstream"
)

const target = 1.25 // aegis/upstream, ratio of median wall times (issue 13)

const script = "print(\"hello\")\n"

// policy is the smallest a user would write: the preset, nothing granted.
const policy = `# coldstart benchmark: the preset, nothing granted.
version = "1"
inherits = "secure-defaults"
name = "coldstart"
`

type config struct {
	n      int
	warmup int
	fork   bool
	strict bool
	keep   bool
	also   string // comma-separated aegis binaries to time beside ./cmd/aegis (A/B of a change)
}

// command is one program under test and the wall times of its runs.
type command struct {
	name  string
	argv  []string
	times []time.Duration
	cpu   []time.Duration // user + system time of each run
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 200, "timed runs of each command")
	flag.IntVar(&cfg.warmup, "warmup", 5, "untimed runs of each command first (page cache, audit log creation)")
	flag.BoolVar(&cfg.fork, "fork", true, "also time the fork's starlark command (starlark-ifc/cmd/starlark)")
	flag.BoolVar(&cfg.strict, "strict", false, "exit 1 when the ratio of medians is over the target")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temp dir (binaries, policy, audit log)")
	flag.StringVar(&cfg.also, "also", "", "comma-separated paths of other aegis binaries to time the same way (e.g. a build of another commit)")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.n < 1 || cfg.warmup < 0 {
		return errors.New("-n must be at least 1 and -warmup at least 0")
	}
	tmp, err := os.MkdirTemp("", "aegis-coldstart-")
	if err != nil {
		return fmt.Errorf("creating the temp dir: %w", err)
	}
	if cfg.keep {
		fmt.Println("temp dir:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	cmds, err := build(tmp, cfg)
	if err != nil {
		return err
	}
	if err := measure(tmp, cmds, cfg); err != nil {
		return err
	}
	if !report(cmds, cfg) && cfg.strict {
		os.Exit(1)
	}
	return nil
}

func build(tmp string, cfg config) ([]*command, error) {
	root, err := upstream.Go("", "env", "GOMOD")
	if err != nil || root == "" || root == os.DevNull {
		return nil, fmt.Errorf("run this inside the Aegis module (go env GOMOD: %q, %v)", root, err)
	}
	root = filepath.Dir(root)

	aegis := filepath.Join(tmp, "aegis")
	fmt.Println("building ./cmd/aegis")
	if _, err := upstream.Go(root, "build", "-o", aegis, "./cmd/aegis"); err != nil {
		return nil, fmt.Errorf("building aegis: %w", err)
	}

	upDir := filepath.Join(tmp, "upstream-src")
	if err := upstream.Fetch(root, upDir); err != nil {
		return nil, err
	}
	upBin := filepath.Join(tmp, "starlark-upstream")
	fmt.Println("building upstream's cmd/starlark")
	if _, err := upstream.Go(upDir, "build", "-o", upBin, "./cmd/starlark"); err != nil {
		return nil, fmt.Errorf("building upstream's starlark command: %w", err)
	}

	if err := os.WriteFile(filepath.Join(tmp, "hello.star"), []byte(script), 0o644); err != nil {
		return nil, fmt.Errorf("writing the script: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "aegis.toml"), []byte(policy), 0o644); err != nil {
		return nil, fmt.Errorf("writing the policy: %w", err)
	}
	cmds := []*command{
		{name: "upstream starlark", argv: []string{upBin, "hello.star"}},
		{name: "aegis run", argv: []string{aegis, "run", "--policy", "aegis.toml", "hello.star"}},
	}
	for _, bin := range strings.Split(cfg.also, ",") {
		if bin == "" {
			continue
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return nil, fmt.Errorf("-also %s: %w", bin, err)
		}
		cmds = append(cmds, &command{name: "aegis run (" + filepath.Base(bin) + ")", argv: []string{abs, "run", "--policy", "aegis.toml", "hello.star"}})
	}
	if cfg.fork {
		fork := filepath.Join(tmp, "starlark-fork")
		fmt.Println("building the fork's starlark-ifc/cmd/starlark")
		if _, err := upstream.Go(root, "build", "-o", fork, "./starlark-ifc/cmd/starlark"); err != nil {
			return nil, fmt.Errorf("building the fork's starlark command: %w", err)
		}
		cmds = append(cmds, &command{name: "fork starlark", argv: []string{fork, "hello.star"}})
	}
	return cmds, nil
}

// once runs a command and checks that it printed what the script prints, so
// that a command failing fast is never timed as a fast start.
func once(tmp string, c *command) (wall, cpu time.Duration, err error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir = tmp
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w\n%s", c.name, err, stderr.String())
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	// Upstream's print writes to stderr, Aegis's to stdout: either will do,
	// as long as it is the script's line and nothing else.
	if got := stdout.String() + stderr.String(); got != "hello\n" {
		return 0, 0, fmt.Errorf("%s printed %q, want \"hello\\n\"", c.name, got)
	}
	return wall, cpu, nil
}

func measure(tmp string, cmds []*command, cfg config) error {
	for i := 0; i < cfg.warmup; i++ {
		for _, c := range cmds {
			if _, _, err := once(tmp, c); err != nil {
				return err
			}
		}
	}
	fmt.Printf("timing %d runs of each, interleaved\n", cfg.n)
	for i := 0; i < cfg.n; i++ {
		for j := range cmds {
			c := cmds[(i+j)%len(cmds)]
			d, cpu, err := once(tmp, c)
			if err != nil {
				return err
			}
			c.times, c.cpu = append(c.times, d), append(c.cpu, cpu)
		}
	}
	return nil
}

// sorted returns a sorted copy of ds.
func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	return s
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// report prints the table and the ratios; it returns whether the target is met.
func report(cmds []*command, cfg config) bool {
	med := map[string]time.Duration{}
	mins := map[string]time.Duration{}
	cpuMed := map[string]time.Duration{}
	fmt.Printf("\n%-28s %10s %10s %10s %12s\n", "command", "median", "p90", "min", "CPU median")
	for _, c := range cmds {
		s := sorted(c.times)
		med[c.name], mins[c.name] = quantile(s, 0.5), s[0]
		cpuMed[c.name] = quantile(sorted(c.cpu), 0.5)
		fmt.Printf("%-28s %10s %10s %10s %12s\n", c.name, ms(med[c.name]), ms(quantile(s, 0.9)), ms(s[0]), ms(cpuMed[c.name]))
	}
	up := med["upstream starlark"]
	ratio := float64(med["aegis run"]) / float64(up)
	fmt.Printf("\naegis run / upstream starlark, ratio of medians: %.2fx (of minimums: %.2fx); target <= %.2fx: %s\n",
		ratio, float64(mins["aegis run"])/float64(mins["upstream starlark"]), target, verdict(ratio <= target))
	fmt.Printf("aegis run / upstream starlark, ratio of median CPU times (user+system): %.2fx\n",
		float64(cpuMed["aegis run"])/float64(cpuMed["upstream starlark"]))
	for _, c := range cmds {
		if strings.HasPrefix(c.name, "aegis run (") {
			fmt.Printf("%s / upstream starlark: %.2fx of medians, %.2fx of median CPU times\n", c.name,
				float64(med[c.name])/float64(up), float64(cpuMed[c.name])/float64(cpuMed["upstream starlark"]))
		}
	}
	if cfg.fork {
		fmt.Printf("fork starlark / upstream starlark, ratio of medians: %.2fx\n", float64(med["fork starlark"])/float64(up))
	}
	return ratio <= target
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

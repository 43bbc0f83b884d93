package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	exfilprobes "github.com/aegisdev/aegis/exfil-probes"
)

// newProbeCmd is `aegis probe`: the exfiltration suite run against this very binary (and the
// aegis-mcp next to it), so that anyone can check the claim with one command.
func newProbeCmd() *cobra.Command {
	var (
		policyPath string
		via        string
		jsonOut    bool
		markdown   bool
		runFilter  string
		mcpPath    string
		jobs       int
		keep       bool
		list       bool
		timeout    time.Duration

		progressMode string
	)
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Try to exfiltrate local-only secrets and report whether any attempt got through",
		Long: `probe runs the exfiltration suite against this aegis binary ("aegis run") and against the
aegis-mcp binary found next to it or on PATH (its aegis_run tool).

Every attack script runs once per fixture secret (four of them: three of one length, one of
another) in a fresh work tree, and once more with the first secret to prove the runs are
deterministic. The harness compares what a user of the run can see: exit status, stdout,
stderr, the MCP result, the files outside the local-only zone, and the requests a loopback
HTTP server received. Verdicts:

  BLOCKED  every secret gave identical observables
  TERM     only the way the run terminated differs (the named one-bit-per-run channel)
  LEAK     anything else differs, or a secret or a known transform of it was seen

Utility scripts must succeed with their exact expected output and canaries must be caught,
so the suite cannot pass by refusing everything. A canary leaks a public value on purpose
to prove the harness watches its channel: the table shows it as "caught (expected)" (its
raw verdict, LEAK or TERM, stays in --json), or "MISSED" when the harness did not see it.

On a terminal a progress line on stderr counts the sessions run and the scripts judged. The command exits non-zero on any LEAK,
failed control or script that could not be judged (exit 1; exit 5 when it could not run at
all). The suite needs Linux loopback aliases
(127.0.0.1 and 127.0.0.2) and the commands echo, cat, cp, sort, ls, grep, wc and printenv.`,
		Example: `  # the whole suite through both paths
  aegis probe

  # only the CLI path, machine-readable
  aegis probe --via cli --json > probe.json

  # a few probes by name, keeping the work trees to inspect
  aegis probe --run 'zone|subprocess' --keep`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scripts, err := exfilprobes.Catalog()
			if err != nil {
				return fmt.Errorf("load the probe catalog: %w", err)
			}
			if runFilter != "" {
				scripts, err = filterScripts(scripts, runFilter)
				if err != nil {
					return err
				}
			}
			if list {
				if jsonOut {
					type entry struct {
						Name     string `json:"name"`
						Kind     string `json:"kind"`
						Category string `json:"category"`
						Sink     string `json:"sink,omitempty"`
						Tries    string `json:"tries"`
					}
					list := []entry{}
					for _, sc := range scripts {
						list = append(list, entry{sc.Name, string(sc.Kind), sc.Category, sc.Sink, sc.Tries})
					}
					return emitJSON(cmd, struct {
						Scripts []entry `json:"scripts"`
					}{list}, outcome{kind: kindOfCode(exitOK)})
				}
				return listScripts(cmd, scripts)
			}
			showProgress, err := wantProgress(progressMode, cmd.ErrOrStderr())
			if err != nil {
				return usageError(cmd, err)
			}
			template := exfilprobes.DefaultPolicy()
			if policyPath != "" {
				b, err := os.ReadFile(policyPath)
				if err != nil {
					return fmt.Errorf("read probe policy template: %w", err)
				}
				template = string(b)
			}
			executors, err := probeExecutors(via, mcpPath)
			if err != nil {
				return err
			}
			root, err := os.MkdirTemp("", "aegis-probe-")
			if err != nil {
				return fmt.Errorf("create the probe work directory: %w", err)
			}
			if keep {
				fmt.Fprintf(cmd.ErrOrStderr(), "aegis probe: work trees kept in %s\n", root)
			} else {
				defer os.RemoveAll(root)
			}
			parent := cmd.Context()
			if parent == nil {
				parent = context.Background()
			}
			ctx, stop := signal.NotifyContext(parent, os.Interrupt)
			defer stop()

			var reports []*exfilprobes.Report
			for _, ex := range executors {
				if showProgress {
					pr := newProgress(cmd.ErrOrStderr(), ex.Name(), scripts, len(exfilprobes.Secrets()))
					ex = &progressExecutor{Executor: ex, p: pr}
					defer pr.finish()
				}
				rep, err := exfilprobes.Run(ctx, exfilprobes.Config{
					Executor:       ex,
					Scripts:        scripts,
					PolicyTemplate: template,
					Root:           root,
					Jobs:           jobs,
					RunTimeout:     timeout,
				})
				if err != nil {
					return fmt.Errorf("probe via %s: %w", ex.Name(), err)
				}
				reports = append(reports, rep)
				if pe, ok := ex.(*progressExecutor); ok {
					pe.p.finish()
				}
				if !jsonOut && !markdown {
					if err := rep.WriteTable(cmd.OutOrStdout(), root); err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout())
				}
			}
			var failed []string
			for _, r := range reports {
				if r.Failed() {
					s := r.Summary
					failed = append(failed, fmt.Sprintf("via %s: %d leak, %d failed control(s), %d not judged", r.Via, s.Leak, s.ControlsFailed, s.Errors))
				}
			}
			var failure error
			if len(failed) > 0 {
				failure = &probeFailedError{summary: failed}
			}
			switch {
			case jsonOut:
				o := outcome{kind: kindOfCode(exitOK)}
				if failure != nil {
					o = outcome{code: exitCheckFailed, kind: kindCheckFailed, err: failure.Error()}
				}
				if err := emitJSON(cmd, exfilprobes.NewJSONReport(reports), o); err != nil {
					return err
				}
				if failure != nil {
					return &exitError{code: exitCheckFailed, quiet: true, err: failure}
				}
				return nil
			case markdown:
				if err := exfilprobes.WriteMarkdown(cmd.OutOrStdout(), reports, root); err != nil {
					return err
				}
			}
			return failure
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyPath, "policy", "", "policy template to run the probes under instead of the built-in one (placeholders {{WORK}}, {{PUBLIC_HOST}}, {{ZONE_HOST}})")
	f.StringVar(&via, "via", "both", "which path to probe: cli (aegis run), mcp (aegis-mcp's aegis_run), both, cli-json (aegis run --json), mcp-modern (aegis_run through MCP 2026-07-28: server/discover, approvals as input_required retries) or all four")
	f.BoolVar(&jsonOut, "json", false, "print one JSON document with every verdict and every observation")
	f.BoolVar(&markdown, "markdown", false, "print the results as a Markdown table, one verdict column per path")
	f.StringVar(&runFilter, "run", "", "only the attack probes whose name matches this regular expression (controls always run)")
	f.StringVar(&mcpPath, "aegis-mcp", "", "path of the aegis-mcp binary (default: next to this aegis, else on PATH)")
	f.IntVar(&jobs, "jobs", min(runtime.NumCPU(), 4), "probes run in parallel")
	f.BoolVar(&keep, "keep", false, "keep the work trees (fixtures, policies, scripts) for inspection")
	f.BoolVar(&list, "list", false, "list the probes and controls without running them")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "limit for one run of one script")
	f.StringVar(&progressMode, "progress", "auto", "a progress line on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

// probeFailedError is a suite that ran and found a leak or a failed control: exit status 1, which
// tells it apart from a suite that could not run (a missing binary, a bad flag: 5).
type probeFailedError struct{ summary []string }

func (e *probeFailedError) Error() string {
	return "exfiltration probe suite failed: " + strings.Join(e.summary, "; ")
}

func (e *probeFailedError) ExitCode() int { return 1 }

func filterScripts(scripts []*exfilprobes.Script, expr string) ([]*exfilprobes.Script, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("--run %q: %w", expr, err)
	}
	var out []*exfilprobes.Script
	for _, sc := range scripts {
		attack := sc.Kind == exfilprobes.KindProbe || sc.Kind == exfilprobes.KindBudget
		if !attack || re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func listScripts(cmd *cobra.Command, scripts []*exfilprobes.Script) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tCATEGORY\tSINK\tTRIES")
	for _, sc := range scripts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sc.Name, sc.Kind, sc.Category, sc.Sink, sc.Tries)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write probe list: %w", err)
	}
	return nil
}

// probeExecutors builds the executors --via asks for. The CLI path runs this very executable,
// so the suite always tests the binary the user invoked.
func probeExecutors(via, mcpPath string) ([]exfilprobes.Executor, error) {
	var out []exfilprobes.Executor
	wantCLI := via == "cli" || via == "both" || via == "all"
	wantJSON := via == "cli-json" || via == "all"
	wantMCP := via == "mcp" || via == "both" || via == "all"
	wantModern := via == "mcp-modern" || via == "all"
	if !wantCLI && !wantJSON && !wantMCP && !wantModern {
		return nil, fmt.Errorf("--via %q: use cli, mcp, both (cli and mcp), cli-json, mcp-modern or all", via)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the aegis executable: %w", err)
	}
	if wantCLI {
		out = append(out, &exfilprobes.CLIExecutor{Aegis: self})
	}
	if wantJSON {
		out = append(out, &exfilprobes.CLIExecutor{Aegis: self, JSON: true})
	}
	if wantMCP || wantModern {
		p, err := findMCP(self, mcpPath)
		if err != nil {
			return nil, err
		}
		if wantMCP {
			out = append(out, &exfilprobes.MCPExecutor{Binary: p})
		}
		if wantModern {
			out = append(out, &exfilprobes.MCPExecutor{Binary: p, Modern: true})
		}
	}
	return out, nil
}

func findMCP(self, explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	p, err := findMCPWith(self, exec.LookPath)
	if err != nil {
		return "", fmt.Errorf("%w: install it, pass --aegis-mcp PATH, or use --via cli", err)
	}
	return p, nil
}

// mcpBinaryName is the file name of aegis-mcp on this system.
func mcpBinaryName() string {
	if runtime.GOOS == "windows" {
		return "aegis-mcp.exe"
	}
	return "aegis-mcp"
}

// wantProgress decides whether probe draws a progress line on w.
func wantProgress(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := w.(*os.File)
		return ok && term.IsTerminal(int(f.Fd())), nil
	}
	return false, fmt.Errorf("--progress %q: use auto, always or never", mode)
}

// progress is the one-line progress display of one pass: sessions run of
// the total, scripts judged, and the scripts running now.
type progress struct {
	w         io.Writer
	via       string
	mu        sync.Mutex
	total     int
	done      int
	scripts   int
	judged    int
	remaining map[string]int // sessions left per script
	running   map[string]int // sessions open per script
	last      time.Time
	finished  bool
}

// newProgress counts the sessions the harness opens for each script: one
// per secret, and one more (the repeat of the first secret, to tell noise
// from a leak) except for the multi-run budget probe.
func newProgress(w io.Writer, via string, scripts []*exfilprobes.Script, secrets int) *progress {
	p := &progress{w: w, via: via, scripts: len(scripts), remaining: map[string]int{}, running: map[string]int{}}
	for _, sc := range scripts {
		n := secrets
		if sc.Kind != exfilprobes.KindBudget {
			n++
		}
		p.remaining[sc.Name] += n
		p.total += n
	}
	return p
}

func (p *progress) open(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[name]++
	p.draw(false)
}

func (p *progress) closed(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.running[name]--; p.running[name] <= 0 {
		delete(p.running, name)
	}
	if p.remaining[name]--; p.remaining[name] == 0 {
		p.judged++
	}
	p.draw(false)
}

// finish ends the line; it is safe to call twice.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.draw(true)
	fmt.Fprintln(p.w)
	p.finished = true
}

// draw rewrites the line, at most ten times a second unless forced.
func (p *progress) draw(force bool) {
	if p.finished || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	now := ""
	if len(names) > 0 {
		now = "; running " + strings.Join(names, ", ")
	}
	fmt.Fprintf(p.w, "\r\x1b[Kaegis probe via %s: %d/%d sessions, %d/%d scripts judged%s", p.via, p.done, p.total, p.judged, p.scripts, now)
}

// progressExecutor reports the sessions of a pass to a progress line.
type progressExecutor struct {
	exfilprobes.Executor
	p *progress
}

func (e *progressExecutor) Open(ctx context.Context, spec exfilprobes.SessionSpec) (exfilprobes.Session, error) {
	e.p.open(spec.Script.Name)
	s, err := e.Executor.Open(ctx, spec)
	if err != nil {
		e.p.closed(spec.Script.Name)
		return nil, err
	}
	return &progressSession{Session: s, p: e.p, name: spec.Script.Name}, nil
}

type progressSession struct {
	exfilprobes.Session
	p    *progress
	name string
	once sync.Once
}

func (s *progressSession) Close() (string, error) {
	defer s.once.Do(func() { s.p.closed(s.name) })
	return s.Session.Close()
}

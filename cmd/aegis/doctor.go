package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/internal/version"
	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// Statuses of a doctor check. Only fail makes doctor exit non-zero.
const (
	checkOK   = "ok"
	checkInfo = "info" // worth knowing, nothing to fix
	checkWarn = "warn" // works, but weaker or riskier than it could be
	checkFail = "fail" // broken or unsafe: fix it
)

// check is one finding of doctor.
type check struct {
	Area    string `json:"area"` // policy, platform, sandbox, host, audit, budget, aegis-mcp
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// budgetView is one principal's leakage budget: the secret-dependent aborts
// and the bits the audit log has charged to it since its last reset, and
// the limits of the policy.
type budgetView struct {
	Principal string `json:"principal"`
	Aborts    int64  `json:"aborts"`
	MaxAborts int64  `json:"max_aborts"`
	Bits      int64  `json:"bits"`
	MaxBits   int64  `json:"max_bits"`
	Readable  bool   `json:"readable"` // a run may still read it (a fresh read fits both limits)
}

// doctorReport is the --json object of doctor.
type doctorReport struct {
	Policy  string       `json:"policy,omitempty"`
	Checks  []check      `json:"checks"`
	Budgets []budgetView `json:"budgets"`
	Summary struct {
		OK, Info, Warn, Fail int
	} `json:"-"`
}

func (r *doctorReport) add(c check) {
	r.Checks = append(r.Checks, c)
	switch c.Status {
	case checkOK:
		r.Summary.OK++
	case checkInfo:
		r.Summary.Info++
	case checkWarn:
		r.Summary.Warn++
	case checkFail:
		r.Summary.Fail++
	}
}

// doctorEnv is what doctor looks at, replaceable in tests.
type doctorEnv struct {
	lookPath func(string) (string, error)
	// sandbox says whether a jail mechanism ("bwrap", "landlock") works
	// here, and describes it.
	sandbox func(mode string) (string, error)
	// jail is runner.JailWarning: how the policy's commands would run.
	jail       func(*policy.Policy) (warning, mechanism string, err error)
	self       func() (string, error)
	mcpVersion func(ctx context.Context, path string) (string, error)
	// unsupported says why this build refuses every call of a capability
	// (effect.ExecUnsupported, effect.FSUnsupported), nil when it makes them.
	unsupported func(policy.Capability) error
}

func defaultDoctorEnv() doctorEnv {
	return doctorEnv{
		lookPath: exec.LookPath,
		sandbox: func(mode string) (string, error) {
			sb, err := effect.DetectSandbox(mode)
			if err != nil {
				return "", err
			}
			return sb.String(), nil
		},
		jail:        runner.JailWarning,
		self:        os.Executable,
		mcpVersion:  mcpVersion,
		unsupported: unsupportedHere,
	}
}

// unsupportedHere says why this build refuses every call of c: commands run
// only on Linux, file effects only on Unix systems.
func unsupportedHere(c policy.Capability) error {
	switch {
	case c == policy.SubprocessExec:
		return effect.ExecUnsupported
	case c.IsFS():
		return effect.FSUnsupported
	}
	return nil
}

func newDoctorCmd() *cobra.Command {
	var (
		policyPath string
		jsonOut    bool
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the policy, sandbox, host wiring, audit log and leakage budgets",
		Long: `doctor checks what a working Aegis setup needs, and says how to fix what it finds:

  policy     found (--policy, or aegis.toml from the working directory up), valid, and
             inheriting secure-defaults
  platform   outside Linux only: the capabilities this build refuses (commands run
             only on Linux, file effects only on Unix systems); a failure when the
             policy enables one
  sandbox    what [subprocess].sandbox asks for, and what this machine offers
             (bubblewrap, Landlock)
  host       for each agent host wired in the project (.mcp.json, opencode.json,
             .cursor/...): whether the files still hold what 'aegis host-config HOST'
             writes, and whether the host can start the aegis-mcp they name
  aegis-mcp  found next to aegis or on PATH, and the same version
  audit      the audit log's hash chain ('aegis audit verify')
  budget     for each local-only principal, the bits and the secret-dependent aborts
             the audit log has charged to it, against [runtime].max_leak_bits and
             max_secret_dependent_aborts, and whether its reads are still admitted

Each check is ok, info, warn or fail. Exit status 1 when any check fails, 0 otherwise
(warnings included), 5 when doctor itself could not run.`,
		Example: `  aegis doctor
  aegis doctor --policy aegis.toml --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := runDoctor(cmd, policyPath, defaultDoctorEnv())
			o := outcome{kind: kindOfCode(exitOK)}
			if rep.Summary.Fail > 0 {
				o = outcome{code: exitCheckFailed, kind: kindCheckFailed,
					err: fmt.Sprintf("%d check(s) failed: %s", rep.Summary.Fail, firstFailure(rep))}
			}
			if jsonOut {
				if err := emitJSON(cmd, rep, o); err != nil {
					return err
				}
			} else {
				printDoctor(cmd.OutOrStdout(), rep)
			}
			if o.code != 0 {
				return &exitError{code: o.code, quiet: true, err: errors.New(o.err)}
			}
			return nil
		},
	}
	addPolicyFlag(cmd, &policyPath)
	addJSONFlag(cmd, &jsonOut)
	return cmd
}

func firstFailure(rep *doctorReport) string {
	for _, c := range rep.Checks {
		if c.Status == checkFail {
			return c.Name + ": " + c.Message
		}
	}
	return ""
}

// runDoctor runs every check. Loading the policy goes through the same
// discovery as every command; a policy that does not load is a failed
// check, not an error of doctor.
func runDoctor(cmd *cobra.Command, policyPath string, env doctorEnv) *doctorReport {
	rep := &doctorReport{Checks: []check{}, Budgets: []budgetView{}}
	p := doctorPolicy(rep, policyPath)
	doctorPlatform(rep, p, env)
	doctorSandbox(rep, p, env)
	mcp := doctorMCP(cmd.Context(), rep, env)
	if p != nil {
		rep.Policy = p.Path()
		doctorHosts(rep, p, mcp, env)
		doctorAudit(rep, p)
	}
	return rep
}

func doctorPolicy(rep *doctorReport, policyPath string) *policy.Policy {
	if policyPath == "" {
		d, err := policy.DiscoverHere()
		if err != nil {
			rep.add(check{Area: "policy", Name: "policy", Status: checkFail, Message: err.Error()})
			return nil
		}
		if d.Path == "" {
			rep.add(check{Area: "policy", Name: "policy", Status: checkFail,
				Message: d.Missing() + ": every command falls back to secure-defaults, which denies every effect",
				Fix:     "aegis init --lang auto"})
			return nil
		}
		policyPath = d.Path
	}
	p, err := policy.Load(policyPath)
	if err != nil {
		msg := err.Error()
		var le *policy.LoadError
		if errors.As(err, &le) {
			msg = fmt.Sprintf("%s is invalid: %s", policyPath, le.Problems[0])
			if len(le.Problems) > 1 {
				msg += fmt.Sprintf(" (and %d more)", len(le.Problems)-1)
			}
		}
		rep.add(check{Area: "policy", Name: "policy", Status: checkFail, Message: msg, Fix: "aegis policy validate " + policyPath})
		return nil
	}
	rep.add(check{Area: "policy", Name: "policy", Status: checkOK, Message: fmt.Sprintf("%s is valid; %d capabilities enabled", p.Path(), len(p.Capabilities()))})
	if w := noInheritsWarning(p); w != "" {
		rep.add(check{Area: "policy", Name: "inherits", Status: checkWarn, Message: w, Fix: `inherits = "secure-defaults"`})
	} else {
		rep.add(check{Area: "policy", Name: "inherits", Status: checkOK, Message: "inherits " + p.Describe().Inherits})
	}
	return p
}

// doctorPlatform reports the capabilities this build refuses (none on
// Linux): a failure when the policy enables one, since every such call of a
// script fails here.
func doctorPlatform(rep *doctorReport, p *policy.Policy, env doctorEnv) {
	if env.unsupported == nil {
		return
	}
	var order []string
	refused := map[string][]string{} // by reason: the capabilities
	enabled := map[string]bool{}
	for _, c := range policy.AllCapabilities() {
		err := env.unsupported(c)
		if err == nil {
			continue
		}
		why := err.Error()
		if _, seen := refused[why]; !seen {
			order = append(order, why)
		}
		refused[why] = append(refused[why], string(c))
		enabled[why] = enabled[why] || (p != nil && p.Enabled(c))
	}
	for _, why := range order {
		c := check{Area: "platform", Name: strings.Join(refused[why], ", "), Status: checkInfo, Message: why}
		if enabled[why] {
			c.Status = checkFail
			c.Message = "the policy enables it, and every such call fails here: " + why
			c.Fix = "run Aegis on Linux, or remove these capabilities from the policy"
		}
		rep.add(c)
	}
}

func doctorSandbox(rep *doctorReport, p *policy.Policy, env doctorEnv) {
	var offers, missing []string
	for _, mode := range []string{"bwrap", "landlock"} {
		if what, err := env.sandbox(mode); err != nil {
			missing = append(missing, err.Error())
		} else {
			offers = append(offers, what)
		}
	}
	machine := "this machine offers " + strings.Join(offers, " and ")
	if len(offers) == 0 {
		machine = "this machine offers no sandbox: " + strings.Join(missing, "; ")
	}
	rep.add(check{Area: "sandbox", Name: "machine", Status: checkInfo, Message: machine})
	if p == nil {
		return
	}
	warning, mechanism, err := env.jail(p)
	c := check{Area: "sandbox", Name: "policy sandbox"}
	switch {
	case err != nil:
		c.Status = checkFail
		c.Message = fmt.Sprintf("[subprocess].sandbox = %q cannot run here, so every run that executes a command fails: %v", p.Sandbox(), err)
		c.Fix = `install what it needs, or set [subprocess].sandbox = "auto"`
	case warning != "":
		c.Status, c.Message = checkWarn, warning
		if len(offers) > 0 {
			c.Fix = `set [subprocess].sandbox = "auto"`
		}
	case p.Enabled(policy.SubprocessExec):
		c.Status, c.Message = checkOK, "commands run in "+mechanism
	default:
		c.Status, c.Message = checkOK, "the policy allows no command, so no sandbox is needed"
	}
	rep.add(c)
}

// mcpFound is the aegis-mcp doctor found, for the host checks.
type mcpFound struct {
	path string // "" when none
}

func doctorMCP(ctx context.Context, rep *doctorReport, env doctorEnv) mcpFound {
	self, err := env.self()
	if err != nil {
		self = ""
	}
	path, err := findMCPWith(self, env.lookPath)
	if err != nil {
		rep.add(check{Area: "aegis-mcp", Name: "aegis-mcp", Status: checkWarn, Message: err.Error(),
			Fix: "go install github.com/aegisdev/aegis/cmd/aegis-mcp@latest (or build ./cmd/aegis-mcp next to aegis)"})
		return mcpFound{}
	}
	c := check{Area: "aegis-mcp", Name: "aegis-mcp", Status: checkOK, Message: "found " + path}
	if ctx == nil {
		ctx = context.Background()
	}
	if v, err := env.mcpVersion(ctx, path); err != nil {
		c.Status, c.Message = checkWarn, fmt.Sprintf("%s does not answer --version: %v", path, err)
	} else if mine := version.Get().Short(); v != mine {
		c.Status = checkWarn
		c.Message = fmt.Sprintf("found %s, version %s, but this aegis is %s: the two may disagree on policy and protocol", path, v, mine)
		c.Fix = "install both from the same source tree"
	} else {
		c.Message += ", version " + v
	}
	rep.add(c)
	return mcpFound{path: path}
}

// mcpVersion asks an aegis-mcp binary for its version.
func mcpVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	c := exec.CommandContext(ctx, path, "--version")
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
	}
	// "aegis-mcp v1.2.0 (revision ...)": the second word.
	f := strings.Fields(out.String())
	if len(f) < 2 {
		return "", fmt.Errorf("unexpected output %q", out.String())
	}
	return f[1], nil
}

// findMCPWith is findMCP (probe.go) with a replaceable PATH lookup.
func findMCPWith(self string, lookPath func(string) (string, error)) (string, error) {
	if self != "" {
		sibling := filepath.Join(filepath.Dir(self), mcpBinaryName())
		if st, err := os.Stat(sibling); err == nil && !st.IsDir() {
			return sibling, nil
		}
	}
	p, err := lookPath("aegis-mcp")
	if err != nil {
		return "", fmt.Errorf("aegis-mcp is neither next to this aegis nor on PATH, so no agent host can start it")
	}
	return p, nil
}

// doctorHosts compares each wired host's files with what host-config
// would write for this policy.
func doctorHosts(rep *doctorReport, p *policy.Policy, mcp mcpFound, env doctorEnv) {
	root := p.Root()
	summary := mcppolicy.Summary(p)
	wired := 0
	for _, host := range mcpserver.HostNames() {
		c, isWired := hostCheck(host, root, p.Path(), summary, mcp, env)
		if isWired {
			wired++
			rep.add(c)
		}
	}
	if wired == 0 {
		rep.add(check{Area: "host", Name: "hosts", Status: checkInfo,
			Message: fmt.Sprintf("no agent host is wired to aegis-mcp in %s", root),
			Fix:     "aegis host-config " + strings.Join(mcpserver.HostNames(), "|") + " --policy " + p.Path()})
	}
}

// hostCheck checks one host. It is wired when one of its files names
// aegis-mcp. The files are in sync when they hold every entry host-config
// would write (the server entry may name aegis-mcp on PATH or by path).
func hostCheck(host, root, policyPath string, summary mcpserver.PolicySummary, mcp mcpFound, env doctorEnv) (check, bool) {
	c := check{Area: "host", Name: host, Fix: fmt.Sprintf("aegis host-config %s --policy %s", host, policyPath)}
	var variants [][]mcpserver.HostFile
	commands := []string{"aegis-mcp"}
	if mcp.path != "" {
		commands = append(commands, mcp.path)
	}
	for _, command := range commands {
		files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: host, PolicyPath: policyPath, Command: command, Summary: summary})
		if err != nil {
			c.Status, c.Message = checkFail, "cannot compute its configuration: "+err.Error()
			return c, true
		}
		variants = append(variants, files)
	}
	mentions := false
	for _, f := range variants[0] {
		path := f.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, filepath.FromSlash(path))
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			c.Status, c.Message = checkFail, fmt.Sprintf("cannot read %s: %v", f.Path, err)
			return c, true
		}
		mentions = mentions || bytes.Contains(b, []byte("aegis-mcp"))
	}
	if !mentions {
		return c, false
	}
	var firstDiff string
	for vi, files := range variants {
		// In sync means host-config --write would change nothing.
		diff := ""
		plan, err := mcpserver.PlanHostFiles(root, files)
		if err != nil {
			diff = err.Error()
		}
		for _, fc := range plan {
			if diff != "" {
				break
			}
			switch {
			case fc.Status == mcpserver.FileCreated:
				diff = fc.Path + " is missing"
			case fc.Status == mcpserver.FileUpdated && len(fc.Changes) > 0:
				diff = fc.Path + ": " + describeChange(fc.Changes[0])
			}
		}
		if diff == "" {
			c.Status, c.Message = checkOK, "wired; its files hold what host-config writes"
			if command := commands[vi]; !filepath.IsAbs(command) {
				if _, err := env.lookPath(command); err != nil {
					c.Status = checkFail
					c.Message = "wired to start aegis-mcp from PATH, and there is none on this PATH: the host cannot start the server"
					c.Fix = fmt.Sprintf("install aegis-mcp on PATH, or run aegis host-config %s --policy %s --command /absolute/path/to/aegis-mcp", host, policyPath)
				}
			}
			return c, true
		}
		if firstDiff == "" {
			firstDiff = diff
		}
	}
	c.Status = checkFail
	c.Message = "its files differ from what host-config writes for this policy: " + firstDiff
	return c, true
}

// describeChange words one change line of host-config ("+ key: value",
// "~ key: old -> new", "- key: entry (why)") as what the file lacks or
// holds instead.
func describeChange(line string) string {
	op, rest, _ := strings.Cut(line, " ")
	key, val, hasVal := strings.Cut(rest, ": ")
	switch {
	case op == "+" && hasVal:
		return fmt.Sprintf("%s lacks %s", key, val)
	case op == "+":
		return fmt.Sprintf("%s is missing", key)
	case op == "~":
		old, want, _ := strings.Cut(val, " -> ")
		return fmt.Sprintf("%s is %s, host-config writes %s", key, old, want)
	case op == "-":
		return fmt.Sprintf("%s holds %s", key, val)
	}
	return line
}

func doctorAudit(rep *doctorReport, p *policy.Policy) {
	log := p.AuditLog()
	rt := p.Runtime()
	spent := map[string]audit.Spent{}
	if _, err := os.Stat(log); errors.Is(err, fs.ErrNotExist) {
		rep.add(check{Area: "audit", Name: "audit log", Status: checkInfo, Message: log + " does not exist yet: the first run creates it"})
	} else {
		r, err := audit.Verify(log, 0)
		switch {
		case err != nil:
			rep.add(check{Area: "audit", Name: "audit log", Status: checkFail, Message: err.Error()})
		case !r.OK():
			rep.add(check{Area: "audit", Name: "audit log", Status: checkFail,
				Message: fmt.Sprintf("%s: the chain is broken (%d problems; the first: %s), and runs refuse to append to a damaged log", log, len(r.Problems), r.Problems[0]),
				Fix:     "aegis audit verify " + log})
		default:
			rep.add(check{Area: "audit", Name: "audit log", Status: checkOK, Message: fmt.Sprintf("%s: chain intact, %d records, last seq %d", log, r.Lines, r.LastSeq)})
		}
		if spent, err = audit.LeakLedger(log); err != nil {
			rep.add(check{Area: "budget", Name: "leakage budget", Status: checkFail, Message: "cannot read the charges of the leakage budget: " + err.Error()})
			return
		}
	}
	principals := map[string]bool{}
	for _, pr := range p.Principals() {
		principals[pr] = true
	}
	for pr := range spent {
		principals[pr] = true
	}
	names := make([]string, 0, len(principals))
	for pr := range principals {
		names = append(names, pr)
	}
	sort.Strings(names)
	// A fresh read is admitted while one more abort, charged at least
	// LeakCharge(0) bits, fits both limits (runner/budget.go).
	minCharge := policy.LeakCharge(0)
	for _, pr := range names {
		s := spent[pr]
		b := budgetView{Principal: pr, Aborts: s.Aborts, MaxAborts: rt.MaxSecretDependentAborts, Bits: s.Bits, MaxBits: rt.MaxLeakBits}
		abortsLeft, bitsLeft := max(0, b.MaxAborts-b.Aborts), max(0, b.MaxBits-b.Bits)
		b.Readable = abortsLeft >= 1 && bitsLeft >= minCharge
		rep.Budgets = append(rep.Budgets, b)
		c := check{Area: "budget", Name: pr, Status: checkOK,
			Message: fmt.Sprintf("%d of %d bits and %d of %d secret-dependent aborts used", b.Bits, b.MaxBits, b.Aborts, b.MaxAborts)}
		switch {
		case !b.Readable:
			c.Status = checkFail
			c.Message += ": reads of this source are refused"
			c.Fix = "rotate the secret if a script may have been probing it, then aegis audit reset-budget " + pr + " (or raise the limits)"
		case abortsLeft*4 <= b.MaxAborts || bitsLeft*4 <= b.MaxBits:
			c.Status = checkWarn
			c.Message += ": most of it is spent; look at the charges (aegis audit show --kind secret_abort)"
		}
		rep.add(c)
	}
}

// printDoctor is the text form: one line per check, a fix under it.
func printDoctor(w io.Writer, rep *doctorReport) {
	area := ""
	for _, c := range rep.Checks {
		if c.Area != area {
			area = c.Area
			fmt.Fprintf(w, "%s\n", area)
		}
		fmt.Fprintf(w, "  %-4s  %s: %s\n", strings.ToUpper(c.Status), c.Name, c.Message)
		if c.Fix != "" && c.Status != checkOK {
			fmt.Fprintf(w, "        fix: %s\n", c.Fix)
		}
	}
	s := rep.Summary
	fmt.Fprintf(w, "\n%d ok, %d info, %d warnings, %d failed\n", s.OK, s.Info, s.Warn, s.Fail)
}

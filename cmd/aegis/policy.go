package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// newPolicyCmd is `aegis policy`: validate, show and explain a policy.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check a policy, print its effective rules, and explain decisions",
		Long: `The policy file (TOML, usually aegis.toml) is the single source of truth for what a
script may do. Everything is denied unless a rule allows it, and a deny rule beats every
allow rule. The reference for every key is docs/policy-file.md.

  validate  checks the file and lists the capabilities it enables
  show      prints the effective policy after inheritance, each entry with its origin
  explain   answers one question: may this capability be used on this target, and why`,
		Example: `  aegis policy validate aegis.toml
  aegis policy show aegis.toml
  aegis policy explain --policy aegis.toml fs.read src/main.go`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyShowCmd(), newPolicyExplainCmd())
	return cmd
}

// policyArg picks the policy path from a positional argument or --policy.
func policyArg(cmd *cobra.Command, flag string, args []string) (string, error) {
	if len(args) == 0 {
		return flag, nil
	}
	if flag != "" && flag != args[0] {
		return "", usageError(cmd, fmt.Errorf("two policies given (%s and --policy %s); give one", args[0], flag))
	}
	return args[0], nil
}

func atMostOnePolicy(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError(cmd, fmt.Errorf("expected one policy file, got %d arguments", len(args)))
	}
	return nil
}

func newPolicyValidateCmd() *cobra.Command {
	var path string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate [POLICY]",
		Short: "Check a policy file and list the capabilities it enables",
		Long: `validate loads the policy the way every run does: strict parsing (an unknown or misspelled
key is an error, not a silent no-op), inheritance and "!" negation, pattern and CIDR
checks, and the guards that refuse a policy letting scripts modify the policy file or
touch the audit log. It prints every problem with file:line and the key, and a
suggestion where one exists, so one run shows everything to fix.

It also warns (on stderr, and under "warnings" with --json) when the policy allows commands
but they would run without a sandbox on this machine ([subprocess].sandbox "auto" finding
neither bubblewrap nor Landlock, or "none"), or when the sandbox it names cannot run here.

Exit status 0 when the policy is valid, 5 when it is not.`,
		Example: `  aegis policy validate aegis.toml
  aegis policy validate --json aegis.toml`,
		Args: atMostOnePolicy,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := policyArg(cmd, path, args)
			if err != nil {
				return err
			}
			p, err := loadPolicy(cmd, path)
			if err != nil {
				return loadFailure(cmd, err, asJSON)
			}
			caps := p.Capabilities()
			warning, mechanism, jailErr := runner.JailWarning(p)
			if jailErr != nil {
				// A named sandbox that cannot run here: every run would
				// fail, so the policy is not usable on this machine.
				warning = jailErr.Error()
			}
			if warning != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "aegis: warning: %s\n", warning)
			}
			if asJSON {
				return emitJSON(cmd, validateResult{Valid: true, Path: p.Path(), Capabilities: caps, Problems: []policy.Problem{},
					Warnings: validateWarnings(p, warning)}, outcome{kind: kindOfCode(0)})
			}
			out := cmd.OutOrStdout()
			what := path // as given; else the file discovery found
			switch {
			case p.Path() == "":
				what = "the secure-defaults preset"
			case what == "":
				what = p.Path()
			}
			fmt.Fprintf(out, "OK: %s is valid.\n", quote.Visible(what))
			if len(caps) == 0 {
				fmt.Fprintln(out, "No capability is enabled: scripts can compute and print, nothing else.")
			} else {
				fmt.Fprintf(out, "%d capabilities enabled: %s\n", len(caps), joinCaps(caps))
			}
			var approval []policy.Capability
			for _, c := range policy.AllCapabilities() {
				if p.RequiresApproval(c) && p.Enabled(c) {
					approval = append(approval, c)
				}
			}
			if len(approval) > 0 {
				fmt.Fprintf(out, "Ask for approval before: %s\n", joinCaps(approval))
			}
			if pre := preApproved(p); len(pre) > 0 {
				fmt.Fprintf(out, "Commands approved without asking ([subprocess].approve_prefixes): %s\n", strings.Join(pre, ", "))
			}
			fmt.Fprintf(out, "Root: %s\nAudit log (guarded): %s\n", quote.Visible(p.Root()), quote.Visible(p.AuditLog()))
			if p.Enabled(policy.SubprocessExec) && jailErr == nil {
				fmt.Fprintf(out, "Commands run in sandbox: %s\n", mechanism)
			}
			return nil
		},
	}
	addPolicyFlag(cmd, &path)
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// validateResult is the --json form of validate.
type validateResult struct {
	Valid        bool                `json:"valid"`
	Path         string              `json:"path,omitempty"`
	Capabilities []policy.Capability `json:"capabilities,omitempty"`
	Problems     []policy.Problem    `json:"problems"`
	// Warnings: the policy inherits no preset; commands would run
	// unjailed here, or the named sandbox cannot run here.
	Warnings []string `json:"warnings,omitempty"`
}

// validateWarnings are what a valid policy may still want fixed: the
// missing inherits, and the sandbox warning (if any).
func validateWarnings(p *policy.Policy, sandbox string) []string {
	var out []string
	for _, w := range []string{noInheritsWarning(p), sandbox} {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// preApproved lists the [subprocess].approve_prefixes entries.
func preApproved(p *policy.Policy) []string {
	var out []string
	for _, l := range p.Describe().Lists {
		if l.Key == "[subprocess].approve_prefixes" {
			for _, e := range l.Entries {
				out = append(out, strconv.Quote(e.Value))
			}
		}
	}
	return out
}

// loadFailure reports a policy that does not load: every problem on its own
// line (or as JSON), exit status 5.
func loadFailure(cmd *cobra.Command, err error, asJSON bool) error {
	var le *policy.LoadError
	if asJSON {
		o := outcomeOf(err)
		problems := o.problems
		if !errors.As(err, &le) {
			problems = []policy.Problem{{Msg: err.Error()}}
		}
		if werr := emitJSON(cmd, validateResult{Problems: problems}, o); werr != nil {
			return werr
		}
		return &exitError{code: o.code, quiet: true, err: err}
	}
	if !errors.As(err, &le) {
		return err
	}
	w := cmd.ErrOrStderr()
	for _, p := range le.Problems {
		fmt.Fprintln(w, quote.Visible(p.String()))
	}
	n := "1 problem"
	if len(le.Problems) != 1 {
		n = fmt.Sprintf("%d problems", len(le.Problems))
	}
	fmt.Fprintf(w, "aegis: the policy is invalid (%s); fix the lines above and run 'aegis policy validate' again\n", n)
	return &exitError{code: exitConfig, quiet: true, err: err}
}

func joinCaps(caps []policy.Capability) string {
	s := make([]string, len(caps))
	for i, c := range caps {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func newPolicyShowCmd() *cobra.Command {
	var path string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show [POLICY]",
		Short: "Print the effective policy after inheritance, with each entry's origin",
		Long: `show prints the policy a run would enforce: the preset it inherits merged with the file,
"!" negations applied, defaults filled in. Every entry is marked with where it came from
(preset secure-defaults, or file:line), so you can see why a rule is there and which
line to change.

--json prints the same as one JSON document whose schema only ever grows.`,
		Example: `  aegis policy show aegis.toml
  aegis policy show aegis.toml --json`,
		Args: atMostOnePolicy,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := policyArg(cmd, path, args)
			if err != nil {
				return err
			}
			p, err := loadPolicy(cmd, path)
			if err != nil {
				if asJSON {
					return err // the common fields, with the problems
				}
				return loadFailure(cmd, err, false)
			}
			if asJSON {
				return emitJSON(cmd, p.Describe(), outcome{kind: kindOfCode(0)})
			}
			return printDescription(cmd.OutOrStdout(), p.Describe())
		},
	}
	addPolicyFlag(cmd, &path)
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func printDescription(w io.Writer, d policy.Description) error {
	// The policy's own text (a description) and the paths it names (the
	// root, the file) may hold control characters: shown, never sent.
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	head := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	if d.Path != "" {
		head("policy", d.Path)
	} else {
		head("policy", "preset "+d.Name)
	}
	head("name", d.Name)
	head("description", d.Description)
	head("version", d.Version)
	head("inherits", d.Inherits)
	head("root", d.Root)
	head("audit log", d.AuditLog)
	caps := joinCaps(d.Capabilities)
	if caps == "" {
		caps = "(none)"
	}
	head("capabilities", caps)
	section := func(key string, entries []policy.Entry) {
		fmt.Fprintf(tw, "\n%s\n", key)
		if len(entries) == 0 {
			fmt.Fprintf(tw, "  (empty)\t\n")
		}
		for _, e := range entries {
			fmt.Fprintf(tw, "  %q\t%s\n", e.Value, e.From)
		}
	}
	section("requires_approval", d.RequiresApproval)
	for _, l := range d.Lists {
		section(l.Key, l.Entries)
	}
	fmt.Fprintf(tw, "\n[subprocess.deny_args]\n")
	if len(d.DenyArgs) == 0 {
		fmt.Fprintf(tw, "  (empty)\t\n")
	}
	for _, da := range d.DenyArgs {
		for _, e := range da.Patterns {
			fmt.Fprintf(tw, "  %s %q\t%s\n", da.Command, e.Value, e.From)
		}
	}
	printReleases(tw, d.Declassify)
	fmt.Fprintln(tw)
	for _, s := range append([]policy.Scalar{d.Sandbox, d.Network, d.TimeoutSeconds, d.Transcript}, d.Runtime...) {
		fmt.Fprintf(tw, "%s = %v\t%s\n", s.Key, s.Value, s.From)
	}
	for _, t := range d.Tools {
		fmt.Fprintf(tw, "\n[tools.%s]\t%s\n", t.Name, t.From)
		fmt.Fprintf(tw, "  capabilities = %s\t\n", joinCaps(t.Capabilities))
		if t.BackendURL != "" {
			fmt.Fprintf(tw, "  backend = %s %s\t\n", t.BackendMethod, t.BackendURL)
		}
		if t.Description != "" {
			fmt.Fprintf(tw, "  description = %q\t\n", t.Description)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := io.WriteString(w, quote.VisibleText(buf.String())); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func newPolicyExplainCmd() *cobra.Command {
	var path string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain [--policy POLICY] [--json] CAPABILITY [--] TARGET...",
		Short: "Say whether the policy allows one call, and which rule decides",
		Long: `explain asks the policy exactly what a script's call would ask, and prints the answer:
allowed or denied, the rule that decided and where it was written, and for a denial how
to allow it. The target is a path for fs.*, a URL for net.*, a variable name for
env.read, and the whole command line for subprocess.exec. Paths are resolved (symlinks
followed) and host names are looked up in DNS, as in a real run. For a call that needs
approval it says whether [subprocess].approve_prefixes approves it without asking.

Flags go before CAPABILITY: everything after it is the target, so a command line's own
flags (git push --force) are passed through untouched. One of explain's own flags after
CAPABILITY is a usage error; write -- after CAPABILITY when the target really holds one
(subprocess.exec -- grep --json x).

Capabilities: ` + wrapWords(policy.CapabilityNames(), 14) + `

A release of local-only data ([declassify]) is asked as declassify.KIND followed by the
principals it concerns, as the runtime names them (env:NAME, file:<local_only_read pattern>,
host:<local_only_hosts entry>, cmd:<command>); every one must list the kind. Kinds: ` + wrapWords(policy.ReleaseKindNames(), 75) + `.

Exit status 0 when allowed, 2 when denied, 5 when the question itself is malformed.`,
		Example: `  aegis policy explain --policy aegis.toml fs.read src/main.go
  aegis policy explain --policy aegis.toml net.http_get https://169.254.169.254/
  aegis policy explain --policy aegis.toml subprocess.exec git push --forc origin
  aegis policy explain --policy aegis.toml subprocess.exec -- git log --json
  aegis policy explain --policy aegis.toml --json env.read HOME
  aegis policy explain --policy aegis.toml declassify.is_set env:STRIPE_KEY`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError(cmd, errors.New("give a CAPABILITY and a TARGET, e.g. fs.read src/main.go"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind, ok := strings.CutPrefix(args[0], "declassify."); ok {
				return explainRelease(cmd, path, asJSON, policy.ReleaseKind(kind), args[1:])
			}
			c := policy.Capability(args[0])
			if !c.Known() {
				msg := fmt.Errorf("unknown capability %q; one of: %s", args[0], strings.Join(policy.CapabilityNames(), ", "))
				return usageError(cmd, msg)
			}
			targets, err := explainTargets(cmd, c, args[1:])
			if err != nil {
				return err
			}
			return answer(cmd, path, asJSON, func(p *policy.Policy) policy.Decision { return p.Decide(c, targets...) })
		},
	}
	cmd.Flags().SetInterspersed(false)
	addPolicyFlag(cmd, &path)
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// explainTargets reads the target words after CAPABILITY: a leading "--"
// is dropped (what follows is target, whatever it looks like); otherwise
// one of explain's own flags among them is a misplaced flag, not a target.
func explainTargets(cmd *cobra.Command, c policy.Capability, words []string) ([]string, error) {
	if words[0] == "--" {
		words = words[1:]
		if len(words) == 0 {
			return nil, usageError(cmd, errors.New("nothing after --: give the TARGET"))
		}
	} else {
		for i, w := range words {
			// A command line has flags of its own: there only the long
			// spellings, or a flag in the program's place, are explain's.
			own := isOwnFlag(cmd, w)
			if argvTarget(c) && i > 0 && !strings.HasPrefix(w, "--") {
				own = false
			}
			if own {
				return nil, usageError(cmd, fmt.Errorf("flag %s after CAPABILITY %s would be read as part of the target: "+
					"move it before %s, or write -- after %s if the target really holds it", w, c, c, c))
			}
		}
	}
	if !argvTarget(c) && len(words) != 1 {
		return nil, usageError(cmd, fmt.Errorf("%s takes one target, got %d (%s); quote a path with spaces",
			c, len(words), strings.Join(words, " ")))
	}
	return words, nil
}

// argvTarget reports whether c takes a whole command line as its target.
func argvTarget(c policy.Capability) bool {
	i, _ := c.Info()
	return i.Target == policy.TargetArgv
}

// wrapWords joins words with spaces, breaking lines at about 90 columns
// (the first line starts at column first).
func wrapWords(words []string, first int) string {
	var b strings.Builder
	col := first
	for i, w := range words {
		if i > 0 {
			if col+1+len(w) > 90 {
				b.WriteString("\n")
				col = 0
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// isOwnFlag reports whether w spells one of cmd's flags (--policy,
// --policy=x, -p, --json, -h, ...).
func isOwnFlag(cmd *cobra.Command, w string) bool {
	switch {
	case strings.HasPrefix(w, "--") && len(w) > 2:
		name, _, _ := strings.Cut(w[2:], "=")
		return cmd.Flags().Lookup(name) != nil || name == "help"
	case strings.HasPrefix(w, "-") && len(w) >= 2 && w[1] != '-':
		return cmd.Flags().ShorthandLookup(w[1:2]) != nil || w[1] == 'h'
	}
	return false
}

func printDecision(w io.Writer, d policy.Decision) {
	verdict := "DENIED"
	if d.Allowed {
		verdict = "ALLOWED"
	}
	// The reason and the hint name the target as given and as it
	// resolves, which may hold control characters: shown, never sent.
	fmt.Fprintf(w, "%s\n  %s\n", verdict, quote.VisibleText(d.Reason))
	if d.Rule != "" {
		fmt.Fprintf(w, "  rule: %s %q (%s)\n", d.Section, d.Rule, d.Source)
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "  how to allow it: %s\n", quote.VisibleText(strings.TrimPrefix(d.Hint, "to allow it, ")))
	}
	if d.Allowed && d.ResolvedPath != "" {
		label := "path"
		if argvTarget(d.Capability) {
			label = "runs"
		}
		fmt.Fprintf(w, "  %s: %s\n", label, quote.Visible(d.ResolvedPath))
	}
	if d.Addr.IsValid() {
		fmt.Fprintf(w, "  connects to: %s\n", d.Addr)
	}
	if d.LocalOnly {
		fmt.Fprintf(w, "  local-only: the result is labelled %s and may not leave the local-only zone\n", strings.Join(d.Principals, ", "))
	}
	if d.Bits > 0 && d.Allowed {
		fmt.Fprintf(w, "  charge: %d bits to each principal per release (count: with the default max), against [runtime].max_leak_bits; the result is public\n", d.Bits)
	}
	switch {
	case d.PreApproved != nil:
		fmt.Fprintf(w, "  approval: approved without asking by [subprocess].approve_prefixes %q (%s)\n", d.PreApproved.Value, d.PreApproved.From)
	case d.RequiresApproval && d.SuggestedPrefix != "":
		fmt.Fprintf(w, "  approval: the operator is asked before it runs (requires_approval); [subprocess].approve_prefixes = [%q] would approve it without asking\n", d.SuggestedPrefix)
	case d.RequiresApproval:
		fmt.Fprintf(w, "  approval: the operator is asked before it runs (requires_approval)\n")
	}
}

// answer loads the policy, asks it one question and prints the decision:
// `aegis policy explain` for a capability and for a release. Exit 0 when
// allowed, 2 when denied.
func answer(cmd *cobra.Command, path string, asJSON bool, decide func(*policy.Policy) policy.Decision) error {
	p, err := loadPolicy(cmd, path)
	if err != nil {
		if asJSON {
			return err
		}
		return loadFailure(cmd, err, false)
	}
	d := decide(p)
	o := outcome{kind: kindOfCode(exitOK)}
	if !d.Allowed {
		o = outcome{code: exitDenied, kind: kindOfCode(exitDenied), err: d.Err().Error()}
	}
	if asJSON {
		if err := emitJSON(cmd, d, o); err != nil {
			return err
		}
	} else {
		printDecision(cmd.OutOrStdout(), d)
	}
	if !d.Allowed {
		return &exitError{code: exitDenied, quiet: true, err: d.Err()}
	}
	return nil
}

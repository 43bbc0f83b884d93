package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/policy"
)

// newAuditResetBudgetCmd is `aegis audit reset-budget`: the explicit,
// audited way to start a principal's leakage budget over.
func newAuditResetBudgetCmd() *cobra.Command {
	var (
		logPath    string
		policyPath string
		all        bool
		jsonOut    bool
	)
	cmd := &cobra.Command{
		Use:   "reset-budget [--log LOG] PRINCIPAL... | --all",
		Short: "Start the leakage budget of local-only principals over, with a record in the audit log",
		Long: `reset-budget appends a budget_reset record to the audit log naming the principals given
(env:API_KEY, file:secrets/**, cmd:pass, host:vault.local, as refusals and
'aegis audit show' name them). From that record on, runs count the bits and the
secret-dependent aborts of those principals from zero: their sources can be read again.

A reset re-opens the channel it closed: whoever watched the runs that spent the budget
learned up to that many bits of the secret, and the next runs can learn as many again.
Rotate the secret first if a script may have been probing it. The reset is itself a
record of the hash chain (who ran it, when), so it cannot happen unnoticed; moving the
log aside is not a reset and breaks the chain your records are anchored to.

LOG defaults to the audit log of the policy (--policy, or the aegis.toml found from the
working directory). A principal that has nothing charged is left alone; one that neither
the log nor the policy knows is an error (a typo would otherwise reset nothing). An
aegis-mcp that is running keeps its own count until it restarts.`,
		Example: `  aegis audit reset-budget env:API_KEY
  aegis audit reset-budget --log .aegis/audit.jsonl 'file:secrets/**'
  aegis audit reset-budget --all --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usageError(cmd, errors.New("name the principals to reset (e.g. env:API_KEY), or pass --all"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var p *policy.Policy
			if logPath == "" || !all {
				var err error
				if p, err = loadPolicy(cmd, policyPath); err != nil {
					return err
				}
				if logPath == "" {
					logPath = p.AuditLog()
				}
			}
			spent, err := audit.LeakLedger(logPath)
			if err != nil {
				return fmt.Errorf("read the charges of %s: %w", logPath, err)
			}
			targets, err := resetTargets(cmd, args, all, spent, p)
			if err != nil {
				return err
			}
			type resetEntry struct {
				Principal string `json:"principal"`
				audit.Spent
			}
			var done []resetEntry
			var names []string
			for _, pr := range targets {
				if s := spent[pr]; s.Aborts > 0 || s.Bits > 0 {
					done = append(done, resetEntry{pr, s})
					names = append(names, pr)
				}
			}
			if len(names) > 0 {
				if err := appendReset(logPath, names); err != nil {
					return err
				}
			}
			if jsonOut {
				out := struct {
					Log   string       `json:"log"`
					Reset []resetEntry `json:"reset"`
				}{logPath, done}
				if out.Reset == nil {
					out.Reset = []resetEntry{}
				}
				return emitJSON(cmd, out, outcome{kind: kindOfCode(exitOK)})
			}
			w := cmd.OutOrStdout()
			if len(done) == 0 {
				fmt.Fprintf(w, "nothing to reset: %s has charged nothing to %s\n", logPath, quote.Visible(strings.Join(targets, ", ")))
				return nil
			}
			for _, d := range done {
				fmt.Fprintf(w, "reset %s: it had %d bits and %d secret-dependent aborts charged\n", quote.Visible(d.Principal), d.Bits, d.Aborts)
			}
			fmt.Fprintf(w, "recorded in %s (a budget_reset record); restart any aegis-mcp that uses this log\n", logPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&logPath, "log", "", "audit log (default: the policy's)")
	addPolicyFlag(cmd, &policyPath)
	f.BoolVar(&all, "all", false, "reset every principal the log has charged")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}

// resetTargets checks the principals asked for against what the log and
// the policy know.
func resetTargets(cmd *cobra.Command, args []string, all bool, spent map[string]audit.Spent, p *policy.Policy) ([]string, error) {
	if all {
		out := make([]string, 0, len(spent))
		for pr := range spent {
			out = append(out, pr)
		}
		sort.Strings(out)
		return out, nil
	}
	known := map[string]bool{}
	for pr := range spent {
		known[pr] = true
	}
	if p != nil {
		for _, pr := range p.Principals() {
			known[pr] = true
		}
	}
	for _, a := range args {
		if !known[a] {
			names := make([]string, 0, len(known))
			for k := range known {
				names = append(names, k)
			}
			sort.Strings(names)
			hint := "the log has no charges and the policy declares no local-only sources"
			if len(names) > 0 {
				hint = "known: " + strings.Join(names, ", ")
			}
			return nil, usageError(cmd, fmt.Errorf("unknown principal %q (%s)", quote.Visible(a), hint))
		}
	}
	return args, nil
}

// appendReset writes the budget_reset record.
func appendReset(logPath string, principals []string) error {
	l, err := audit.Open(logPath)
	if err != nil {
		return fmt.Errorf("open the audit log: %w", err)
	}
	defer l.Close()
	who := fmt.Sprintf("uid %d", os.Getuid())
	if u, err := user.Current(); err == nil {
		who = fmt.Sprintf("%s (%s)", u.Username, who)
	}
	ev := audit.Event{
		Kind:   audit.KindBudgetReset,
		Status: audit.Allowed,
		Labels: principals,
		Reason: "leakage budget reset by the operator " + who + " with aegis audit reset-budget",
	}
	if err := l.Append(ev); err != nil {
		return fmt.Errorf("record the reset: %w", err)
	}
	return nil
}

package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/audit"
)

// exitTampered is the exit code of `aegis audit verify` for a broken chain.
const exitTampered = 1

// newAuditCmd is `aegis audit`: tools for the hash-chained audit log.
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect the audit log that every run appends to",
		Long: `The audit log is a JSON Lines file with one record per capability call (allowed,
denied or failed) and per flow error. Records are SHA-256 chained: each holds its
sequence number, the hash of the record before it and its own hash, so an edited,
inserted, removed or reordered record breaks the chain. A chain cannot show that records
were cut off its end: keep the last sequence number (or hash) somewhere else and pass it
to 'aegis audit verify --min-seq'.

  show          prints the records, filtered by kind, status, time and task
  tail          prints the last records, and with -f follows new ones
  verify        checks the chain
  reset-budget  starts the leakage budget of local-only principals over, on the record

show, tail and verify take the log file as an argument (reset-budget as --log); without
one, they use the audit log of the policy (--policy, or the aegis.toml found from the
working directory).`,
		Example: `  aegis audit show --status denied --since 1h
  aegis audit tail -f
  aegis audit verify .aegis/audit.jsonl --min-seq 120`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuditShowCmd(), newAuditTailCmd(), newAuditVerifyCmd(), newAuditResetBudgetCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var (
		minSeq     uint64
		jsonOut    bool
		policyPath string
	)
	cmd := &cobra.Command{
		Use:   "verify [flags] [LOG]",
		Short: "Check an audit log's hash chain for edits, insertions, removals and truncation",
		Long: `verify walks the audit log and reports every record whose hash does not match its text
(an edit), whose sequence number or previous-hash does not follow the record before it
(an insertion, removal or reordering), and, with --min-seq N, a chain that ends before
sequence number N (a truncation).

On success it prints the record count, the last sequence number and the last hash:
record those outside the log to detect a later truncation or a wholesale rewrite.

LOG defaults to the audit log of the policy (--policy, or the aegis.toml found from the
working directory).

Exit codes: 0 the chain is intact, 1 it is broken, 5 the log cannot be read.`,
		Example: `  aegis audit verify
  aegis audit verify .aegis/audit.jsonl
  aegis audit verify --min-seq 120 --json .aegis/audit.jsonl`,
		Args: maxOneLog,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := auditLogPath(cmd, policyPath, args)
			if err != nil {
				return err
			}
			rep, err := audit.Verify(path, minSeq)
			if err != nil {
				return err
			}
			if jsonOut {
				if rep.Problems == nil {
					rep.Problems = []audit.Problem{}
				}
				o := outcome{kind: kindOfCode(exitOK)}
				if !rep.OK() {
					o = outcome{code: exitTampered, kind: kindCheckFailed,
						err: fmt.Sprintf("the chain of %s is broken: %d problem(s), the first: %s", path, len(rep.Problems), rep.Problems[0])}
				}
				if err := emitJSON(cmd, struct {
					Log string `json:"log"`
					audit.Report
				}{path, rep}, o); err != nil {
					return err
				}
			} else if rep.OK() {
				fmt.Fprintf(cmd.OutOrStdout(), "ok: %d records, last seq %d, last hash %s\n", rep.Lines, rep.LastSeq, rep.LastHash)
			} else {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "BROKEN: %d problem(s) in %d lines:\n", len(rep.Problems), rep.Lines)
				for _, p := range rep.Problems {
					fmt.Fprintf(w, "  %s\n", p)
				}
			}
			if !rep.OK() {
				return &exitError{code: exitTampered, quiet: true}
			}
			return nil
		},
	}
	cmd.Flags().Var((*seqFlag)(&minSeq), "min-seq", "the last sequence number known to have been written; a shorter chain was truncated")
	addJSONFlag(cmd, &jsonOut)
	addPolicyFlag(cmd, &policyPath)
	return cmd
}

// seqFlag parses a sequence number.
type seqFlag uint64

func (f *seqFlag) String() string { return strconv.FormatUint(uint64(*f), 10) }
func (f *seqFlag) Type() string   { return "N" }
func (f *seqFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a sequence number (0 or more), got %q", s)
	}
	*f = seqFlag(v)
	return nil
}

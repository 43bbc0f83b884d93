package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/runner"
)

// newTranscriptCmd is `aegis transcript`: read back the local-only
// transcript ([runtime].transcript).
func newTranscriptCmd() *cobra.Command {
	var path string
	var tail int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "transcript [--policy POLICY] [--tail N] [--json]",
		Short: "Read the local-only transcript: what runs printed from local-only data, unredacted",
		Long: `A script's output never shows local-only data: labelled values print as [REDACTED], a print
inside a condition on local-only data is refused, and how a run that ended depending on such
data ended is withheld. With [runtime].transcript set in the policy (a file inside the
local-only zone), every run that reads local-only data appends to that file what it printed
from its first local-only read on, with the real values, the prints made under such a
condition (which then no longer stop the run), and the real message of the error it ended
with. The run's stdout then ends with a note saying so.

transcript prints that file for the person at the machine: one block per run (when it started,
its task id and script), each line with the position that printed it. It holds local-only
data: read it yourself, do not paste it into an agent's context. Aegis never returns it to a
script (a script reading the file gets labelled data) or over MCP.

The file is inside the zone, so scripts may write it too: lines that are not transcript
records are skipped and counted, and a record's content is only as trustworthy as the zone.`,
		Example: `  aegis transcript --policy aegis.toml
  aegis transcript --policy aegis.toml --tail 1
  aegis transcript --policy aegis.toml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tail < 0 {
				return usageError(cmd, errors.New("--tail takes a number of runs (0, the default, shows all)"))
			}
			p, err := loadPolicy(cmd, path)
			if err != nil {
				if asJSON {
					return err
				}
				return loadFailure(cmd, err, false)
			}
			file := p.Transcript()
			if file == "" {
				return &exitError{code: exitConfig, err: errors.New("the policy sets no transcript: add transcript = \"<a file in the " +
					"local-only zone>\" under [runtime] (see docs/policy-file.md), then run the script again")}
			}
			runs, skipped, err := runner.ReadTranscript(file, tail)
			if err != nil {
				return err
			}
			if asJSON {
				return emitJSON(cmd, transcriptResult{Path: file, Runs: nonNilRuns(runs), Skipped: skipped}, outcome{kind: kindOfCode(exitOK)})
			}
			return printTranscript(cmd.OutOrStdout(), cmd.ErrOrStderr(), file, runs, skipped)
		},
	}
	addPolicyFlag(cmd, &path)
	addJSONFlag(cmd, &asJSON)
	cmd.Flags().IntVarP(&tail, "tail", "n", 0, "show only the last N runs (default: all)")
	return cmd
}

// transcriptResult is the --json form of transcript.
type transcriptResult struct {
	Path    string                 `json:"path"`
	Runs    []runner.TranscriptRun `json:"runs"`
	Skipped int                    `json:"skipped"` // lines that are not transcript records
}

func nonNilRuns(r []runner.TranscriptRun) []runner.TranscriptRun {
	if r == nil {
		return []runner.TranscriptRun{}
	}
	return r
}

func printTranscript(w, errw io.Writer, file string, runs []runner.TranscriptRun, skipped int) error {
	if skipped > 0 {
		fmt.Fprintf(errw, "aegis: %d lines of %s are not transcript records (something else wrote the file); skipped\n", skipped, file)
	}
	if len(runs) == 0 {
		fmt.Fprintf(w, "The transcript %s holds no run yet: runs write to it once they read local-only data.\n", file)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		task := r.Task
		if task == "" {
			task = "-"
		}
		fmt.Fprintf(tw, "== run %s  task %s  script %s\n", r.Time.Format("2006-01-02 15:04:05Z07:00"), quote.Visible(task), quote.Visible(r.Script))
		if len(r.Lines) == 0 {
			fmt.Fprintln(tw, "   (nothing printed after the first local-only read)")
		}
		for _, l := range r.Lines {
			head := quote.Visible(l.Pos) + ":"
			if l.Kind == runner.TranscriptError {
				head = "error:"
			}
			text := strings.ReplaceAll(quote.VisibleText(l.Text), "\n", "\n\t")
			fmt.Fprintf(tw, "%s\t%s\n", head, text)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

package exfilprobes

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of one pass of the suite through one executor.
type Report struct {
	Via     string         `json:"via"`
	Results []ScriptResult `json:"results"`
	Summary Summary        `json:"summary"`
}

// Summary counts verdicts over the attack probes (the budget probe included) and controls over
// every script.
type Summary struct {
	Probes         int `json:"probes"`
	Blocked        int `json:"blocked"`
	Term           int `json:"term"`
	Leak           int `json:"leak"`
	Errors         int `json:"errors"` // NOISY or ERROR verdicts, any kind
	Controls       int `json:"controls"`
	ControlsFailed int `json:"controls_failed"`
}

func newReport(via string, results []ScriptResult) *Report {
	r := &Report{Via: via, Results: results}
	for _, res := range results {
		r.Summary.Controls++
		if !res.ControlOK {
			r.Summary.ControlsFailed++
		}
		if res.Verdict == VerdictNoisy || res.Verdict == VerdictError {
			r.Summary.Errors++
		}
		if res.Kind != KindProbe && res.Kind != KindBudget {
			continue
		}
		r.Summary.Probes++
		switch res.Verdict {
		case VerdictBlocked:
			r.Summary.Blocked++
		case VerdictTerm:
			r.Summary.Term++
		case VerdictLeak:
			r.Summary.Leak++
		}
	}
	return r
}

// Failed reports whether the suite failed: a leak, a failed control, or a script that could not be
// judged.
func (r *Report) Failed() bool {
	s := r.Summary
	return s.Leak > 0 || s.ControlsFailed > 0 || s.Errors > 0
}

// SummaryLine is the one-line result, e.g. "40 blocked, 8 term, 0 leak of 48".
func (r *Report) SummaryLine() string {
	s := r.Summary
	return fmt.Sprintf("%d blocked, %d term, %d leak of %d", s.Blocked, s.Term, s.Leak, s.Probes)
}

// WriteTable prints the human table. Work-tree paths are shortened to $WORK so the table reads the
// same on every machine.
func (r *Report) WriteTable(w io.Writer, workRoot string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "PROBE\tCATEGORY\tVERDICT\tCONTROL\tWHAT DIFFERED\n")
	for _, res := range r.Results {
		ctl := "ok"
		if !res.ControlOK {
			ctl = "FAIL"
		}
		detail := res.Detail
		if !res.ControlOK {
			detail = "control: " + res.Control + " | " + detail
		} else if res.Kind == KindBudget {
			detail = res.Control + " | " + detail
		}
		detail = oneLine(shorten(detail, workRoot))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res.Name, res.Category, res.Shown(), ctl, clip(detail, 160))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write probe table: %w", err)
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "via %s: %s; controls %d/%d passed", r.Via, r.SummaryLine(), s.Controls-s.ControlsFailed, s.Controls)
	if err == nil && s.Errors > 0 {
		_, err = fmt.Fprintf(w, "; %d could not be judged", s.Errors)
	}
	if err == nil {
		_, err = fmt.Fprintln(w)
	}
	if err != nil {
		return fmt.Errorf("write probe summary: %w", err)
	}
	return nil
}

// Shown is the verdict as the table prints it. A canary leaks on purpose,
// through a public input, to prove the harness sees its channel: caught,
// it reads "caught (expected)", not LEAK; missed, "MISSED".
func (r ScriptResult) Shown() string {
	if r.Kind != KindCanary {
		return string(r.Verdict)
	}
	if r.ControlOK {
		return "caught (expected)"
	}
	return "MISSED"
}

func shorten(s, root string) string {
	if root == "" {
		return s
	}
	return strings.ReplaceAll(s, root, "$WORK")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteMarkdown prints the results as a Markdown table (for docs/exfil-probes.md), one row per
// script with one verdict column per report; all reports must cover the same scripts.
func WriteMarkdown(w io.Writer, reports []*Report, workRoot string) error {
	if len(reports) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("| probe | category | sink |")
	for _, r := range reports {
		fmt.Fprintf(&b, " %s |", r.Via)
	}
	b.WriteString(" what differed |\n|---|---|---|")
	for range reports {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for i, res := range reports[0].Results {
		fmt.Fprintf(&b, "| %s | %s | %s |", res.Name, res.Category, res.Sink)
		var details []string
		for _, r := range reports {
			if i >= len(r.Results) || r.Results[i].Name != res.Name {
				return fmt.Errorf("write probe markdown: reports cover different scripts")
			}
			x := r.Results[i]
			cell := x.Shown()
			if !x.ControlOK {
				cell += " (control FAILED)"
			}
			fmt.Fprintf(&b, " %s |", cell)
			d := x.Detail
			if !x.ControlOK || x.Kind == KindBudget {
				d = x.Control + "; " + d
			}
			d = clip(oneLine(shorten(d, workRoot)), 140)
			if len(reports) > 1 {
				d = r.Via + ": " + d
			}
			details = append(details, d)
		}
		fmt.Fprintf(&b, " %s |\n", strings.ReplaceAll(strings.Join(details, "<br>"), "|", "\\|"))
	}
	for _, r := range reports {
		fmt.Fprintf(&b, "\nvia %s: %s\n", r.Via, r.SummaryLine())
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write probe markdown: %w", err)
	}
	return nil
}

// JSONReport is the stable machine form of one or more passes.
type JSONReport struct {
	Passes []*Report `json:"passes"`
	Failed bool      `json:"failed"`
}

// NewJSONReport gathers the passes into the JSON form. Canaries keep their
// raw verdict there (LEAK or TERM, with control_ok).
func NewJSONReport(reports []*Report) JSONReport {
	out := JSONReport{Passes: reports}
	for _, r := range reports {
		out.Failed = out.Failed || r.Failed()
	}
	return out
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/internal/quote"
)

// `aegis audit show` and `aegis audit tail`: read the audit log, filtered.

// auditRecord is one line of the log as the docs describe it
// (docs/audit-log.md): the chain fields and the event.
type auditRecord struct {
	Seq uint64 `json:"seq"`
	audit.Event
}

// auditFilter selects records.
type auditFilter struct {
	kinds, statuses []string
	since, until    time.Time
	task            string
}

func (f *auditFilter) match(r *auditRecord) bool {
	if len(f.kinds) > 0 && !slices.Contains(f.kinds, r.Kind) {
		return false
	}
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, string(r.Status)) {
		return false
	}
	if !f.since.IsZero() && r.Time.Before(f.since) {
		return false
	}
	if !f.until.IsZero() && !r.Time.Before(f.until) {
		return false
	}
	return f.task == "" || r.TaskID == f.task
}

var (
	auditStatuses = []string{string(audit.Allowed), string(audit.Denied), string(audit.Errored)}
)

// auditReadFlags are the flags show and tail share.
type auditReadFlags struct {
	policyPath   string
	kinds        []string
	statuses     []string
	since, until string
	task         string
	jsonOut      bool
}

func (a *auditReadFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	addPolicyFlag(cmd, &a.policyPath)
	f.StringSliceVar(&a.kinds, "kind", nil, "only records of these kinds: "+strings.Join(audit.Kinds, ", ")+" (repeat or separate with commas)")
	f.StringSliceVar(&a.statuses, "status", nil, "only records with these statuses: "+strings.Join(auditStatuses, ", "))
	f.StringVar(&a.since, "since", "", "only records from this time on: a duration back from now (30m, 2h, 7d) or a time (2026-05-01, 2026-05-01T10:00:00Z)")
	f.StringVar(&a.until, "until", "", "only records before this time (same forms as --since)")
	f.StringVar(&a.task, "task", "", "only the records of this task id (aegis run --task-id, or the MCP call)")
	addJSONFlag(cmd, &a.jsonOut)
}

// filter validates the flags.
func (a *auditReadFlags) filter(cmd *cobra.Command, now time.Time) (*auditFilter, error) {
	f := &auditFilter{task: a.task}
	for _, k := range a.kinds {
		if !slices.Contains(audit.Kinds, k) {
			return nil, usageError(cmd, fmt.Errorf("--kind %q: one of %s", k, strings.Join(audit.Kinds, ", ")))
		}
		f.kinds = append(f.kinds, k)
	}
	for _, s := range a.statuses {
		if !slices.Contains(auditStatuses, s) {
			return nil, usageError(cmd, fmt.Errorf("--status %q: one of %s", s, strings.Join(auditStatuses, ", ")))
		}
		f.statuses = append(f.statuses, s)
	}
	var err error
	if f.since, err = parseWhen(a.since, now); err != nil {
		return nil, usageError(cmd, fmt.Errorf("--since: %w", err))
	}
	if f.until, err = parseWhen(a.until, now); err != nil {
		return nil, usageError(cmd, fmt.Errorf("--until: %w", err))
	}
	return f, nil
}

// parseWhen reads a --since/--until value: a duration back from now
// ("90s", "30m", "2h", "7d") or an absolute time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (30m, 2h, 7d) nor a time (2026-05-01, 2026-05-01T10:00:00Z)", s)
}

// auditLogPath is the log named on the command line, or the one of the
// policy (--policy, or the one discovery finds).
func auditLogPath(cmd *cobra.Command, policyPath string, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	p, err := loadPolicy(cmd, policyPath)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "aegis: reading the policy's audit log %s\n", p.AuditLog())
	return p.AuditLog(), nil
}

// maxRecordLine bounds one line read back; a longer line is skipped.
const maxRecordLine = 16 << 20

// recordReader reads records from the log, counting the lines that are not.
type recordReader struct {
	r       *bufio.Reader
	line    int
	skipped []int // line numbers that are not records
}

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next record, io.EOF at the end, or another error for I/O.
// A partial last line (a writer mid-append) is left unread for a follower.
func (rr *recordReader) next() (*auditRecord, []byte, error) {
	for {
		raw, err := readLine(rr.r, maxRecordLine)
		if err != nil {
			return nil, nil, err
		}
		rr.line++
		var rec auditRecord
		if json.Unmarshal(raw, &rec) != nil || rec.Seq == 0 {
			rr.skipped = append(rr.skipped, rr.line)
			continue
		}
		return &rec, raw, nil
	}
}

// readLine reads one '\n'-terminated line, without the newline. A line
// longer than limit is consumed and returned as a non-record; bytes after
// the last newline are io.EOF (not yet a line).
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var buf []byte
	over := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !over {
			if len(buf)+len(chunk) > limit {
				over, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if over {
				return []byte("-"), nil
			}
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) > 0 || over {
				// Give the partial line back to whoever reads on.
				return nil, errPartial{n: len(buf)}
			}
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
	}
}

// errPartial: the log ends in the middle of a line.
type errPartial struct{ n int }

func (e errPartial) Error() string { return "the audit log ends in the middle of a line" }

// formatRecord is the one-line text form of a record. Everything a script
// chose (targets, reasons) is escaped: the log is read on terminals.
func formatRecord(r *auditRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  #%-5d %-7s", r.Time.UTC().Format("2006-01-02T15:04:05Z"), r.Seq, r.Status)
	what := r.Capability
	if r.Kind != audit.KindCall {
		what = r.Kind
		if r.Capability != "" {
			what += " " + r.Capability
		}
	}
	fmt.Fprintf(&b, "  %s", quote.Visible(what))
	if r.Target != "" {
		t := r.Target
		if t != audit.Redacted {
			t = strconv.Quote(t)
		}
		fmt.Fprintf(&b, " %s", quote.Visible(t))
	}
	if r.Rule != "" || r.Section != "" {
		fmt.Fprintf(&b, "  by %s", quote.Visible(strings.TrimSpace(r.Section+" "+strconv.Quote(r.Rule))))
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "  (%s)", quote.Visible(r.Reason))
	}
	if len(r.Labels) > 0 {
		fmt.Fprintf(&b, "  labels=%s", quote.Visible(strings.Join(r.Labels, ",")))
	}
	if r.TaskID != "" {
		fmt.Fprintf(&b, "  task=%s", quote.Visible(r.TaskID))
	}
	if r.Position != "" {
		fmt.Fprintf(&b, "  at %s", quote.Visible(r.Position))
	}
	return b.String()
}

// auditListing is the --json object of show and tail.
type auditListing struct {
	Log          string            `json:"log"`
	Records      []json.RawMessage `json:"records"`
	SkippedLines []int             `json:"skipped_lines,omitempty"`
}

func newAuditShowCmd() *cobra.Command {
	var a auditReadFlags
	cmd := &cobra.Command{
		Use:   "show [flags] [LOG]",
		Short: "Print the audit log's records, filtered by kind, status, time and task",
		Long: `show prints the records of an audit log, oldest first, one line each: time, sequence
number, status, capability, target, the rule that decided, the reason, the labels of the
local-only data involved, the task and the script position. Targets and reasons are
escaped, so a script cannot write terminal escape sequences to your screen through them.

LOG defaults to the audit log of the policy (--policy, or the aegis.toml found from the
working directory). Lines that are not records are skipped with a warning; check the
chain with 'aegis audit verify'.

--json prints one object whose "records" are the stored records (seq, prev and hash
included; compacting one gives back its line in the log), so they can be checked or fed
to other tools.`,
		Example: `  aegis audit show
  aegis audit show --status denied --since 2h
  aegis audit show --kind flow,secret_abort --json
  aegis audit show --task build-42 .aegis/audit.jsonl`,
		Args: maxOneLog,
		RunE: func(cmd *cobra.Command, args []string) error {
			return auditList(cmd, &a, args, 0)
		},
	}
	a.register(cmd)
	return cmd
}

func newAuditTailCmd() *cobra.Command {
	var (
		a      auditReadFlags
		n      int
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "tail [flags] [LOG]",
		Short: "Print the last records of the audit log, and follow new ones with -f",
		Long: `tail prints the last -n records (10 by default) that pass the filters, in the format of
'aegis audit show'. With -f it then waits and prints each new matching record as runs
append it, until you press Ctrl-C; a log moved aside or truncated is read again from its
start.

LOG defaults to the audit log of the policy (--policy, or the aegis.toml found from the
working directory). --json prints the records as one object, like show; it cannot be
combined with -f (for a stream of JSON records, follow the file itself: tail -f LOG).`,
		Example: `  aegis audit tail
  aegis audit tail -n 50 --status denied
  aegis audit tail -f --kind flow`,
		Args: maxOneLog,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 {
				return usageError(cmd, fmt.Errorf("-n %d: give a count of 1 or more", n))
			}
			if follow && a.jsonOut {
				return usageError(cmd, errors.New("-f and --json cannot be combined (one JSON object per command); to stream JSON records, run tail -f on the log file"))
			}
			if !follow {
				return auditList(cmd, &a, args, n)
			}
			return auditFollow(cmd, &a, args, n)
		},
	}
	a.register(cmd)
	cmd.Flags().IntVarP(&n, "lines", "n", 10, "how many records to print")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new records until interrupted")
	return cmd
}

func maxOneLog(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError(cmd, fmt.Errorf("give at most one audit log file, got %d arguments", len(args)))
	}
	return nil
}

// target is what show and tail read: the filter from the flags and the
// log (the argument, or the policy's).
func (a *auditReadFlags) target(cmd *cobra.Command, args []string) (*auditFilter, string, error) {
	flt, err := a.filter(cmd, time.Now())
	if err != nil {
		return nil, "", err
	}
	path, err := auditLogPath(cmd, a.policyPath, args)
	if err != nil {
		return nil, "", err
	}
	return flt, path, nil
}

// auditList prints the matching records, or the last `last` of them.
func auditList(cmd *cobra.Command, a *auditReadFlags, args []string, last int) error {
	flt, path, err := a.target(cmd, args)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the audit log: %w (a policy's log appears at its first run)", err)
	}
	defer f.Close()
	rr := newRecordReader(f)
	type kept struct {
		rec *auditRecord
		raw []byte
	}
	var out []kept
	for {
		rec, raw, err := rr.next()
		if errors.Is(err, io.EOF) || errors.As(err, new(errPartial)) {
			if errors.As(err, new(errPartial)) {
				rr.skipped = append(rr.skipped, rr.line+1)
			}
			break
		}
		if err != nil {
			return err
		}
		if !flt.match(rec) {
			continue
		}
		out = append(out, kept{rec, raw})
		if last > 0 && len(out) > last {
			out = out[1:]
		}
	}
	if len(rr.skipped) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "aegis: warning: %d line(s) of %s are not audit records (line %d first); check the chain with 'aegis audit verify'\n",
			len(rr.skipped), path, rr.skipped[0])
	}
	if a.jsonOut {
		listing := auditListing{Log: path, Records: []json.RawMessage{}, SkippedLines: rr.skipped}
		for _, k := range out {
			listing.Records = append(listing.Records, json.RawMessage(k.raw))
		}
		return emitJSON(cmd, listing, outcome{kind: kindOfCode(exitOK)})
	}
	w := cmd.OutOrStdout()
	for _, k := range out {
		fmt.Fprintln(w, formatRecord(k.rec))
	}
	return nil
}

// auditFollow prints the last records, then new ones until interrupted.
func auditFollow(cmd *cobra.Command, a *auditReadFlags, args []string, last int) error {
	flt, path, err := a.target(cmd, args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return followLog(ctx, path, flt, last, cmd.OutOrStdout(), cmd.ErrOrStderr(), 200*time.Millisecond)
}

// followLog prints the last `last` matching records of path, then every
// new one, polling every interval, until ctx ends. A log that shrinks or
// is replaced is read again from its start.
func followLog(ctx context.Context, path string, flt *auditFilter, last int, w, errw io.Writer, interval time.Duration) error {
	var (
		offset int64
		ident  os.FileInfo
		first  = true
	)
	for {
		fi, err := os.Stat(path)
		switch {
		case err == nil:
			if ident != nil && (!os.SameFile(ident, fi) || fi.Size() < offset) {
				fmt.Fprintf(errw, "aegis: %s was replaced or truncated; reading it from the start\n", path)
				offset = 0
			}
			ident = fi
			if fi.Size() > offset {
				n, err := printFrom(path, offset, flt, first, last, w)
				if err != nil {
					return err
				}
				offset += n
			}
			first = false
		case errors.Is(err, os.ErrNotExist):
			if first {
				fmt.Fprintf(errw, "aegis: %s does not exist yet; waiting for the first run\n", path)
				first = false
			}
			offset, ident = 0, nil
		default:
			return fmt.Errorf("watch the audit log: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// printFrom prints the complete records of path from offset on and
// returns how many bytes it consumed (up to the last complete line). On
// the first pass only the last `last` matching records are printed.
func printFrom(path string, offset int64, flt *auditFilter, first bool, last int, w io.Writer) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open the audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("read the audit log: %w", err)
	}
	cr := &countingReader{r: f}
	br := bufio.NewReaderSize(cr, 64<<10)
	var consumed int64
	var lines []string
	for {
		raw, err := readLine(br, maxRecordLine)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.As(err, new(errPartial)) {
				break
			}
			return consumed, err
		}
		consumed = cr.n - int64(br.Buffered())
		var rec auditRecord
		if json.Unmarshal(raw, &rec) != nil || rec.Seq == 0 || !flt.match(&rec) {
			continue
		}
		lines = append(lines, formatRecord(&rec))
		if first && len(lines) > last {
			lines = lines[1:]
		}
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return consumed, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// The local-only transcript ([runtime].transcript, docs/running-scripts.md).
//
// Public output (Result.Stdout, Result.Error) never shows local-only data:
// labelled values print as [REDACTED], a print under a condition on
// local-only data is a flow error, the output and the message of an ending
// decided by local-only data are withheld. The person at the machine may
// see all of it. With a transcript configured, a run that reads local-only
// data appends to that file, inside the local-only zone: a header (time,
// task, script), every line the script printed from its first local-only
// read on as printed (real values, and prints under a labelled pc, which
// then no longer stop the run), and the real message of the error it ended
// with. `aegis transcript` reads it back.
//
// Public output stays noninterferent: the interpreter gives the public
// Print the same line as without a transcript (or nothing, under a labelled
// pc), and the one note the runner adds to stdout (TranscriptNote) depends
// only on whether the run read local-only data, which public control
// decides (a first read under a labelled pc is refused). The file existing
// is public too: it is created, empty, when a run with a transcript starts.

// TranscriptNote is appended to the stdout of every run that read
// local-only data while a transcript is configured.
const TranscriptNote = "[aegis: this run read local-only data; what it printed from then on, unredacted, and how it ended are in the local-only transcript: run `aegis transcript` to read them]\n"

// TranscriptRecord is one line of the transcript file (JSON Lines). A run
// is a "run" record followed by its "print" and "error" records.
type TranscriptRecord struct {
	Kind   string    `json:"kind"`             // "run", "print" or "error"
	Time   time.Time `json:"ts,omitzero"`      // run: when it started
	Task   string    `json:"task,omitempty"`   // run: the task id
	Script string    `json:"script,omitempty"` // run: the script's name
	Pos    string    `json:"pos,omitempty"`    // print: where the script printed
	Text   string    `json:"text,omitempty"`   // print: the line; error: the message
}

// Transcript record kinds.
const (
	TranscriptHeader = "run"
	TranscriptPrint  = "print"
	TranscriptError  = "error"
)

// transcript collects one run's records and appends them to the file when
// the run ends.
type transcript struct {
	path   string // the real path the policy vetted
	policy *policy.Policy
	limit  int64 // bytes of printed text, as [runtime].max_output_bytes
	onFull func()

	mu     sync.Mutex
	header TranscriptRecord
	recs   []TranscriptRecord
	size   int64
	full   bool
}

// openTranscript prepares the run's transcript: the file is created now if
// it is missing (so that whether it exists never depends on local-only
// data), and checked to be a regular file inside the zone. Only a system
// without safe file effects is an error: whether the file can be opened is
// the zone's state, which a script may have changed under a condition on
// local-only data (the file replaced by a directory), so a failure is
// reported to the operator (fail) and the run goes on as it would have:
// the lines are kept, and the flush at its end tries again.
func openTranscript(p *policy.Policy, limit int64, header TranscriptRecord, fail func(error)) (*transcript, error) {
	if effect.FSUnsupported != nil {
		return nil, fmt.Errorf("transcript %s: %w", p.Transcript(), effect.FSUnsupported)
	}
	t := &transcript{path: p.Transcript(), policy: p, limit: limit, header: header}
	f, err := t.open()
	if err == nil {
		if err = f.Close(); err != nil {
			err = fmt.Errorf("transcript %s: %w", t.path, err)
		}
	}
	if err != nil {
		fail(err)
	}
	return t, nil
}

// open opens the file for appending. The path is judged again (a symlink
// placed in the zone since the policy was loaded must not send local-only
// lines elsewhere), its last component is not followed, and what was
// opened must be the regular file the path names.
func (t *transcript) open() (*os.File, error) {
	d := t.policy.FlowAllowed(policy.FSWrite, t.path)
	if !d.Allowed || d.ResolvedPath != t.path {
		return nil, fmt.Errorf("transcript %s: no longer inside the local-only zone (%s)", t.path, d.Reason)
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return nil, fmt.Errorf("transcript %s: %w", t.path, err)
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|effect.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("transcript %s: %w", t.path, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		var li os.FileInfo
		if li, err = os.Lstat(t.path); err == nil && !os.SameFile(fi, li) {
			err = errors.New("the file changed while it was opened")
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("transcript %s: %w", t.path, err)
	}
	return f, nil
}

// add records a line; past the limit it stops the run (a limit, charged
// like any limit after a local-only read).
func (t *transcript) add(rec TranscriptRecord) {
	t.mu.Lock()
	if t.full {
		t.mu.Unlock()
		return
	}
	t.size += int64(len(rec.Text) + len(rec.Pos))
	if t.limit > 0 && t.size > t.limit {
		t.full = true
		t.mu.Unlock()
		if t.onFull != nil {
			t.onFull()
		}
		return
	}
	t.recs = append(t.recs, rec)
	t.mu.Unlock()
}

// flush appends the header and the records, in one write.
func (t *transcript) flush() error {
	t.mu.Lock()
	recs := append([]TranscriptRecord{t.header}, t.recs...)
	t.recs = nil
	t.mu.Unlock()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("transcript %s: encode: %w", t.path, err)
		}
	}
	f, err := t.open()
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("transcript %s: write: %w", t.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("transcript %s: %w", t.path, err)
	}
	return nil
}

// printLocal is the thread's PrintLocal: the real line of every print.
// Before the run's first local-only read every line is public and on stdout
// already; from the read on, each goes to the transcript.
func (r *run) printLocal(thread *starlark.Thread, msg string) {
	if !r.out.isMarked() {
		return
	}
	r.transcript.add(TranscriptRecord{Kind: TranscriptPrint, Pos: position(thread.CallStack()), Text: msg})
}

// finishTranscript writes the run's transcript, if it read local-only
// data: its lines and the real message of the error it ended with. A
// failure to write goes to the audit log (transcriptFailed): the run's
// public outcome cannot depend on it.
func (r *run) finishTranscript(err error) {
	if r.transcript == nil || !r.out.isMarked() {
		return
	}
	if err != nil {
		msg := err.Error()
		var ev *starlark.EvalError
		if errors.As(err, &ev) {
			msg = ev.Backtrace()
		}
		// Past the limit too: the ending is what the reader needs most.
		t := r.transcript
		t.mu.Lock()
		t.recs = append(t.recs, TranscriptRecord{Kind: TranscriptError, Text: msg})
		t.mu.Unlock()
	}
	if werr := r.transcript.flush(); werr != nil {
		r.transcriptFailed(werr)
	}
}

// transcriptFailed records, for the operator, that the transcript could not
// be opened or written. Nothing of it reaches the run's public result: not
// a warning, not an error (not even when the audit log refuses the record,
// whose presence depends on the zone's state).
func (r *run) transcriptFailed(err error) {
	if r.sink == nil {
		return
	}
	_ = r.sink.Append(audit.Event{TaskID: r.req.TaskID, Kind: audit.KindTranscript, Capability: "transcript",
		Status: audit.Errored, Target: r.opts.Policy.Transcript(), Section: "[runtime].transcript",
		Reason: "the local-only transcript was not written: " + err.Error()})
}

// TranscriptRun is one run read back from a transcript.
type TranscriptRun struct {
	TranscriptRecord
	Lines []TranscriptRecord `json:"lines"`
}

// ReadTranscript reads the transcript at path: its runs in order, and how
// many lines could not be read (the file is inside the zone, where scripts
// may write too: a line that is not a record is skipped, never trusted).
// With tail > 0 only the last tail runs are returned. A missing file holds
// no run.
func ReadTranscript(path string, tail int) ([]TranscriptRun, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the transcript: %w", err)
	}
	defer f.Close()
	var runs []TranscriptRun
	skipped := 0
	br := bufio.NewReader(f)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var rec TranscriptRecord
			switch {
			case json.Unmarshal(line, &rec) != nil:
				skipped++
			case rec.Kind == TranscriptHeader:
				runs = append(runs, TranscriptRun{TranscriptRecord: rec, Lines: []TranscriptRecord{}})
			case (rec.Kind == TranscriptPrint || rec.Kind == TranscriptError) && len(runs) > 0:
				runs[len(runs)-1].Lines = append(runs[len(runs)-1].Lines, rec)
			default:
				skipped++
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, fmt.Errorf("read the transcript: %w", rerr)
		}
	}
	if tail > 0 && len(runs) > tail {
		runs = runs[len(runs)-tail:]
	}
	return runs, skipped, nil
}

// transcriptLimit is the error that stops a run whose transcript lines pass
// [runtime].max_output_bytes.
func transcriptLimit(max int64) *builtins.LimitError {
	return &builtins.LimitError{Limit: "max_output_bytes", Value: max, Detail: "the script printed more (to the local-only transcript)"}
}

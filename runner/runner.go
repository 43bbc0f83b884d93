// Package runner composes one Aegis run: the embeddable Go API behind both
// `aegis run` and the MCP server. Run takes a loaded policy and a script and
// returns a Result; nothing else is needed to run policy-gated Starlark in
// process.
//
// A run goes through these stages, each stopping it with its own Kind:
//
//	audit log    open (and resume) the hash-chained log          io_error
//	verifier     parse, resolve, and reject capabilities the
//	             policy grants to nothing (builtins/verify)       script_error, verifier_rejected
//	limits       [runtime]: a deadline that cancels the thread
//	             (so CPU loops stop too, and blocked effects are
//	             abandoned), steps, a per-thread allocation
//	             budget (host builtins charge theirs), output
//	             bytes, call depth, call counts                  limit
//	execute      the script, in the dialect agents write
//	             (top-level for/if/while, set, reassignment,
//	             recursion), with the builtins package's modules  script_error, policy_denied,
//	                                                              confirm_denied, flow_denied
//	budget       a local-only read is admitted only while the
//	             principal's secret-dependent aborts (audit log +
//	             session Ledger) stay under [runtime].
//	             max_secret_dependent_aborts (budget.go)     policy_denied
//	settle       an ending decided by local-only data is charged
//	             to its principals: a secret_abort audit record
//	report       exit kind and code (exit.go, the one mapping),
//	             printed output (labelled parts already
//	             "[REDACTED]"), and an error message redacted by
//	             label (redact.go)
//
// The invariant: nothing labelled local-only reaches Result.Stdout,
// Result.Error or the audit log.
package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/builtins/verify"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// Options are the run's setup.
type Options struct {
	Policy *policy.Policy

	// AuditLog is the audit log file; "" is the one the policy was loaded
	// for (policy.WithAuditLog), by default .aegis/audit.jsonl under the
	// policy root. Another file is checked with policy.GuardAuditLog: a
	// policy that lets scripts touch it is refused.
	AuditLog string

	// Confirm approves a requires_approval call; nil denies every one.
	Confirm func(ctx context.Context, capability, target string) (bool, error)

	// Audit, if set, also receives every audit event (after the log).
	Audit audit.Sink

	// Environ is the environment env.read reads and commands are given
	// (filtered by the policy); nil means os.Environ().
	Environ []string

	// Ledger, if set, is the session the run belongs to for the leakage
	// budget (budget.go): share one between the runs of a long-lived server
	// so that its own count of secret-dependent aborts, and its runs in
	// progress, add to what the audit log records. nil counts from the
	// audit log alone.
	Ledger *Ledger
}

// Request is one script to run.
type Request struct {
	Script   []byte
	Filename string            // for positions in errors, e.g. "task.star"
	TaskID   string            // optional, recorded in the audit log
	Inputs   map[string]string // optional public string globals predeclared for the script
}

// Result is how a run ended. Its JSON form is the stable schema of
// `aegis run --json`.
type Result struct {
	ExitKind string `json:"exit_kind"`
	ExitCode int    `json:"exit_code"`
	Stdout   string `json:"stdout"`          // everything printed, labelled parts "[REDACTED]"; kept on error
	Error    string `json:"error,omitempty"` // redacted; says what was denied and how to allow it
	Calls    int    `json:"calls"`           // capability calls made outside local-only-dependent code

	// Charged is set when the run ended in a way decided by local-only data
	// and was charged to the leakage budget.
	Charged *Charge `json:"charged,omitempty"`

	// Warnings are public notes on how the run was carried out (a command
	// ran without a sandbox); the CLI prints them to stderr.
	Warnings []string `json:"warnings,omitempty"`

	// Events are the audit events of this run (also written to the log).
	Events []audit.Event `json:"-"`
}

// Charge is what a secret-dependent abort cost the leakage budget
// (docs/ifc-model.md, "The leakage budget").
type Charge struct {
	Principals []string `json:"principals"` // the local-only principals it depended on
	Bits       int64    `json:"bits"`       // charged to each of them
	Progress   int64    `json:"progress"`   // public calls since the first local-only read
	LeftBits   int64    `json:"bits_left"`  // what [runtime].max_leak_bits leaves (the least over the principals)
	FirstRead  string   `json:"first_read"` // where the run first read local-only data
}

// Dialect is the Starlark agents write: top-level control flow, while,
// set, global reassignment and recursion (bounded by max_callstack_size).
func Dialect() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
}

// Redaction replaces labelled values in printed output.
const Redaction = "[REDACTED]"

// Run runs one script. Cancelling ctx stops the script (between two
// instructions, or inside a blocking effect) and ends the run as a limit.
func Run(ctx context.Context, opts Options, req Request) (res Result) {
	r := &run{opts: opts, req: req, mem: &audit.Memory{}}
	if r.req.Filename == "" {
		r.req.Filename = "task.star"
	}
	defer r.closeLog()
	defer func() {
		// A bug must not take down the host (the MCP server runs many
		// scripts). The panic value may hold script data, labelled or not,
		// so it is not reported.
		if v := recover(); v != nil {
			res = r.result(&InternalError{})
		}
		// Whatever happened, the run's units of the budget are released.
		if r.budget != nil {
			r.budget.finish(nil, 0)
		}
	}()
	err := r.protect(func() error { return r.exec(ctx) })
	err = r.protect(func() error { return r.settle(err) })
	_ = r.protect(func() error { r.finishTranscript(err); return nil })
	return r.result(err)
}

// protect turns a panic in fn into an InternalError, so that the run is
// still settled against the budget (a panic a secret can trigger is an
// abort like any other).
func (r *run) protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &InternalError{}
		}
	}()
	return fn()
}

// settle charges a secret-dependent abort to its principals (budget.go):
// it records the abort in the audit log and in the session's ledger, and
// releases the run's units of the budget.
func (r *run) settle(err error) error {
	if r.budget == nil {
		return err
	}
	var reg *labels.Registry
	if r.host != nil {
		reg = r.host.Registry
	}
	charged := secretDependent(err, r.budget, reg)
	bits := r.budget.charge()
	if len(charged) > 0 {
		r.charge = &chargeInfo{principals: charged, bits: bits, progress: r.budget.progress}
	}
	r.budget.finish(charged, bits)
	if len(charged) == 0 {
		return err
	}
	left := r.budget.left()
	r.charge.left = r.budget.maxBits
	for _, p := range charged {
		r.charge.left = min(r.charge.left, left[p])
	}
	ev := abortEvent(r.req.TaskID, Classify(err), charged, bits, r.budget.progress)
	if aerr := r.sink.Append(ev); aerr != nil {
		// The ledger has counted it; the log, which the next run counts
		// from, has not: the operator must know.
		return &builtins.AuditError{Err: fmt.Errorf("record a secret-dependent abort: %w", aerr)}
	}
	return err
}

// warn records a warning for Result.Warnings, once.
func (r *run) warn(w string) {
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	for _, have := range r.warnings {
		if have == w {
			return
		}
	}
	r.warnings = append(r.warnings, w)
}

func (r *run) closeLog() {
	if r.log != nil {
		r.log.Close()
	}
}

// chargeInfo is what a secret-dependent abort cost: the principals charged,
// the bits, the progress it revealed and the bits left afterwards (the
// least over the principals).
type chargeInfo struct {
	principals []string
	bits       int64
	progress   int64
	left       int64
}

// InternalError is a bug in Aegis that stopped a run.
type InternalError struct{}

func (*InternalError) Error() string {
	return "internal error in Aegis (a bug): the run was stopped; the details are withheld because they may hold script data"
}

// run is the state of one Run.
type run struct {
	opts Options
	req  Request
	mem  *audit.Memory
	host *builtins.Host

	log    *audit.Log
	sink   audit.Sink
	budget *budget
	charge *chargeInfo // set when the ending was charged to the leakage budget

	thread    *starlark.Thread
	firstRead string // position of the run's first local-only read

	out outputBuffer
	// transcript, when the policy sets [runtime].transcript, receives the
	// real lines printed after the first local-only read (transcript.go).
	transcript *transcript
	warnMu     sync.Mutex
	warnings   []string
	stopMu     sync.Mutex
	stop       error // why the watchdog cancelled the thread
}

func (r *run) exec(ctx context.Context) error {
	p := r.opts.Policy
	if p == nil {
		return &ConfigError{Err: errors.New("no policy: load one (policy.Load) or use the secure-defaults preset (policy.Preset)")}
	}
	limits := p.Runtime()

	logPath, err := r.auditPath()
	if err != nil {
		return err
	}
	log, err := audit.Open(logPath)
	if err != nil {
		return &ConfigError{Err: err}
	}
	r.log = log // closed by Run, after settle has recorded the ending
	sink := audit.Tee{log, r.mem, r.opts.Audit}
	r.sink = sink
	ledger, session := r.opts.Ledger, true
	if ledger == nil {
		ledger, session = NewLedger(), false
	}
	r.budget = newBudget(ledger, session, limits, logPath)

	environ := r.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	r.host = &builtins.Host{
		Policy:                p,
		Registry:              p.NewRegistry(),
		Audit:                 sink,
		TaskID:                r.req.TaskID,
		Confirm:               r.opts.Confirm,
		Environ:               environ,
		HTTPTimeout:           time.Duration(p.NetTimeoutSeconds()) * time.Second,
		MaxTotalCalls:         limits.MaxTotalCalls,
		MaxMemoryMB:           limits.MaxMemoryMB,
		MaxCallsPerCapability: limits.MaxCallsPerCapability,
		Gate:                  markingGate{r},
	}
	jail, err := newJailer(p, logPath)
	if err != nil {
		return &ConfigError{Err: err}
	}
	r.host.Jail = jail.confine
	if p.Enabled(policy.SubprocessExec) {
		// The sandbox is probed only when a command may run.
		sb, _ := jail.sandbox()
		if w := commandWarning(p, sb); w != "" {
			r.warn(w)
		}
	}
	predeclared := r.host.Modules()
	modules := slices.Sorted(maps.Keys(predeclared)) // builtins.ModuleNames, without building the modules again
	for name, v := range r.req.Inputs {
		if _, clash := predeclared[name]; clash {
			return &ConfigError{Err: fmt.Errorf("input %q would hide the predeclared %s module: rename it", name, name)}
		}
		predeclared[name] = starlark.String(v)
	}

	if _, err := verify.Check(r.req.Filename, r.req.Script, verify.Options{
		File:          Dialect(),
		IsPredeclared: predeclared.Has,
		IsUniversal:   starlark.Universe.Has,
		Grant:         grant(p),
		Predeclared:   modules,
	}); err != nil {
		var rej *verify.Rejection
		if errors.As(err, &rej) {
			for _, f := range rej.Findings {
				ev := audit.Event{TaskID: r.req.TaskID, Kind: audit.KindVerifier, Capability: f.Capability,
					Status: audit.Denied, Section: f.Section, Reason: "verifier: " + f.Why, Position: f.Pos.String()}
				if aerr := sink.Append(ev); aerr != nil {
					return &builtins.AuditError{Err: aerr}
				}
			}
		}
		return err
	}

	runCtx, cancel := context.WithTimeout(ctx, time.Duration(limits.MaxSeconds)*time.Second)
	defer cancel()
	r.host.Ctx = runCtx

	thread := &starlark.Thread{Name: r.req.Filename, Print: r.print}
	r.thread = thread
	thread.PrintRedaction = Redaction
	if p.Transcript() != "" {
		t, err := openTranscript(p, limits.MaxOutputBytes, TranscriptRecord{Kind: TranscriptHeader, Time: time.Now().UTC(),
			Task: r.req.TaskID, Script: r.req.Filename}, r.transcriptFailed)
		if err != nil {
			return &ConfigError{Err: err}
		}
		t.onFull = func() { r.stopWith(transcriptLimit(limits.MaxOutputBytes), thread) }
		r.transcript = t
		thread.PrintLocal = r.printLocal
	}
	thread.SetMaxExecutionSteps(uint64(limits.MaxSteps))
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		r.stopWith(&builtins.LimitError{Limit: "max_steps", Value: limits.MaxSteps, Detail: "the script ran too many steps"}, thread)
	}
	thread.SetMaxAllocBytes(limits.MaxMemoryMB << 20)
	thread.SetMaxCallDepth(int(limits.MaxCallstackSize))
	r.out.limit = limits.MaxOutputBytes
	r.out.onFull = func() {
		r.stopWith(&builtins.LimitError{Limit: "max_output_bytes", Value: limits.MaxOutputBytes,
			Detail: "the script printed more"}, thread)
	}

	// The deadline and the caller's cancellation stop the thread. No
	// goroutine waits for them: the callback runs only if one comes.
	watched := make(chan struct{})
	unwatch := context.AfterFunc(runCtx, func() {
		defer close(watched)
		if ctx.Err() != nil {
			r.stopWith(&builtins.LimitError{Limit: "cancelled", Detail: "the run was cancelled by its caller"}, thread)
		} else {
			r.stopWith(&builtins.LimitError{Limit: "max_seconds", Value: limits.MaxSeconds,
				Detail: "the script ran out of time"}, thread)
		}
	})
	defer unwatch() // also on a panic, so the watch never outlives the run
	// Memory is counted per thread (thread.SetMaxAllocBytes above, and
	// builtins charging what host code builds, builtins/memory.go): no
	// process-wide heap figure is consulted, so concurrent runs in one
	// process cannot stop each other.
	_, err = starlark.ExecFileOptions(Dialect(), thread, r.req.Filename, r.req.Script, predeclared)
	if !unwatch() {
		<-watched // it fired: it has recorded why the thread was stopped
	}
	if err == nil {
		return nil
	}
	// What ended the run, as the run reports it: why the runner stopped
	// it, or an interpreter limit, or the script's own error. The progress
	// rule judges that ending, so that a limit is withheld exactly as it is
	// charged.
	if stop := r.stopped(); stop != nil {
		err = stop
	} else if lerr := interpreterLimit(err, limits); lerr != nil {
		err = lerr
	}
	r.withholdProgress(err)
	return err
}

// stopWith records why the run is being stopped (first reason wins) and
// cancels the thread.
func (r *run) stopWith(err error, thread *starlark.Thread) {
	r.stopMu.Lock()
	if r.stop == nil {
		r.stop = err
	}
	r.stopMu.Unlock()
	thread.Cancel(err.Error())
}

func (r *run) stopped() error {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	return r.stop
}

// print receives every line the script prints, already redacted.
func (r *run) print(thread *starlark.Thread, msg string) {
	r.out.write(msg + "\n")
}

// markingGate marks the output at the run's first local-only read, before
// asking the budget. In a run, labels enter only through local-only sources,
// so everything printed before that mark was computed from public data alone.
//
// It also notes where that first read happened. Before it no label exists,
// so every run of the script reaches it the same way: the position is
// public, and messages about a secret-dependent abort may name it.
type markingGate struct{ r *run }

// Admit implements builtins.SourceGate.
func (g markingGate) Admit(principals []string, labelledPC bool) error {
	r := g.r
	if !r.out.marked && r.thread != nil {
		r.firstRead = position(r.thread.CallStack())
	}
	r.out.markOnce()
	return r.budget.Admit(principals, labelledPC)
}

// Effect implements builtins.SourceGate.
func (g markingGate) Effect() error { return g.r.budget.Effect() }

// Release implements builtins.SourceGate.
func (g markingGate) Release(principals []string, bits int64) error {
	return g.r.budget.Release(principals, bits)
}

// withholdProgress applies the progress rule to a run that failed. When
// the failure depends on local-only data (an error whose label or pc is
// local-only, or a limit, cancellation or internal error after a local-only
// read: exactly the endings the leakage budget charges), the point where the
// run stopped is secret too, and how much it had printed would tell it: print
// a counter, then divide by zero when it equals a secret byte. Such a run
// keeps only the output printed before its first local-only read. A failure
// decided by public data alone (a policy denial, a public script error at a
// public pc) keeps everything, as does a run that succeeds.
func (r *run) withholdProgress(err error) {
	if !r.out.marked {
		return
	}
	if r.stopped() != nil || r.budget == nil {
		r.out.truncateToMark()
		return
	}
	var reg *labels.Registry
	if r.host != nil {
		reg = r.host.Registry
	}
	if len(secretDependent(err, r.budget, reg)) > 0 {
		r.out.truncateToMark()
	}
}

// auditPath picks the audit log and checks it is the one the policy guards.
func (r *run) auditPath() (string, error) {
	p := r.opts.Policy
	guarded := p.AuditLog()
	if guarded == "" {
		guarded = filepath.Join(p.Root(), policy.DefaultAuditLog)
	}
	if r.opts.AuditLog == "" {
		return guarded, nil
	}
	want := canonical(r.opts.AuditLog)
	if want != canonical(guarded) {
		// The loader guarded another file: a policy must not let scripts
		// read, write or delete this one either.
		if err := p.GuardAuditLog(want); err != nil {
			return "", &ConfigError{Err: err}
		}
	}
	return want, nil
}

// canonical makes path absolute and resolves symlinks in its longest
// existing prefix.
func canonical(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, tail := abs, ""
	for {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, tail)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs
		}
		tail = filepath.Join(filepath.Base(dir), tail)
		dir = parent
	}
}

// grant answers the verifier from the policy's enabled capabilities, and
// names what to fill from the capability table.
func grant(p *policy.Policy) verify.Grant {
	return func(caps []policy.Capability) (bool, string) {
		for _, c := range caps {
			if p.Enabled(c) {
				return true, ""
			}
		}
		return false, policy.GrantText(caps...)
	}
}

// result turns the run's end into a Result.
func (r *run) result(err error) Result {
	kind := Classify(err)
	res := Result{
		ExitKind: string(kind),
		ExitCode: kind.Code(),
		Stdout:   r.out.String(),
		Events:   r.mem.Events(),
	}
	if r.transcript != nil && r.out.isMarked() {
		// A constant, shown iff the run read local-only data: public.
		res.Stdout += TranscriptNote
	}
	r.warnMu.Lock()
	res.Warnings = append([]string(nil), r.warnings...)
	r.warnMu.Unlock()
	if r.host != nil {
		res.Calls = r.host.Calls()
	}
	limit := policy.DefaultRuntime().MaxOutputBytes
	if r.opts.Policy != nil {
		limit = r.opts.Policy.Runtime().MaxOutputBytes
	}
	switch {
	case err != nil && r.charge != nil:
		c := r.charge
		res.Charged = &Charge{Principals: c.principals, Bits: c.bits, Progress: c.progress, LeftBits: c.left, FirstRead: r.firstRead}
		res.Error = describeCharged(kind, res.Charged)
	case err != nil:
		adv := advice{policy: r.opts.Policy}
		if r.budget != nil {
			adv.read = r.budget.holding()
		}
		res.Error = boundText(describe(err, kind, adv), limit)
	}
	return res
}

// outputBuffer collects printed output up to a limit.
type outputBuffer struct {
	mu     sync.Mutex
	b      strings.Builder
	limit  int64
	full   bool
	onFull func()

	marked bool // a local-only source has been read since markAt
	markAt int
}

// markOnce records, the first time it is called, the end of the output
// printed before the run's first local-only read.
func (o *outputBuffer) markOnce() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.marked {
		o.marked, o.markAt = true, o.b.Len()
	}
}

func (o *outputBuffer) truncateToMark() { o.truncate(o.markAt) }

// isMarked reports whether the run has read local-only data.
func (o *outputBuffer) isMarked() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.marked
}

func (o *outputBuffer) truncate(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n < o.b.Len() {
		kept := o.b.String()[:n]
		o.b.Reset()
		o.b.WriteString(kept)
	}
}

func (o *outputBuffer) write(s string) {
	o.mu.Lock()
	if o.full {
		o.mu.Unlock()
		return
	}
	if o.limit > 0 && int64(o.b.Len()+len(s)) > o.limit {
		o.full = true
		o.mu.Unlock()
		if o.onFull != nil {
			o.onFull()
		}
		return
	}
	o.b.WriteString(s)
	o.mu.Unlock()
}

func (o *outputBuffer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

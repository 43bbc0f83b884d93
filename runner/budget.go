package runner

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// The leakage budget of the termination channel.
//
// Labels stop every flow of local-only data except one: whether a run ends
// normally or aborts, which a script can make depend on a secret bit
// (termination-insensitive noninterference allows it). Each such run tells
// whoever started it at most one bit. The budget bounds the sum: a run whose
// abort was decided by local-only data is a secret-dependent abort, charged
// to the principals it depended on and recorded in the audit log
// (audit.KindSecretAbort); once [runtime].max_secret_dependent_aborts runs
// have been charged to a principal, the principal's sources are refused
// before they are read (builtins.SourceGate, *builtins.BudgetError).
//
// The count is per audit log, read from the log at a run's first local-only
// read; a Ledger adds the count of one session (an aegis-mcp process) and
// the runs of that session still in progress. A run that has read a
// principal holds one unit of its budget until it ends, so concurrent runs
// in one process cannot overdraw it: a principal is admitted only while
// charged aborts plus runs in progress stay below the limit.

// Ledger keeps the budget of one session: the secret-dependent aborts
// charged through it and, per principal, the runs in progress that have
// read it. Share one Ledger between the runs of a session (Options.Ledger);
// it is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	aborts  map[string]int64
	reading map[string]int64
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{aborts: map[string]int64{}, reading: map[string]int64{}}
}

// Aborts returns the secret-dependent aborts charged through the ledger,
// per principal.
func (l *Ledger) Aborts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.aborts))
	for k, v := range l.aborts {
		out[k] = v
	}
	return out
}

// budget is one run's view of the leakage budget; it is the run's
// builtins.SourceGate.
type budget struct {
	ledger  *Ledger
	session bool // the ledger outlives the run (Options.Ledger)
	limit   int64
	logPath string

	// Set on the first Admit: the counts of the audit log.
	counted   bool
	logCounts map[string]int64
	logErr    error

	held map[string]bool // principals this run holds a unit of
	done bool
}

func newBudget(ledger *Ledger, session bool, limit int64, logPath string) *budget {
	return &budget{ledger: ledger, session: session, limit: limit, logPath: logPath, held: map[string]bool{}}
}

// Admit implements builtins.SourceGate.
func (b *budget) Admit(principals []string) error {
	if !b.counted {
		// Read once, and only by runs that read something local-only: the
		// log cannot gain a charge for this run's principals while the run
		// holds them, except from another process (see docs).
		b.counted = true
		b.logCounts, b.logErr = audit.CountSecretAborts(b.logPath)
	}
	if b.logErr != nil {
		return b.logErr
	}
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	var spent []string
	for _, p := range principals {
		if b.held[p] {
			continue
		}
		if max(b.logCounts[p], l.aborts[p])+l.reading[p] >= b.limit {
			spent = append(spent, p)
		}
	}
	if len(spent) > 0 {
		return &builtins.BudgetError{Principals: spent, Limit: b.limit, Scope: b.scope(), Reset: b.reset()}
	}
	for _, p := range principals {
		if !b.held[p] {
			b.held[p] = true
			l.reading[p]++
		}
	}
	return nil
}

func (b *budget) scope() string {
	if b.session {
		return "the audit log " + b.logPath + " and this session"
	}
	return "the audit log " + b.logPath
}

func (b *budget) reset() string {
	if b.session {
		return "start a new audit log (move " + b.logPath + " aside) and a new session (restart the server, e.g. aegis-mcp)"
	}
	return "start a new audit log (move " + b.logPath + " aside)"
}

// holding returns the principals the run has read, sorted.
func (b *budget) holding() []string {
	out := make([]string, 0, len(b.held))
	for p := range b.held {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// finish releases the run's units and charges the aborted principals, in
// one step so that no other run sees the unit released before the charge.
// It is idempotent.
func (b *budget) finish(charged []string) {
	if b.done {
		return
	}
	b.done = true
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range b.held {
		if l.reading[p]--; l.reading[p] <= 0 {
			delete(l.reading, p)
		}
	}
	for _, p := range charged {
		l.aborts[p]++
	}
}

// secretDependent returns the principals a run that ended with err is
// charged to: nil when the ending did not depend on local-only data.
//
//   - An error raised by the script (a Starlark error, fail, a denial, a
//     flow error, a refused approval) is secret-dependent when its pc was
//     labelled (it happened inside code that runs only depending on a
//     secret) or its own label is (the failing operation's operands: int()
//     of a secret, a division by a secret bit, a read whose target came
//     from one). The interpreter joins both into EvalError.Label and PC;
//     the charge goes to their principals. An error whose message alone is
//     labelled (fail(secret)) is charged too: the label cannot tell message
//     from occurrence.
//   - A limit (steps, time, memory, output, call counts, call depth), a
//     cancellation and an internal error are charged to every principal the
//     run read: how much a run consumes can depend on a secret without any
//     branch (a loop bound, a string's length), so no narrower set is sound.
//
// A run that read nothing local-only is never charged: every label comes
// from a source the budget admitted.
func secretDependent(err error, b *budget, reg *labels.Registry) []string {
	if err == nil || b == nil || len(b.held) == 0 {
		return nil
	}
	var (
		lim *builtins.LimitError
		ie  *InternalError
		ev  *starlark.EvalError
	)
	switch {
	case errors.As(err, &lim), errors.As(err, &ie):
		return b.holding()
	case errors.As(err, &ev):
		l := ev.PC | ev.Label | starlark.ErrorLabel(err)
		if l == labels.Public || reg == nil {
			return nil
		}
		return reg.Names(l)
	}
	return nil
}

// abortEvent is the audit record of a secret-dependent abort. It names the
// principals and the public facts of the ending (its kind, and where the
// pc first depended on local-only data), never a value or the failing line.
func abortEvent(taskID string, kind Kind, charged []string, err error, limit int64) audit.Event {
	ev := audit.Event{
		TaskID: taskID,
		Kind:   audit.KindSecretAbort,
		Status: audit.Errored,
		Labels: audit.Labels(charged),
		Reason: fmt.Sprintf("the run ended (%s) in a way that depends on local-only data; "+
			"charged against [runtime].max_secret_dependent_aborts = %d", kind, limit),
	}
	var e *starlark.EvalError
	if errors.As(err, &e) && e.HighAt != nil {
		ev.Position = position(e.HighAt)
	}
	return ev
}

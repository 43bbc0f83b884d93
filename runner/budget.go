package runner

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// The leakage budget (docs/ifc-model.md, "The leakage budget").
//
// Labels stop every flow of local-only data but one: how a run ends. A run
// whose ending was decided by local-only data (a secret-dependent abort)
// tells whoever started it which way it ended (its exit kind, one of six
// failure kinds) and how far it got: the public calls it made after its
// first local-only read (n), which the calls field, a server's log and the
// files written show. Everything else it printed or reported after that
// read is withheld. Such an abort is charged policy.LeakCharge(n) bits to
// every principal it depended on and recorded in the audit log
// (audit.KindSecretAbort, with the bits); a principal's sources are refused
// before they are read once its charges reach [runtime].max_leak_bits, or
// its aborts [runtime].max_secret_dependent_aborts.
//
// A run holding a principal also reserves, in the session's Ledger, what its
// abort would cost now, and asks before each further public call whether an
// abort after it would still fit (Effect): concurrent runs in one process
// cannot overdraw the budget, and neither can a run's own progress. The
// counts are per audit log since the principal's last budget reset (aegis
// audit reset-budget), read from the log at a run's first local-only read;
// a Ledger adds the charges and reservations of one session (an aegis-mcp
// process).

// Ledger keeps the budget of one session: the charges made through it and,
// per principal, the runs in progress that have read it and the bits they
// reserve. Share one Ledger between the runs of a session (Options.Ledger);
// it is safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	spent    map[string]audit.Spent
	reading  map[string]int64 // runs in progress holding the principal
	reserved map[string]int64 // bits those runs would be charged if they aborted now
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{spent: map[string]audit.Spent{}, reading: map[string]int64{}, reserved: map[string]int64{}}
}

// Spent returns the charges made through the ledger, per principal.
func (l *Ledger) Spent() map[string]audit.Spent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]audit.Spent, len(l.spent))
	for k, v := range l.spent {
		out[k] = v
	}
	return out
}

// Reset forgets the session's charges of principals (after an operator
// reset the budget in the audit log).
func (l *Ledger) Reset(principals []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range principals {
		delete(l.spent, p)
	}
}

// budget is one run's view of the leakage budget; it is the run's
// builtins.SourceGate.
type budget struct {
	ledger     *Ledger
	session    bool // the ledger outlives the run (Options.Ledger)
	maxBits    int64
	maxAborts  int64
	logPath    string
	countedLog bool
	logSpent   map[string]audit.Spent
	logErr     error

	held     map[string]bool // principals this run has read (and reserves for)
	progress int64           // public calls since the first local-only read
	reserve  int64           // bits reserved per held principal: LeakCharge(progress)
	done     bool
}

func newBudget(ledger *Ledger, session bool, limits policy.RuntimeLimits, logPath string) *budget {
	return &budget{ledger: ledger, session: session, maxBits: limits.MaxLeakBits, maxAborts: limits.MaxSecretDependentAborts,
		logPath: logPath, held: map[string]bool{}}
}

// spentLocked is what principal p has been charged: the larger of the log's
// count and the session's (the session's own charges are in the log too,
// unless they came after the log was read).
func (b *budget) spentLocked(p string) audit.Spent {
	s, t := b.logSpent[p], b.ledger.spent[p]
	return audit.Spent{Aborts: max(s.Aborts, t.Aborts), Releases: max(s.Releases, t.Releases), Bits: max(s.Bits, t.Bits)}
}

// readLog reads the log's charges, once, by runs that read something
// local-only.
func (b *budget) readLog() error {
	if !b.countedLog {
		b.countedLog = true
		b.logSpent, b.logErr = audit.LeakLedger(b.logPath)
	}
	return b.logErr
}

// Admit implements builtins.SourceGate.
func (b *budget) Admit(principals []string, labelled bool) error {
	if err := b.readLog(); err != nil {
		return err
	}
	var fresh []string
	for _, p := range principals {
		if !b.held[p] && !containsString(fresh, p) {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if labelled {
		return &starlark.FlowError{Reason: "a local-only source this run has not read yet may not be read in code that runs " +
			"only depending on local-only data, or through a target computed from it (which sources a run has read must not " +
			"depend on it); read it first, from a public target, before the condition"}
	}
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	charge := policy.LeakCharge(b.progress)
	var spentBits, spentAborts []string
	bitsLeft, abortsLeft := b.maxBits, b.maxAborts
	for _, p := range fresh {
		s := b.spentLocked(p)
		if left := b.maxBits - s.Bits - l.reserved[p]; left < charge {
			spentBits = append(spentBits, p)
			bitsLeft = min(bitsLeft, max(left, 0))
		}
		if left := b.maxAborts - s.Aborts - l.reading[p]; left < 1 {
			spentAborts = append(spentAborts, p)
			abortsLeft = min(abortsLeft, max(left, 0))
		}
	}
	switch {
	case len(spentBits) > 0:
		return b.refusal(spentBits, "max_leak_bits", b.maxBits, bitsLeft, 0)
	case len(spentAborts) > 0:
		return b.refusal(spentAborts, "max_secret_dependent_aborts", b.maxAborts, abortsLeft, 0)
	}
	for _, p := range fresh {
		b.held[p] = true
		l.reading[p]++
		l.reserved[p] += charge
	}
	b.reserve = charge
	return nil
}

// Effect implements builtins.SourceGate: before a public call of a run that
// has read local-only data, the charge of an abort after the call must still
// fit every held principal's budget.
func (b *budget) Effect() error {
	if len(b.held) == 0 {
		return nil
	}
	next := policy.LeakCharge(b.progress + 1)
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if next > b.reserve {
		var short []string
		left := b.maxBits
		for _, p := range b.holding() {
			s := b.spentLocked(p)
			// What the other runs reserve, plus what this one would.
			if rest := b.maxBits - s.Bits - (l.reserved[p] - b.reserve); rest < next {
				short = append(short, p)
				left = min(left, max(rest, 0))
			}
		}
		if len(short) > 0 {
			return b.refusal(short, "max_leak_bits", b.maxBits, left, b.progress)
		}
		for p := range b.held {
			l.reserved[p] += next - b.reserve
		}
		b.reserve = next
	}
	b.progress++
	return nil
}

// Release implements builtins.SourceGate: a release of local-only data
// ([declassify]) is charged its bits to every principal at once, and
// refused when that would leave less than what the run and the other runs
// in progress reserve for their aborts (the sum of every charge and every
// reservation stays within [runtime].max_leak_bits). The builtin records
// the release in the audit log, which is what later runs count.
func (b *budget) Release(principals []string, bits int64) error {
	if bits <= 0 || len(principals) == 0 {
		return nil
	}
	if err := b.readLog(); err != nil {
		return err
	}
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	var short []string
	left := b.maxBits
	for _, p := range principals {
		s := b.spentLocked(p)
		if rest := b.maxBits - s.Bits - l.reserved[p]; rest < bits {
			short = append(short, p)
			left = min(left, max(rest, 0))
		}
	}
	if len(short) > 0 {
		e := b.refusal(short, "max_leak_bits", b.maxBits, left, 0)
		e.Release = bits
		return e
	}
	for _, p := range principals {
		s := b.spentLocked(p)
		s.Releases++
		s.Bits += bits
		l.spent[p] = s
	}
	return nil
}

func (b *budget) refusal(principals []string, key string, limit, left, progress int64) *builtins.BudgetError {
	sort.Strings(principals)
	return &builtins.BudgetError{Principals: principals, Key: key, Limit: limit, Left: left, Progress: progress,
		Scope: b.scope(), Reset: b.reset(principals)}
}

func (b *budget) scope() string {
	if b.session {
		return "the audit log " + b.logPath + " and this session"
	}
	return "the audit log " + b.logPath
}

func (b *budget) reset(principals []string) string {
	s := "reset it with `aegis audit reset-budget --log " + b.logPath
	for _, p := range principals {
		s += " " + p
	}
	s += "`"
	if b.session {
		s += " and restart this session (e.g. aegis-mcp)"
	}
	return s
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

// charge is what an abort of this run costs each principal it is charged
// to, in bits.
func (b *budget) charge() int64 { return policy.LeakCharge(b.progress) }

// left returns, per principal the run holds, the bits left for other runs:
// the limit less the charges and the other runs' reservations (after
// finish, the run's own charge is among the charges).
func (b *budget) left() map[string]int64 {
	l := b.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(b.held))
	for p := range b.held {
		out[p] = max(b.maxBits-b.spentLocked(p).Bits-(l.reserved[p]-b.reserve), 0)
	}
	return out
}

// finish releases the run's reservations and charges the aborted
// principals bits, in one step so that no other run sees the reservation
// released before the charge. It is idempotent.
func (b *budget) finish(charged []string, bits int64) {
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
		if l.reserved[p] -= b.reserve; l.reserved[p] <= 0 {
			delete(l.reserved, p)
		}
	}
	b.reserve = 0
	for _, p := range charged {
		s := b.spentLocked(p)
		s.Aborts++
		s.Bits += bits
		l.spent[p] = s
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secretDependent returns the principals a run that ended with err is
// charged to: nil when the ending did not depend on local-only data.
//
//   - An error raised by the script (a Starlark error, fail, a denial, a
//     flow error, a refused approval) is secret-dependent when its pc was
//     labelled (it happened inside code that runs only depending on a
//     secret) or its own label is (the inputs of the failing operation: int()
//     of a secret, a division by a secret bit, a builtin's argument whose
//     type, count or keyword name came from one, a read whose target came
//     from one). The interpreter joins both into EvalError.Label and PC. The
//     charge goes to every principal the run read: which of them the label
//     names may depend on the path taken.
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
		if l == labels.Public {
			return nil
		}
		// Which principals the error's label names may depend on the path
		// the run took (x = a if secret else b), and the charge is seen (the
		// message, the audit log, later refusals): it goes to every
		// principal the run holds, a set fixed by public control (first
		// reads decided by local-only data are refused).
		return b.holding()
	}
	return nil
}

// abortEvent is the audit record of a secret-dependent abort. It names the
// principals, the bits charged and the public facts of the ending (its kind
// and the progress it revealed), never a value or the failing line.
func abortEvent(taskID string, kind Kind, charged []string, bits, progress int64) audit.Event {
	return audit.Event{
		TaskID: taskID,
		Kind:   audit.KindSecretAbort,
		Status: audit.Errored,
		Labels: audit.Labels(charged),
		Bits:   bits,
		Reason: fmt.Sprintf("the run ended (%s) in a way that depends on local-only data after %d public calls "+
			"since its first local-only read; charged %d bits against [runtime].max_leak_bits", kind, progress, bits),
	}
}

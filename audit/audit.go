// Package audit is Aegis's tamper-evident record of what a script did.
//
// A Log is an append-only JSON Lines file. Every capability call a script
// makes (allowed, denied or failed) and every flow error becomes one Event,
// written as one line:
//
//	{"seq":7,"prev":"<hex of line 6's hash>","ts":...,"capability":"fs.read",...,"hash":"<hex>"}
//
// The lines form a SHA-256 hash chain. A line's hash covers its whole text
// except the trailing "hash" member (so seq and prev are covered too), and
// the next line's prev repeats it. The first line of a file has seq 1 and a
// prev of 64 zeros. Verify walks a file and reports every line whose hash does
// not match its text (an edit), whose seq or prev do not follow the line
// before it (an insertion, a removal or a reordering) and, given the sequence
// number an outside observer last saw, a file that ends too early (a
// truncation). Without such an outside anchor a hash chain cannot tell a file
// from a complete forgery: the chain carries no key.
//
// Appends are durable and serialised: each one takes an exclusive flock on the
// file, re-reads the chain's tail if another writer moved it, writes the line
// and fsyncs before returning. A second run, or a second process, therefore
// continues the same chain.
//
// The log is also the ledger of the termination channel: KindSecretAbort
// records count, per principal, the runs whose ending told their observer
// something about local-only data, and LeakLedger (budget.go) reads
// the counts back in one streaming pass.
//
// The invariant callers must keep: an Event holds only public text. The log
// names the principals of labelled data (Event.Labels, e.g. "env:API_KEY"),
// never the data; callers replace a labelled target with Redacted before they
// append.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Status says how a capability call ended.
type Status string

const (
	// Allowed: the policy allowed the call and its effect happened.
	Allowed Status = "allowed"
	// Denied: the policy, a flow check, a limit or the user refused the call;
	// nothing happened.
	Denied Status = "denied"
	// Errored: the call was allowed but its effect failed (missing file,
	// HTTP 404, non-zero exit).
	Errored Status = "errored"
)

// Kinds of event.
const (
	KindCall     = "call"     // a capability call
	KindFlow     = "flow"     // labelled data stopped at a sink
	KindVerifier = "verifier" // the pre-execution verifier rejected a capability
	// KindSecretAbort: a run ended with an abort decided by local-only data
	// (an error or a limit that depends on it); Labels names the principals
	// it is charged to, Bits how many bits. LeakLedger tallies these records.
	KindSecretAbort = "secret_abort"
	// KindBudgetReset: the operator reset the leakage budget of the
	// principals in Labels (aegis audit reset-budget); LeakLedger counts
	// their aborts from the record on.
	KindBudgetReset = "budget_reset"
	// KindDeclassify: a script was given a release of local-only data that
	// [declassify] allows (declassify.is_set, ...); Labels names the
	// principals, Bits what the release was charged to each of them,
	// Capability the release ("declassify.is_set"), Target its source,
	// Position where the script asked. LeakLedger adds the bits to the
	// principals' charges.
	KindDeclassify = "declassify"
	// KindTranscript: the local-only transcript ([runtime].transcript)
	// could not be created or written (Status errored, Reason why). Its
	// state is the zone's, which scripts can change under a condition on
	// local-only data, so the run reports it here, for the operator, and
	// never in its public result.
	KindTranscript = "transcript"
)

// Kinds are every kind of event, for tools that filter by kind (aegis audit
// show --kind).
var Kinds = []string{KindCall, KindFlow, KindVerifier, KindSecretAbort, KindBudgetReset, KindDeclassify, KindTranscript}

// Redacted stands in for a target that depends on labelled data.
const Redacted = "[REDACTED]"

// Event is one audited happening. Every field is public text.
type Event struct {
	Time       time.Time `json:"ts"`
	TaskID     string    `json:"task,omitempty"`
	Kind       string    `json:"kind"`
	Capability string    `json:"capability"`         // "fs.read", "net.http_get", "print", ...
	Status     Status    `json:"status"`             // allowed | denied | errored
	Target     string    `json:"target,omitempty"`   // resolved path, URL, argv, variable name; Redacted if labelled
	Rule       string    `json:"rule,omitempty"`     // the policy rule that decided ("read_allow: src/**")
	Section    string    `json:"section,omitempty"`  // the policy section of that rule ("[filesystem]")
	Reason     string    `json:"reason,omitempty"`   // why it was denied or failed
	Labels     []string  `json:"labels,omitempty"`   // principals of the labelled data involved
	Position   string    `json:"position,omitempty"` // script position of the call
	Bits       int64     `json:"bits,omitempty"`     // secret_abort, declassify: the bits charged to each principal
}

// record is the on-disk form: the chain fields first, then the event. The
// hash member is appended to the encoded record, never encoded by it.
type record struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
	Event
}

// Genesis is the prev of a chain's first line.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// hashPrefix opens the member every line ends with: `,"hash":"<64 hex>"}`.
// JSON escapes the quotes of any string value, so this byte sequence cannot
// occur inside one; a line's last occurrence is its hash member.
const hashPrefix = `,"hash":"`

// hashSuffixLen is the length of `,"hash":"` + 64 hex digits + `"}`.
const hashSuffixLen = len(hashPrefix) + 64 + 2

// A Sink receives audit events. *Log is the durable one; tests and embedders
// may collect events in memory.
type Sink interface {
	Append(Event) error
}

// Log appends chained events to one file. It is safe for concurrent use, and
// several Logs (in this or other processes) may append to the same file.
type Log struct {
	path string

	mu   sync.Mutex
	f    *os.File
	size int64  // file size after our last append; -1 before the first
	seq  uint64 // seq of the last line at that size
	last string // hash of the last line at that size
	now  func() time.Time
}

// Open opens (creating it and its directory if needed) the audit log at path.
// The chain is resumed from the file's last line at each append.
func Open(path string) (*Log, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("audit log %s: create directory: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: open: %w", path, err)
	}
	l := &Log{path: path, f: f, size: -1, now: time.Now}
	// Read the tail once now so that a damaged chain is reported before a
	// script runs rather than at its first effect.
	if err := l.withLock(func() error { return l.sync() }); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// Path returns the file the log appends to.
func (l *Log) Path() string { return l.path }

// Close releases the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("audit log %s: close: %w", l.path, err)
	}
	return nil
}

// Append writes ev as the chain's next line and fsyncs it. A zero ev.Time is
// set to the current time (UTC).
func (l *Log) Append(ev Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("audit log %s: append after close", l.path)
	}
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = ev.Time.UTC()
	if ev.Kind == "" {
		ev.Kind = KindCall
	}
	records, err := bound(ev)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return l.withLock(func() error {
		if err := l.sync(); err != nil {
			return err
		}
		var buf []byte
		seq, last := l.seq, l.last
		for _, ev := range records {
			line, hash, err := encodeLine(record{Seq: seq + 1, Prev: last, Event: ev})
			if err != nil {
				return fmt.Errorf("audit log %s: encode: %w", l.path, err)
			}
			if len(line)-1 > MaxLineBytes {
				// Unreachable with bound's limits; refuse rather than write
				// a line the next append could not resume from.
				return fmt.Errorf("audit log %s: a record of %d bytes is over the %d-byte line limit", l.path, len(line)-1, MaxLineBytes)
			}
			buf = append(buf, line...)
			seq, last = seq+1, hash
		}
		// One write and one fsync for the records of one event.
		if _, err := l.f.Write(buf); err != nil {
			return fmt.Errorf("audit log %s: write: %w", l.path, err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("audit log %s: fsync: %w", l.path, err)
		}
		l.size += int64(len(buf))
		l.seq, l.last = seq, last
		return nil
	})
}

// withLock runs fn holding an exclusive lock on the file.
func (l *Log) withLock(fn func() error) error {
	if err := lockFile(l.f); err != nil {
		return fmt.Errorf("audit log %s: lock: %w", l.path, err)
	}
	err := fn()
	if uerr := unlockFile(l.f); uerr != nil && err == nil {
		err = fmt.Errorf("audit log %s: unlock: %w", l.path, uerr)
	}
	return err
}

// sync brings seq and last up to date with the file's tail when another
// writer has appended since our last look. The caller holds the lock.
func (l *Log) sync() error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log %s: stat: %w", l.path, err)
	}
	if fi.Size() == l.size {
		return nil
	}
	if fi.Size() == 0 {
		l.size, l.seq, l.last = 0, 0, Genesis
		return nil
	}
	line, err := lastLine(l.f, fi.Size())
	var rec record
	var hash string
	if err == nil {
		rec, hash, err = decodeLine(line)
	}
	if err != nil {
		// Appending after a damaged line would bury the damage under a valid
		// looking tail, so the run stops here instead.
		return fmt.Errorf("audit log %s: its last line is not a valid record: %w; "+
			"run `aegis audit verify %s`, and move the file aside to start a new chain", l.path, err, l.path)
	}
	l.size, l.seq, l.last = fi.Size(), rec.Seq, hash
	return nil
}

// lastLine returns the last line of f (of the given size) without its
// newline. A file that does not end in a newline ends in a torn write, and a
// last line longer than MaxLineBytes was not written by Append (Verify
// reports the same line).
func lastLine(f *os.File, size int64) ([]byte, error) {
	const chunk = 4096
	var buf []byte
	end := size
	for {
		start := max(end-chunk, 0)
		part := make([]byte, end-start)
		if _, err := f.ReadAt(part, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read tail: %w", err)
		}
		buf = append(part, buf...)
		if len(buf) > 0 && buf[len(buf)-1] != '\n' {
			return nil, errors.New("the file does not end with a newline (torn write?)")
		}
		i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
		if i >= 0 || start == 0 {
			line := buf[i+1 : len(buf)-1]
			if len(line) > MaxLineBytes {
				return nil, fmt.Errorf("last line is %d bytes, longer than the %d-byte limit", len(line), MaxLineBytes)
			}
			return line, nil
		}
		if len(buf)-1 > MaxLineBytes {
			return nil, fmt.Errorf("last line longer than the %d-byte limit", MaxLineBytes)
		}
		end = start
	}
}

// encodeLine renders rec as one chained line (with its newline) and returns
// the line and its hash.
func encodeLine(rec record) ([]byte, string, error) {
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	line := make([]byte, 0, len(body)+hashSuffixLen+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, hashPrefix...)
	line = append(line, hash...)
	line = append(line, "\"}\n"...)
	return line, hash, nil
}

// decodeLine checks one line (without newline) against its own hash and
// returns its record and hash. It does not look at the chain.
func decodeLine(line []byte) (record, string, error) {
	rec, declared, actual, err := parseLine(line)
	if err != nil {
		return rec, "", err
	}
	if actual != declared {
		return rec, "", errors.New("hash does not match the line's text (edited)")
	}
	if msg := checkBounds(rec); msg != "" {
		return rec, "", errors.New(msg)
	}
	return rec, declared, nil
}

// parseLine splits a line into its record, the hash it declares and the hash
// its text actually has. An error means the line is not a record at all.
func parseLine(line []byte) (rec record, declared, actual string, err error) {
	cut := len(line) - hashSuffixLen
	if cut < 1 || !bytes.HasSuffix(line, []byte(`"}`)) ||
		!bytes.Equal(line[cut:cut+len(hashPrefix)], []byte(hashPrefix)) {
		return rec, "", "", errors.New("not a record: no trailing hash member")
	}
	declared = string(line[cut+len(hashPrefix) : len(line)-2])
	if !isHex64(declared) {
		return rec, "", "", errors.New("hash member is not 64 lowercase hex digits")
	}
	body := make([]byte, 0, cut+1)
	body = append(body, line[:cut]...)
	body = append(body, '}')
	sum := sha256.Sum256(body)
	actual = hex.EncodeToString(sum[:])
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, "", "", fmt.Errorf("malformed record: %w", err)
	}
	if dec.More() {
		return rec, "", "", errors.New("malformed record: trailing data")
	}
	if !isHex64(rec.Prev) {
		return rec, "", "", errors.New("prev is not 64 lowercase hex digits")
	}
	return rec, declared, actual, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Labels formats principal names for Event.Labels; it exists so callers need
// not care whether a nil or empty slice is written.
func Labels(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	return append([]string(nil), names...)
}

// Memory is a Sink that keeps events in memory (for embedders and tests).
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Append records ev.
func (m *Memory) Append(ev Event) error {
	records, err := bound(ev)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, records...)
	return nil
}

// Events returns a copy of the recorded events.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Tee is a Sink that appends to each of its sinks in turn and stops at the
// first error.
type Tee []Sink

// Append appends ev to every sink.
func (t Tee) Append(ev Event) error {
	for _, s := range t {
		if s == nil {
			continue
		}
		if err := s.Append(ev); err != nil {
			return err
		}
	}
	return nil
}

package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Problem is one place where a log breaks its chain.
type Problem struct {
	Line int    `json:"line"` // 1-based line number in the file; 0 for the file as a whole
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Report is the outcome of Verify.
type Report struct {
	Lines    int       `json:"lines"`     // lines read
	LastSeq  uint64    `json:"last_seq"`  // seq of the last record read (0 if none)
	LastHash string    `json:"last_hash"` // hash of the last record; record it outside the log to detect rewrites
	Problems []Problem `json:"problems"`
}

// OK reports whether the log verified without problems.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks the chain of the audit log at path. minSeq, when non-zero, is
// the last sequence number an outside observer knows was written: a log whose
// chain ends before it has lost its tail. The error is for I/O only; a broken
// chain is reported in Report.Problems.
func Verify(path string, minSeq uint64) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("audit log %s: %w", path, err)
	}
	defer f.Close()
	rep, err := VerifyReader(f, minSeq)
	if err != nil {
		return rep, fmt.Errorf("audit log %s: %w", path, err)
	}
	return rep, nil
}

// VerifyReader is Verify over a stream.
func VerifyReader(r io.Reader, minSeq uint64) (Report, error) {
	rep := Report{LastHash: Genesis}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		running  = Genesis // hash the next line's prev must repeat
		expected = uint64(1)
		synced   = true // false after a line we could not read: skip the next chain check
	)
	add := func(line int, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	for {
		line, long, err := readLine(br, MaxLineBytes)
		if len(line) == 0 && long == 0 && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return rep, fmt.Errorf("read: %w", err)
		}
		rep.Lines++
		n := rep.Lines
		if long > 0 {
			// Append never writes such a line, and cannot resume a chain
			// after one: the same limit on both sides.
			add(n, "the line is %d bytes, longer than the %d-byte limit Aegis writes", long, MaxLineBytes)
			synced = false
			continue
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			add(n, "the last line has no newline (a torn or appended write)")
		} else {
			line = line[:len(line)-1]
		}
		if len(bytes.TrimSpace(line)) == 0 {
			add(n, "blank line (records are never blank)")
			continue
		}
		rec, declared, actual, perr := parseLine(line)
		if perr != nil {
			add(n, "%v", perr)
			synced = false
			continue
		}
		if actual != declared {
			add(n, "seq %d: the hash does not match the line's text (the line was edited)", rec.Seq)
		}
		if msg := checkBounds(rec); msg != "" {
			add(n, "seq %d: %s", rec.Seq, msg)
		}
		if synced {
			if rec.Seq != expected {
				switch {
				case expected == 1:
					add(n, "the chain starts at seq %d, not 1 (its first lines were removed)", rec.Seq)
				case rec.Seq > expected:
					add(n, "seq jumps from %d to %d (lines were removed or reordered)", expected-1, rec.Seq)
				default:
					add(n, "seq %d after seq %d (a line was inserted, duplicated or reordered)", rec.Seq, expected-1)
				}
			}
			if rec.Prev != running {
				if n == 1 || running == Genesis {
					add(n, "prev is not the genesis hash (the chain's first lines were removed)")
				} else {
					add(n, "prev does not match the hash of the line before (a line was inserted, removed or replaced)")
				}
			}
		}
		// Continue from what this line declares, so one tampered line is
		// reported once rather than for every line after it.
		running, expected, synced = declared, rec.Seq+1, true
		rep.LastSeq, rep.LastHash = rec.Seq, declared
	}
	if minSeq > 0 && rep.LastSeq < minSeq {
		add(0, "the chain ends at seq %d but seq %d was written (the log was truncated)", rep.LastSeq, minSeq)
	}
	return rep, nil
}

// readLine reads one line, with its newline if it has one. A line longer
// than max bytes (without its newline) is consumed but not kept: long is its
// length and line is nil. The memory used is bounded by max, whatever the
// input.
func readLine(br *bufio.Reader, max int) (line []byte, long int, err error) {
	var buf []byte
	total := 0
	for {
		var part []byte
		part, err = br.ReadSlice('\n')
		total += len(part)
		if total <= max+1 {
			buf = append(buf, part...)
		} else {
			buf = nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	content := total
	if total > 0 && err == nil {
		content-- // the newline
	}
	if content > max {
		return nil, content, err
	}
	return buf, 0, err
}

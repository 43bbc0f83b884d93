package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spent is what a log has charged to one principal's leakage budget since
// its last reset: how many runs ended with an abort decided by its data,
// how many releases ([declassify]) scripts were given, and how many bits
// those endings and releases were charged together.
type Spent struct {
	Aborts   int64 `json:"aborts"`
	Releases int64 `json:"releases,omitempty"`
	Bits     int64 `json:"bits"`
}

// legacyAbortBits is what a secret_abort record without a bits member (an
// older Aegis counted aborts, not bits) is charged: the least any abort
// costs (policy.LeakCharge(0)).
const legacyAbortBits = 4

// ledgerMarkers are how the kind member of the records LeakLedger reads
// looks in a line. JSON escapes every quote inside a string value, so the
// sequence cannot occur inside another member's value: a line without one
// of them is not such a record, and only lines with one are decoded.
var ledgerMarkers = [][]byte{
	[]byte(`"kind":"` + KindSecretAbort + `"`),
	[]byte(`"kind":"` + KindBudgetReset + `"`),
	[]byte(`"kind":"` + KindDeclassify + `"`),
}

// LeakLedger returns, per principal, what the KindSecretAbort and
// KindDeclassify records of the log at path charged to it after the last
// KindBudgetReset record naming it.
// A log that does not exist yet has charged nothing.
//
// It is one streaming pass that decodes only the lines carrying a marker,
// so a log of tens of megabytes costs a sequential read. It does not check
// the chain (Verify does).
func LeakLedger(path string) (map[string]Spent, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Spent{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: read the leakage budget: %w", path, err)
	}
	defer f.Close()
	spent, err := LeakLedgerReader(f)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: read the leakage budget: %w", path, err)
	}
	return spent, nil
}

// LeakLedgerReader is LeakLedger over a stream.
func LeakLedgerReader(r io.Reader) (map[string]Spent, error) {
	spent := map[string]Spent{}
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read: %w", err)
		}
		if hasLedgerMarker(line) {
			var rec struct {
				Kind   string   `json:"kind"`
				Labels []string `json:"labels"`
				Bits   int64    `json:"bits"`
			}
			if jerr := json.Unmarshal(bytes.TrimSpace(line), &rec); jerr != nil {
				// Its principals are unknown, so nothing can be counted
				// for sure: refuse rather than undercount.
				return nil, fmt.Errorf("line %d looks like a %s, %s or %s record but does not decode (%v); "+
					"run `aegis audit verify`", n, KindSecretAbort, KindDeclassify, KindBudgetReset, jerr)
			}
			for i, l := range rec.Labels {
				if containsString(rec.Labels[:i], l) {
					continue
				}
				switch rec.Kind {
				case KindSecretAbort:
					bits := rec.Bits
					if bits <= 0 {
						bits = legacyAbortBits
					}
					s := spent[l]
					s.Aborts++
					s.Bits += bits
					spent[l] = s
				case KindDeclassify:
					// A release carries at least one bit; a record
					// claiming less is charged that, never nothing.
					s := spent[l]
					s.Releases++
					s.Bits += max(rec.Bits, 1)
					spent[l] = s
				case KindBudgetReset:
					delete(spent, l)
				}
			}
		}
		if err != nil {
			return spent, nil
		}
	}
}

func hasLedgerMarker(line []byte) bool {
	for _, m := range ledgerMarkers {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

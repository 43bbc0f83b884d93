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

// secretAbortMarker is how a KindSecretAbort record's kind member reads in
// its line. JSON escapes every quote inside a string value, so the sequence
// cannot occur inside another member's value: a line without it is not such
// a record, and only lines with it are decoded.
var secretAbortMarker = []byte(`"kind":"` + KindSecretAbort + `"`)

// CountSecretAborts returns, per principal, how many KindSecretAbort records
// of the log at path name it. A log that does not exist yet counts nothing.
//
// It is one streaming pass that decodes only the lines carrying the marker,
// so a log of tens of megabytes costs a sequential read. It does not check
// the chain (Verify does): the operator who could edit records could as well
// move the log aside, which is the documented way to reset the counts.
func CountSecretAborts(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: count secret-dependent aborts: %w", path, err)
	}
	defer f.Close()
	counts, err := CountSecretAbortsReader(f)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: count secret-dependent aborts: %w", path, err)
	}
	return counts, nil
}

// CountSecretAbortsReader is CountSecretAborts over a stream.
func CountSecretAbortsReader(r io.Reader) (map[string]int64, error) {
	counts := map[string]int64{}
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
		if bytes.Contains(line, secretAbortMarker) {
			var rec struct {
				Kind   string   `json:"kind"`
				Labels []string `json:"labels"`
			}
			if jerr := json.Unmarshal(bytes.TrimSpace(line), &rec); jerr != nil {
				// Its principals are unknown, so nothing can be counted
				// for sure: refuse rather than undercount.
				return nil, fmt.Errorf("line %d looks like a %s record but does not decode (%v); "+
					"run `aegis audit verify`, and move the log aside to start a new one", n, KindSecretAbort, jerr)
			}
			if rec.Kind == KindSecretAbort {
				for i, l := range rec.Labels {
					if !containsString(rec.Labels[:i], l) {
						counts[l]++
					}
				}
			}
		}
		if err != nil {
			return counts, nil
		}
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

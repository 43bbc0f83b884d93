package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// Limits on one record. A script chooses much of what a record says (a
// target, a reason quoting it, the script's file name), so every string
// member is bounded before it is written: one record must never be able to
// stop later runs, and a line longer than MaxLineBytes would (the next
// append could not find where the chain's last line starts). Append bounds,
// Verify checks the same limits, and the tail reader refuses exactly what
// Verify reports.
const (
	// MaxFieldBytes bounds each string member of a record other than the
	// labels. A longer value keeps its first bytes and ends with a note
	// giving its length and the SHA-256 of the whole, so that the record
	// still identifies what was there.
	MaxFieldBytes = 2048
	// MaxLabels bounds the labels of one record. Labels are principal
	// names, the keys of the leakage budget (budget.go), so they are never
	// cut: an event naming more is written as several consecutive records,
	// each with some of the labels and everything else the same (each
	// principal is then charged, or reset, exactly once, as by one record).
	MaxLabels = 32
	// MaxLabelBytes bounds one label. Principal names come from the policy,
	// not from scripts; a longer one is refused (the append fails) rather
	// than cut into a name the budget would not recognise.
	MaxLabelBytes = 4096
	// MaxLineBytes bounds one line of the log (without its newline). With
	// the limits above, and JSON's worst escaping (6 bytes per input byte),
	// no record Append writes comes near it.
	MaxLineBytes = 1 << 20
)

// truncMark opens the note that ends a bounded value.
const truncMark = "…[truncated: "

// Bound returns s unchanged when it fits in max bytes, and otherwise its
// first bytes (cut at a UTF-8 boundary) followed by a note with the length
// and SHA-256 of the whole: "…[truncated: 1048576 bytes, sha256 3a7b…]".
// The result is never longer than max (max must leave room for the note,
// about 100 bytes).
func Bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	note := fmt.Sprintf("%s%d bytes, sha256 %s]", truncMark, len(s), hex.EncodeToString(sum[:]))
	keep := max - len(note)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + note
}

// bound returns the records that write ev within the limits: its string
// members bounded, its labels split in groups of MaxLabels.
func bound(ev Event) ([]Event, error) {
	for _, f := range []*string{&ev.TaskID, &ev.Kind, &ev.Capability, &ev.Target, &ev.Rule, &ev.Section, &ev.Reason, &ev.Position} {
		*f = Bound(*f, MaxFieldBytes)
	}
	ev.Status = Status(Bound(string(ev.Status), MaxFieldBytes))
	for _, l := range ev.Labels {
		if len(l) > MaxLabelBytes {
			return nil, fmt.Errorf("the principal name %.60q… is %d bytes, over the %d-byte limit of a label: shorten the policy entry it comes from", l, len(l), MaxLabelBytes)
		}
	}
	if len(ev.Labels) <= MaxLabels {
		return []Event{ev}, nil
	}
	var out []Event
	for labels := ev.Labels; len(labels) > 0; {
		n := min(len(labels), MaxLabels)
		part := ev
		part.Labels = labels[:n:n]
		out = append(out, part)
		labels = labels[n:]
	}
	return out, nil
}

// checkBounds reports the first member of rec over the limits Append keeps,
// or "" if there is none.
func checkBounds(rec record) string {
	ev := rec.Event
	fields := []struct {
		name, v string
	}{
		{"task", ev.TaskID}, {"kind", ev.Kind}, {"capability", ev.Capability}, {"status", string(ev.Status)},
		{"target", ev.Target}, {"rule", ev.Rule}, {"section", ev.Section}, {"reason", ev.Reason}, {"position", ev.Position},
	}
	for _, f := range fields {
		if len(f.v) > MaxFieldBytes {
			return fmt.Sprintf("member %q is %d bytes, over the %d-byte limit Aegis writes", f.name, len(f.v), MaxFieldBytes)
		}
	}
	if len(ev.Labels) > MaxLabels {
		return fmt.Sprintf("%d labels, over the %d Aegis writes", len(ev.Labels), MaxLabels)
	}
	for _, l := range ev.Labels {
		if len(l) > MaxLabelBytes {
			return fmt.Sprintf("a label is %d bytes, over the %d-byte limit Aegis writes", len(l), MaxLabelBytes)
		}
	}
	return ""
}

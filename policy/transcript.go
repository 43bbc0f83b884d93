package policy

import "fmt"

// The local-only transcript ([runtime].transcript): a file where the runner
// writes what a run printed from its first local-only read on, with the real
// values behind [REDACTED] and the lines printed under a condition on
// local-only data, for the person at the machine (aegis transcript).
//
// It holds local-only data, so it must lie inside the local-only zone (a
// path in both [filesystem].local_only_read and write_allow, outside
// [filesystem].deny): a script that reads it gets labelled data, and local-
// only data may be written there anyway.

// compileTranscript resolves [runtime].transcript and refuses a path outside
// the zone.
func (p *Policy) compileTranscript(s *spec, probs *problems) {
	t := s.Runtime.Transcript
	if !t.Set {
		return
	}
	d := p.FlowAllowed(FSWrite, t.Value)
	if !d.Allowed {
		hint := d.Hint
		if hint == "" {
			hint = "choose a path inside the local-only zone"
		}
		probs.add(Problem{File: fileOf(t.From), Line: t.From.Line, Key: "[runtime].transcript",
			Msg: fmt.Sprintf("%q must be inside the local-only zone (a path in both [filesystem].local_only_read "+
				"and [filesystem].write_allow), since it holds local-only data: %s", t.Value, d.Reason),
			Hint: hint})
		return
	}
	if p.isProtected(d.ResolvedPath) {
		probs.add(Problem{File: fileOf(t.From), Line: t.From.Line, Key: "[runtime].transcript",
			Msg: fmt.Sprintf("%q is the policy file or the audit log", t.Value), Hint: "choose another file"})
		return
	}
	p.transcript = d.ResolvedPath
}

// Transcript returns the real path of [runtime].transcript, or "" when the
// policy configures none.
func (p *Policy) Transcript() string { return p.transcript }

package policy

import (
	"fmt"
	"path"
)

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
	if !d.Allowed && len(d.Decisive) > 0 {
		// What the zone holds turned the path (a symlink placed there, which
		// a local-only command can make): that is local-only state, which a
		// run can change under a condition on local-only data, so it must
		// not decide whether the next run's policy loads. The spelling
		// decides here; the runner judges the path again before each
		// write and records a failure in the audit log only.
		if spelled, ok := p.zoneSpelling(t.Value); ok {
			p.transcript = spelled
			return
		}
	}
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

// zoneSpelling returns the clean absolute spelling of target when the
// spelling alone, not following any symlink, lies in the local-only zone
// (in local_only_read and write_allow, outside deny) and is not a file the
// policy protects.
func (p *Policy) zoneSpelling(target string) (string, bool) {
	abs, err := p.anchor(target)
	if err != nil {
		return "", false
	}
	spelled := path.Clean(abs)
	if firstPathMatch(p.fsLocal, spelled) == nil || firstPathMatch(p.fsWrite, spelled) == nil ||
		p.denyMatch(spelled, spelled) != nil || p.isProtected(spelled) {
		return "", false
	}
	return spelled, true
}

// Transcript returns the real path of [runtime].transcript, or "" when the
// policy configures none.
func (p *Policy) Transcript() string { return p.transcript }

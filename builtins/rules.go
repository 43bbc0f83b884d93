package builtins

import (
	"strings"

	"github.com/aegisdev/aegis/policy"
)

// Rule is how a builtin treats labels. Every builtin this package makes has
// an entry in Rules; the coverage test holds the two together and checks
// that the entry matches how the builtin was constructed.
type Rule string

const (
	// Source: a label-aware builtin whose result carries the principal of
	// the local-only thing it read (and the labels of its inputs).
	Source Rule = "source"
	// Sink: a label-aware builtin that refuses labelled inputs, or a
	// labelled pc, bound for a target that is not local-only.
	Sink Rule = "sink"
	// SourceSink: both (a request sends data and receives a response).
	SourceSink Rule = "source+sink"
	// Release: a label-aware builtin that reads a local-only source through
	// the capability protocol and returns a public result that [declassify]
	// allows, charged to the leakage budget (declassify.go).
	Release Rule = "release"
	// Pure: a function of its arguments alone, labelled by the interpreter's
	// shallow or conservative rule: the result is as secret as the inputs.
	Pure Rule = "pure"
)

// RuleEntry is one builtin, or with Name "mod.*" every member of module
// mod, and its label rule.
type RuleEntry struct {
	Name string
	Rule Rule
}

// Rules lists every builtin of the package and its label rule: the
// capability members from the policy's capability table (a source when the
// capability Returns what it read, a sink when it Sends script data), the
// releases from policy.ReleaseKinds, then the pure helpers.
var Rules = rules()

// pureRules are the helpers that compute from their arguments alone.
var pureRules = [...]RuleEntry{
	{"json.encode", Pure},
	{"json.encode_indent", Pure},
	{"json.decode", Pure},
	{"json.indent", Pure},
	{"base64.encode", Pure},
	{"base64.decode", Pure},
	{"base64.decode_bytes", Pure},
	{"hex.encode", Pure},
	{"hex.decode", Pure},
	{"hex.decode_bytes", Pure},
	{"hmac.sha256", Pure},
	{"hmac.sha256_bytes", Pure},
	{"sha256", Pure},
	{"struct", Pure},
	// Every function of the fork's time and math modules (each is shallow;
	// time.now is also labelled by what the run has seen, see stdlib.go).
	{"time.*", Pure},
	{"math.*", Pure},
}

func rules() []RuleEntry {
	var out []RuleEntry
	for _, m := range policy.ScriptMembers() {
		var returns, sends bool
		for _, c := range m.Capabilities {
			if i, ok := c.Info(); ok {
				returns, sends = returns || i.Returns, sends || i.Sends
			}
		}
		r := Source
		switch {
		case returns && sends:
			r = SourceSink
		case sends:
			r = Sink
		}
		out = append(out, RuleEntry{m.Module + "." + m.Name, r})
	}
	for _, k := range policy.ReleaseKinds() {
		out = append(out, RuleEntry{"declassify." + string(k), Release})
	}
	return append(out, pureRules[:]...)
}

// RuleOf returns the rule of the named builtin. An entry "mod.*" covers
// every member of module mod.
func RuleOf(name string) (Rule, bool) {
	for _, r := range Rules {
		if r.Name == name {
			return r.Rule, true
		}
	}
	if mod, _, ok := strings.Cut(name, "."); ok {
		for _, r := range Rules {
			if r.Name == mod+".*" {
				return r.Rule, true
			}
		}
	}
	return "", false
}

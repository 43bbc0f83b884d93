package builtins

import "strings"

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

// Rules lists every builtin of the package and its label rule.
var Rules = [...]struct {
	Name string
	Rule Rule
}{
	{"fs.read", Source},
	{"fs.list", Source},
	{"fs.exists", Source},
	{"fs.stat", Source},
	{"fs.is_dir", Source},
	{"fs.is_file", Source},
	{"fs.walk", Source},
	{"fs.glob", Source},
	{"fs.write", Sink},
	{"fs.delete", Sink},
	{"net.http_get", SourceSink},
	{"net.http_post", SourceSink},
	{"net.http_put", SourceSink},
	{"net.http_patch", SourceSink},
	{"net.http_delete", SourceSink},
	{"net.request", SourceSink},
	{"env.read", Source},
	{"subprocess.exec", SourceSink},
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
	{"declassify.is_set", Release},
	{"declassify.equals_sha256", Release},
	{"declassify.contains", Release},
	{"declassify.has_keys", Release},
	{"declassify.count", Release},
	{"declassify.status_ok", Release},
	{"declassify.status", Release},
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

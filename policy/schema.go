package policy

import "strconv"

// This file is the schema: the in-memory form of one policy layer (a preset
// or an operator's file) and the tables that name every key. The loader, the
// merge, `policy show` and the "did you mean" suggestions all walk these
// tables, so a key added here is parsed, merged, shown and suggested at once.

// Source says where an effective entry came from: a preset, or a file and
// line. It is what `aegis policy show` prints next to every entry and what a
// denial cites so the operator knows which line to change.
type Source struct {
	Preset string `json:"preset,omitempty"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
}

func (s Source) String() string {
	switch {
	case s.Preset != "":
		return "preset " + s.Preset
	case s.Line > 0:
		return s.File + ":" + strconv.Itoa(s.Line)
	case s.File != "":
		return s.File
	}
	return "built-in"
}

// Entry is one list element as the operator wrote it, with its provenance.
type Entry struct {
	Value string `json:"value"`
	From  Source `json:"from"`
}

// setting is a scalar that may or may not have been written.
type setting[T any] struct {
	Value T
	Set   bool
	From  Source
}

func (s *setting[T]) set(v T, from Source) { s.Value, s.Set, s.From = v, true, from }

// spec is one policy layer before compilation.
type spec struct {
	Version, Name, Description, Inherits setting[string]
	RequiresApproval                     []Entry

	FS struct {
		ReadAllow, LocalOnlyRead, WriteAllow, DeleteAllow, Deny []Entry
	}
	Net struct {
		HTTPGetAllow, HTTPPostAllow, HTTPPutAllow, HTTPPatchAllow, HTTPDeleteAllow []Entry
		LocalOnlyHosts, DenyHosts, DenyIPs                                         []Entry
		TimeoutSeconds                                                             setting[int64]
	}
	Env struct {
		AllowVars, LocalOnlyVars, DenyVars []Entry
	}
	Sub struct {
		AllowCommands, LocalOnlyCommands, DenyCommands []Entry
		ApprovePrefixes                                []Entry
		DenyArgs                                       []argList
		Sandbox, Network                               setting[string]
	}
	Runtime struct {
		Limits   [numLimits]setting[int64]
		PerCap   []capLimit
		PerCapAt Source
		// SecretAborts is max_secret_dependent_aborts: apart from the
		// limits because 0 is a valid value (no local-only reads at all).
		SecretAborts setting[int64]
		// LeakBits is max_leak_bits, likewise.
		LeakBits setting[int64]
		// Transcript is the local-only transcript file (runner/transcript.go).
		Transcript setting[string]
	}
	Tools []toolSpec
	// Declassify is the [declassify] table (declassify.go).
	Declassify []releaseSpec
}

// argList is one [subprocess.deny_args] key.
type argList struct {
	Command  string
	From     Source
	Patterns []Entry
}

// capLimit is one [runtime].max_calls_per_capability entry.
type capLimit struct {
	Capability Capability
	Value      int64
	From       Source
}

// toolSpec is one [tools.X] record.
type toolSpec struct {
	Name                                   string
	From                                   Source
	Capabilities                           []Entry
	BackendURL, BackendMethod, Description setting[string]
}

// valueKind says how a list entry is validated and matched.
type valueKind int

const (
	kindPath valueKind = iota
	kindHost
	kindIP
	kindEnv
	kindCommand
	kindCapability
	kindApprovePrefix
	kindRelease // a [declassify] release kind
)

// listKey describes one list-valued key.
type listKey struct {
	section string // "" for top level
	name    string
	kind    valueKind
	get     func(*spec) *[]Entry
}

// qualified returns the key as the docs and messages write it.
func (k listKey) qualified() string { return qualify(k.section, k.name) }

func qualify(section, name string) string {
	if section == "" {
		return name
	}
	return "[" + section + "]." + name
}

// listKeys is every list-valued key of the schema, in the order `policy
// show` prints them.
var listKeys = [...]listKey{
	{"", "requires_approval", kindCapability, func(s *spec) *[]Entry { return &s.RequiresApproval }},
	{"filesystem", "read_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.ReadAllow }},
	{"filesystem", "local_only_read", kindPath, func(s *spec) *[]Entry { return &s.FS.LocalOnlyRead }},
	{"filesystem", "write_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.WriteAllow }},
	{"filesystem", "delete_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.DeleteAllow }},
	{"filesystem", "deny", kindPath, func(s *spec) *[]Entry { return &s.FS.Deny }},
	{"network", "http_get_allow", kindHost, func(s *spec) *[]Entry { return &s.Net.HTTPGetAllow }},
	{"network", "http_post_allow", kindHost, func(s *spec) *[]Entry { return &s.Net.HTTPPostAllow }},
	{"network", "http_put_allow", kindHost, func(s *spec) *[]Entry { return &s.Net.HTTPPutAllow }},
	{"network", "http_patch_allow", kindHost, func(s *spec) *[]Entry { return &s.Net.HTTPPatchAllow }},
	{"network", "http_delete_allow", kindHost, func(s *spec) *[]Entry { return &s.Net.HTTPDeleteAllow }},
	{"network", "local_only_hosts", kindHost, func(s *spec) *[]Entry { return &s.Net.LocalOnlyHosts }},
	{"network", "deny_hosts", kindHost, func(s *spec) *[]Entry { return &s.Net.DenyHosts }},
	{"network", "deny_ips", kindIP, func(s *spec) *[]Entry { return &s.Net.DenyIPs }},
	{"environment", "allow_vars", kindEnv, func(s *spec) *[]Entry { return &s.Env.AllowVars }},
	{"environment", "local_only_vars", kindEnv, func(s *spec) *[]Entry { return &s.Env.LocalOnlyVars }},
	{"environment", "deny_vars", kindEnv, func(s *spec) *[]Entry { return &s.Env.DenyVars }},
	{"subprocess", "allow_commands", kindCommand, func(s *spec) *[]Entry { return &s.Sub.AllowCommands }},
	{"subprocess", "local_only_commands", kindCommand, func(s *spec) *[]Entry { return &s.Sub.LocalOnlyCommands }},
	{"subprocess", "deny_commands", kindCommand, func(s *spec) *[]Entry { return &s.Sub.DenyCommands }},
	{"subprocess", "approve_prefixes", kindApprovePrefix, func(s *spec) *[]Entry { return &s.Sub.ApprovePrefixes }},
}

// Runtime limit indices into spec.Runtime.Limits.
const (
	limitMaxSeconds = iota
	limitMaxSteps
	limitMaxCallstackSize
	limitMaxMemoryMB
	limitMaxOutputBytes
	limitMaxTotalCalls
	numLimits
)

// runtimeKeys names the integer [runtime] keys by index.
var runtimeKeys = [numLimits]string{
	limitMaxSeconds:       "max_seconds",
	limitMaxSteps:         "max_steps",
	limitMaxCallstackSize: "max_callstack_size",
	limitMaxMemoryMB:      "max_memory_mb",
	limitMaxOutputBytes:   "max_output_bytes",
	limitMaxTotalCalls:    "max_total_calls",
}

// sectionKeys lists every key each table accepts, for unknown-key errors and
// suggestions. Top level is "".
var sectionKeys = map[string][]string{
	"":            {"version", "inherits", "name", "description", "requires_approval", "filesystem", "network", "environment", "subprocess", "runtime", "tools", "declassify"},
	"filesystem":  {"read_allow", "local_only_read", "write_allow", "delete_allow", "deny"},
	"network":     {"http_get_allow", "http_post_allow", "http_put_allow", "http_patch_allow", "http_delete_allow", "local_only_hosts", "deny_hosts", "deny_ips", "timeout_seconds"},
	"environment": {"allow_vars", "local_only_vars", "deny_vars"},
	"subprocess":  {"allow_commands", "local_only_commands", "deny_commands", "approve_prefixes", "deny_args", "sandbox", "network"},
	"runtime":     {"max_seconds", "max_steps", "max_callstack_size", "max_memory_mb", "max_output_bytes", "max_calls_per_capability", "max_total_calls", "max_secret_dependent_aborts", "max_leak_bits", "transcript"},
	"tools.*":     {"capabilities", "backend_url", "backend_method", "description"},
}

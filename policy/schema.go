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
		LocalOnlyHosts, DenyHosts, DenyIPs []Entry
		TimeoutSeconds                     setting[int64]
	}
	// Own holds the lists a capability has to itself (its Grants keys
	// that the static schema does not declare: [network].http_get_allow
	// and the other verbs'), by qualified key; see ownList.
	Own map[string]*[]Entry
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

// staticListKeys are the list-valued keys the schema declares itself; the
// capabilities' own lists (ownListKeys) join them in listKeys.
var staticListKeys = [...]listKey{
	{"", "requires_approval", kindCapability, func(s *spec) *[]Entry { return &s.RequiresApproval }},
	{"filesystem", "read_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.ReadAllow }},
	{"filesystem", "local_only_read", kindPath, func(s *spec) *[]Entry { return &s.FS.LocalOnlyRead }},
	{"filesystem", "write_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.WriteAllow }},
	{"filesystem", "delete_allow", kindPath, func(s *spec) *[]Entry { return &s.FS.DeleteAllow }},
	{"filesystem", "deny", kindPath, func(s *spec) *[]Entry { return &s.FS.Deny }},
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

// sectionValueKind is how the entries of each capability section's lists
// are written, for the capabilities' own lists.
var sectionValueKind = map[string]valueKind{
	SectionFilesystem:  kindPath,
	SectionNetwork:     kindHost,
	SectionEnvironment: kindEnv,
	SectionSubprocess:  kindCommand,
}

// listKeys is every list-valued key of the schema, in the order `policy
// show` prints them: each capability section starts with the lists its
// capabilities have to themselves ([network].http_get_allow, ...), in the
// order of the capability table.
var listKeys = buildListKeys()

func buildListKeys() []listKey {
	out := make([]listKey, 0, len(staticListKeys)+len(capabilities))
	started := map[string]bool{}
	for _, lk := range staticListKeys {
		if !started[lk.section] {
			started[lk.section] = true
			out = append(out, ownListKeys(lk.section)...)
		}
		out = append(out, lk)
	}
	return out
}

// ownListKeys returns the Grants keys of the capabilities of section that
// the static schema does not declare.
func ownListKeys(section string) []listKey {
	var out []listKey
	seen := map[string]bool{}
	for _, c := range capabilities {
		if c.Section != section {
			continue
		}
		for _, g := range c.Grants {
			if seen[g] || staticListKey(section, g) {
				continue
			}
			seen[g] = true
			q := qualify(section, g)
			out = append(out, listKey{section, g, sectionValueKind[section], func(s *spec) *[]Entry { return s.ownList(q) }})
		}
	}
	return out
}

func staticListKey(section, name string) bool {
	for _, lk := range staticListKeys {
		if lk.section == section && lk.name == name {
			return true
		}
	}
	return false
}

// newSpec returns an empty layer, with every capability's own list made,
// so that reading a compiled policy's spec never writes to it.
func newSpec() *spec {
	s := &spec{Own: map[string]*[]Entry{}}
	for _, lk := range listKeys {
		lk.get(s)
	}
	return s
}

// ownList returns the capability's own list under the qualified key,
// making it on first use (only ever during construction: newSpec makes
// them all).
func (s *spec) ownList(key string) *[]Entry {
	if s.Own == nil {
		s.Own = map[string]*[]Entry{}
	}
	l := s.Own[key]
	if l == nil {
		l = new([]Entry)
		s.Own[key] = l
	}
	return l
}

// grantLists returns the lists that grant capability c (its Grants keys).
func (s *spec) grantLists(c *CapabilityInfo) [][]Entry {
	out := make([][]Entry, 0, len(c.Grants))
	for _, g := range c.Grants {
		if lk, ok := findListKey(c.Section, g); ok {
			out = append(out, *lk.get(s))
		}
	}
	return out
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
// suggestions. Top level is "". The capability sections accept their list
// keys (listKeys) and the scalars and tables below.
var sectionKeys = func() map[string][]string {
	m := map[string][]string{
		"":        {"version", "inherits", "name", "description", "requires_approval", "filesystem", "network", "environment", "subprocess", "runtime", "tools", "declassify"},
		"runtime": {"max_seconds", "max_steps", "max_callstack_size", "max_memory_mb", "max_output_bytes", "max_calls_per_capability", "max_total_calls", "max_secret_dependent_aborts", "max_leak_bits", "transcript"},
		"tools.*": {"capabilities", "backend_url", "backend_method", "description"},
	}
	for _, lk := range listKeys {
		if lk.section != "" {
			m[lk.section] = append(m[lk.section], lk.name)
		}
	}
	m["network"] = append(m["network"], "timeout_seconds")
	m["subprocess"] = append(m["subprocess"], "deny_args", "sandbox", "network")
	return m
}()

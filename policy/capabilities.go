package policy

import "strings"

// The capability table: the one place that names Aegis's capabilities and
// says, for each, which policy section governs it, which keys grant it,
// what target it takes, how it touches the world and how labels flow
// through it. Every other list of capabilities is derived from it:
//
//   - this package: the closed set (Known, AllCapabilities, load errors and
//     suggestions), which lists enable each one (Enabled, Capabilities), the
//     [network] allow keys of the schema (schema.go), the HTTP methods
//     [tools] backend_method accepts, where Decide sends each capability,
//     which ones FlowAllowed treats as sinks, and how to grant one
//     (GrantText);
//   - the modules a script sees: builtins builds the fs, net, env and
//     subprocess modules from ScriptMembers, and derives the label rule of
//     each member (builtins/rules.go) from Returns and Sends;
//   - the verifier's member table (builtins/verify), also from
//     ScriptMembers;
//   - the advice the runner gives when the verifier refuses a script, and
//     aegis-mcp's tool annotations (from Access and OpenWorld).
//
// Adding a capability is one entry in capabilities below, plus its
// implementation: its decision (decide.go sends it to its section's rules)
// and its builtin (builtins.capabilityFunc). The tests in builtins and
// builtins/verify compare the real modules with this table, so an entry
// without a builtin, or a builtin without an entry, fails them.

// Capability names one kind of effect a script may ask for. The set is
// closed: a policy, a tool record or a requires_approval list naming anything
// else is a load error.
type Capability string

// The capabilities, for the code that implements them; their properties
// are in the table below.
const (
	FSRead   Capability = "fs.read"
	FSWrite  Capability = "fs.write"
	FSDelete Capability = "fs.delete"
	FSList   Capability = "fs.list"
	FSExists Capability = "fs.exists"

	HTTPGet    Capability = "net.http_get"
	HTTPPost   Capability = "net.http_post"
	HTTPPut    Capability = "net.http_put"
	HTTPPatch  Capability = "net.http_patch"
	HTTPDelete Capability = "net.http_delete"

	EnvRead Capability = "env.read"

	SubprocessExec Capability = "subprocess.exec"
)

// The policy sections that govern capabilities.
const (
	SectionFilesystem  = "filesystem"
	SectionNetwork     = "network"
	SectionEnvironment = "environment"
	SectionSubprocess  = "subprocess"
)

// Target is what Decide takes as the target of a capability.
type Target int

const (
	TargetPath Target = iota // one path
	TargetURL                // one URL
	TargetVar                // one environment variable name
	TargetArgv               // the whole argv, program first
)

// hint is the advice of a malformed target.
func (t Target) hint() string {
	switch t {
	case TargetPath:
		return "give one path, e.g. src/main.go"
	case TargetURL:
		return "give one URL, e.g. https://api.github.com/"
	case TargetVar:
		return "give one variable name, e.g. HOME"
	}
	return "give the command and its arguments, e.g. git status"
}

// Access is how a capability touches the world.
type Access int

const (
	// AccessRead observes and changes nothing; repeating it changes
	// nothing either.
	AccessRead Access = iota
	// AccessAdd adds to the world (a POST creates, a PATCH amends):
	// repeating it may add again.
	AccessAdd
	// AccessReplace replaces or removes what its target holds (a file
	// written or deleted, a PUT, a DELETE): it may destroy data, and
	// repeating it changes nothing more.
	AccessReplace
	// AccessAny may do anything at all (a command).
	AccessAny
)

// CapabilityInfo is one entry of the capability table.
type CapabilityInfo struct {
	// Name is the capability, which is also the member a script calls:
	// module "fs", member "read" for "fs.read".
	Name Capability
	// Section is the policy table that governs it, and Grants the keys of
	// that table whose entries enable it, the first being the one to
	// suggest. A key not in the static schema (schema.go) is the
	// capability's own list: it is added to the schema for it.
	Section string
	Grants  []string
	Target  Target
	Access  Access
	// Returns: its result carries what it read from its target, labelled
	// when the target is local-only (a source). Sends: it sends data the
	// script chose to its target (a path written, a URL and its body, a
	// command's argv), so labelled data may reach it only inside the
	// local-only zone (a sink).
	Returns, Sends bool
	// OpenWorld: it reaches beyond the policy's files and variables (another
	// host, or whatever a command does).
	OpenWorld bool
	// Method is the HTTP method of a network capability: net.request with
	// this method exercises it.
	Method string
	// Also are the other members of the module that exercise this
	// capability and nothing else: fs.stat asks the question fs.exists
	// asks, fs.walk the one of fs.list, once per place it looks.
	Also []string
}

// Module returns the script module the capability's builtin is a member
// of ("fs" for fs.read).
func (c Capability) Module() string {
	m, _, _ := strings.Cut(string(c), ".")
	return m
}

// Member returns the member name of the capability's builtin in its
// module ("read" for fs.read).
func (c Capability) Member() string {
	_, m, _ := strings.Cut(string(c), ".")
	return m
}

// Effect reports whether the capability changes the world.
func (i CapabilityInfo) Effect() bool { return i.Access != AccessRead }

var fsReadKeys = []string{"read_allow", "local_only_read"}

// hostKeys are the keys that grant a network capability: its own allow
// list, or local_only_hosts.
func hostKeys(own string) []string { return []string{own, "local_only_hosts"} }

// capabilities is the table, in display order.
var capabilities = [...]CapabilityInfo{
	{Name: FSRead, Section: SectionFilesystem, Grants: fsReadKeys, Target: TargetPath, Access: AccessRead, Returns: true},
	{Name: FSWrite, Section: SectionFilesystem, Grants: []string{"write_allow"}, Target: TargetPath, Access: AccessReplace, Sends: true},
	{Name: FSDelete, Section: SectionFilesystem, Grants: []string{"delete_allow"}, Target: TargetPath, Access: AccessReplace, Sends: true},
	{Name: FSList, Section: SectionFilesystem, Grants: fsReadKeys, Target: TargetPath, Access: AccessRead, Returns: true,
		Also: []string{"walk", "glob"}},
	// Whether a path exists is visible to whoever may touch it at all.
	{Name: FSExists, Section: SectionFilesystem, Grants: []string{"read_allow", "local_only_read", "write_allow", "delete_allow"},
		Target: TargetPath, Access: AccessRead, Returns: true, Also: []string{"stat", "is_dir", "is_file"}},

	{Name: HTTPGet, Section: SectionNetwork, Grants: hostKeys("http_get_allow"), Target: TargetURL, Access: AccessRead,
		Returns: true, Sends: true, OpenWorld: true, Method: "GET"},
	{Name: HTTPPost, Section: SectionNetwork, Grants: hostKeys("http_post_allow"), Target: TargetURL, Access: AccessAdd,
		Returns: true, Sends: true, OpenWorld: true, Method: "POST"},
	{Name: HTTPPut, Section: SectionNetwork, Grants: hostKeys("http_put_allow"), Target: TargetURL, Access: AccessReplace,
		Returns: true, Sends: true, OpenWorld: true, Method: "PUT"},
	{Name: HTTPPatch, Section: SectionNetwork, Grants: hostKeys("http_patch_allow"), Target: TargetURL, Access: AccessAdd,
		Returns: true, Sends: true, OpenWorld: true, Method: "PATCH"},
	{Name: HTTPDelete, Section: SectionNetwork, Grants: hostKeys("http_delete_allow"), Target: TargetURL, Access: AccessReplace,
		Returns: true, Sends: true, OpenWorld: true, Method: "DELETE"},

	{Name: EnvRead, Section: SectionEnvironment, Grants: []string{"allow_vars", "local_only_vars"}, Target: TargetVar,
		Access: AccessRead, Returns: true},

	{Name: SubprocessExec, Section: SectionSubprocess, Grants: []string{"allow_commands", "local_only_commands"}, Target: TargetArgv,
		Access: AccessAny, Returns: true, Sends: true, OpenWorld: true},
}

// dispatchers are the script members that take their capability as an
// argument: each exercises whichever capability its argument names, among
// those the function selects.
var dispatchers = [...]struct {
	module, member string
	of             func(CapabilityInfo) bool
}{
	// net.request(method, url, ...): the capability of the method.
	{"net", "request", func(i CapabilityInfo) bool { return i.Method != "" }},
}

// capIndex finds a capability's entry.
var capIndex = func() map[Capability]*CapabilityInfo {
	m := make(map[Capability]*CapabilityInfo, len(capabilities))
	for i := range capabilities {
		m[capabilities[i].Name] = &capabilities[i]
	}
	return m
}()

// CapabilityTable returns the capability table, in display order.
func CapabilityTable() []CapabilityInfo {
	out := make([]CapabilityInfo, len(capabilities))
	for i, c := range capabilities {
		c.Grants = append([]string(nil), c.Grants...)
		c.Also = append([]string(nil), c.Also...)
		out[i] = c
	}
	return out
}

// Info returns the table entry of c.
func (c Capability) Info() (CapabilityInfo, bool) {
	if i := capIndex[c]; i != nil {
		return *i, true
	}
	return CapabilityInfo{}, false
}

// info returns the entry of a known capability, or nil.
func (c Capability) info() *CapabilityInfo { return capIndex[c] }

// AllCapabilities returns every capability Aegis knows, in display order.
func AllCapabilities() []Capability {
	out := make([]Capability, len(capabilities))
	for i, c := range capabilities {
		out[i] = c.Name
	}
	return out
}

// CapabilityNames returns the known capabilities as strings, in display
// order (for messages and suggestions).
func CapabilityNames() []string {
	out := make([]string, len(capabilities))
	for i, c := range capabilities {
		out[i] = string(c.Name)
	}
	return out
}

// Known reports whether c is one of the capabilities Aegis knows.
func (c Capability) Known() bool { return capIndex[c] != nil }

// IsNet reports whether c is governed by [network] (the net.http_*
// capabilities).
func (c Capability) IsNet() bool {
	i := capIndex[c]
	return i != nil && i.Section == SectionNetwork
}

// IsFS reports whether c is governed by [filesystem] (the fs.*
// capabilities).
func (c Capability) IsFS() bool {
	i := capIndex[c]
	return i != nil && i.Section == SectionFilesystem
}

// HTTPMethods returns the HTTP methods of the network capabilities, in
// display order.
func HTTPMethods() []string {
	var out []string
	for _, c := range capabilities {
		if c.Method != "" {
			out = append(out, c.Method)
		}
	}
	return out
}

// HTTPCapability returns the capability that governs requests with the
// given method (upper case).
func HTTPCapability(method string) (Capability, bool) {
	for _, c := range capabilities {
		if c.Method != "" && c.Method == method {
			return c.Name, true
		}
	}
	return "", false
}

// ScriptMember is one member of a capability module as a script sees it,
// and the capabilities a call to it may exercise (one, or for a member that
// takes its capability as an argument, every one it can name).
type ScriptMember struct {
	Module, Name string
	Capabilities []Capability
}

// ScriptMembers returns every member of the capability modules: one per
// capability followed by the others that exercise it (Also), then the
// members that take their capability as an argument (net.request).
func ScriptMembers() []ScriptMember {
	out := make([]ScriptMember, 0, 2*len(capabilities)+len(dispatchers))
	for _, c := range capabilities {
		out = append(out, ScriptMember{Module: c.Name.Module(), Name: c.Name.Member(), Capabilities: []Capability{c.Name}})
		for _, m := range c.Also {
			out = append(out, ScriptMember{Module: c.Name.Module(), Name: m, Capabilities: []Capability{c.Name}})
		}
	}
	for _, d := range dispatchers {
		m := ScriptMember{Module: d.module, Name: d.member}
		for _, c := range capabilities {
			if d.of(c) {
				m.Capabilities = append(m.Capabilities, c.Name)
			}
		}
		out = append(out, m)
	}
	return out
}

// CapabilityModules returns the modules that hold capability members, in
// display order ("fs", "net", "env", "subprocess").
func CapabilityModules() []string {
	var out []string
	for _, c := range capabilities {
		if m := c.Name.Module(); len(out) == 0 || out[len(out)-1] != m {
			out = append(out, m)
		}
	}
	return out
}

// GrantText says what to fill in the policy to enable any one of caps:
// "[filesystem].write_allow", "[network].http_get_allow (or
// local_only_hosts)", and for several capabilities of one section every
// key that would do.
func GrantText(caps ...Capability) string {
	var sections []string
	keys := map[string][2][]string{} // section -> own keys, shared alternatives
	for _, c := range caps {
		i := capIndex[c]
		if i == nil || len(i.Grants) == 0 {
			continue
		}
		k, seen := keys[i.Section]
		if !seen {
			sections = append(sections, i.Section)
		}
		k[0] = appendNew(k[0], i.Grants[0])
		for _, g := range i.Grants[1:] {
			k[1] = appendNew(k[1], g)
		}
		keys[i.Section] = k
	}
	var parts []string
	for _, s := range sections {
		k := keys[s]
		var alts []string
		for _, g := range k[1] {
			if !contains(k[0], g) {
				alts = append(alts, g)
			}
		}
		t := "[" + s + "]." + joinOr(k[0])
		if len(alts) > 0 {
			t += " (or " + joinOr(alts) + ")"
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "the policy"
	}
	return joinOr(parts)
}

func appendNew(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

// joinOr writes "a", "a or b", "a, b or c".
func joinOr(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

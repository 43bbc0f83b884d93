package mcpserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/policy"
)

// paramKind is the JSON type of one tool argument. The tool table below is
// the single source of both the advertised inputSchema and the validation
// of incoming arguments, so the two cannot drift apart.
type paramKind int

const (
	kindString     paramKind = iota
	kindStringList           // array of strings, at least one
	kindStringMap            // object of string values
)

type param struct {
	name        string
	kind        paramKind
	required    bool
	maxLen      int      // strings: byte limit (0 = none)
	enum        []string // strings: the accepted values (nil = any)
	description string
}

// toolKind says how a tool is carried out.
type toolKind int

const (
	toolScript     toolKind = iota // a fixed Starlark script run through Backend.Run
	toolRun                        // aegis_run: the caller's own script
	toolPolicy                     // read-only policy summary
	toolExplain                    // read-only policy decision
	toolRouting                    // read-only [tools.X] records
	toolKindsCount                 // sentinel for tests
)

type toolDef struct {
	name        string
	title       string
	description string
	kind        toolKind
	params      []param
	// capability is the policy capability a wrapper exercises; it decides
	// the honest annotations and whether host-config may allow the tool.
	capability string
	// script is the fixed program of a wrapper tool. Arguments reach it
	// only as predeclared string globals (RunRequest.Inputs), never by
	// splicing text into the source, so no argument can change the code.
	script string
	// trimPrint removes the one newline print() adds, so a wrapper returns
	// the bytes it read.
	trimPrint bool
	// inputs maps argument names to script globals; list and map
	// arguments are passed JSON-encoded and decoded by the script.
	inputs map[string]string
}

// tools is the tool surface, in the order tools/list returns it. It is
// built on first use: every `aegis run` links this package, and the table
// lists the predeclared modules (builtins.ModuleNames), which builds them.
var tools = sync.OnceValue(func() []toolDef { return toolTable() })

func toolTable() []toolDef {
	return []toolDef{
		{
			name:  "aegis_run",
			title: "Run a Starlark script under the Aegis policy",
			description: "Run a Starlark script under the operator's Aegis policy, as `aegis run` does. Every effect is checked against the policy when it is called; " +
				"values read from local-only sources stay usable inside the script but print as [REDACTED]. Call aegis_policy first to see what is allowed.\n" +
				scriptAPI + "\n" +
				"Result: stdout is what the script printed. On failure (isError) exit_kind says why (policy_denied, flow_denied, confirm_denied, script_error, limit, ...) " +
				"and error names the rule that decided and how the operator could allow it.",
			kind: toolRun,
			params: []param{
				{name: "script", kind: kindString, required: true, description: "Starlark source, e.g. print(fs.read(\"README.md\")). Predeclared: " + strings.Join(builtins.ModuleNames(), ", ") + ", print, fail."},
				{name: "task_id", kind: kindString, maxLen: 128, description: "Optional label recorded in the audit log for this run."},
			},
		},
		{
			name:        "aegis_fs_read",
			title:       "Read a file (policy-gated)",
			description: "Read one file through the Aegis policy (fs.read). Use instead of the host's own Read tool. Content of local-only files comes back as [REDACTED].",
			kind:        toolScript,
			capability:  string(policy.FSRead),
			params:      []param{{name: "path", kind: kindString, required: true, maxLen: 4096, description: "File path; relative paths resolve against the policy's directory."}},
			script:      "print(fs.read(path))\n",
			trimPrint:   true,
			inputs:      map[string]string{"path": "path"},
		},
		{
			name:        "aegis_fs_write",
			title:       "Write a file (policy-gated)",
			description: "Create or overwrite one file through the Aegis policy (fs.write). Use instead of the host's own Write/Edit tools.",
			kind:        toolScript,
			capability:  string(policy.FSWrite),
			params: []param{
				{name: "path", kind: kindString, required: true, maxLen: 4096, description: "File path; relative paths resolve against the policy's directory."},
				{name: "content", kind: kindString, required: true, description: "The complete new content of the file."},
			},
			script: "fs.write(path, content)\nprint(\"wrote %d bytes to %s\" % (len(content), path))\n",
			inputs: map[string]string{"path": "path", "content": "content"},
		},
		{
			name:        "aegis_exec",
			title:       "Run a command (policy-gated)",
			description: "Run one command through the Aegis policy (subprocess.exec) without a shell: argv[0] is the program, the rest its arguments. Returns its standard output; a non-zero exit is an error carrying stderr. Use instead of the host's own Bash tool.",
			kind:        toolScript,
			capability:  string(policy.SubprocessExec),
			params:      []param{{name: "argv", kind: kindStringList, required: true, description: "Program and arguments, e.g. [\"go\", \"test\", \"./...\"]. No shell syntax is interpreted."}},
			script:      "print(subprocess.exec(json.decode(argv_json)))\n",
			trimPrint:   true,
			inputs:      map[string]string{"argv": "argv_json"},
		},
		{
			name:        "aegis_http_get",
			title:       "HTTP GET (policy-gated)",
			description: "Fetch a URL with HTTP GET through the Aegis policy (net.http_get). Redirects are not followed. Returns the response body; a status of 400 or more is an error. Use instead of the host's own WebFetch tool.",
			kind:        toolScript,
			capability:  string(policy.HTTPGet),
			params: []param{
				{name: "url", kind: kindString, required: true, maxLen: 8192, description: "Absolute http(s) URL."},
				{name: "headers", kind: kindStringMap, description: "Optional request headers, name to value."},
			},
			script:    "print(net.http_get(url, headers=json.decode(headers_json)))\n",
			trimPrint: true,
			inputs:    map[string]string{"url": "url", "headers": "headers_json"},
		},
		{
			name:  "aegis_policy",
			title: "Show the effective Aegis policy",
			description: "Show what the operator's policy allows (after inheritance): the enabled capabilities, those that need approval, and the rules, " +
				"abridged to under 2 KB. {\"detail\":\"full\"} returns every rule with the file and line it comes from. Read-only.",
			kind: toolPolicy,
			params: []param{
				{name: "detail", kind: kindString, enum: []string{"summary", "full"}, description: "summary (default) or full."},
			},
		},
		{
			name:        "aegis_explain",
			title:       "Explain a policy decision",
			description: "Ask the policy whether one capability call would be allowed, and why: the rule that decided and, for a denial, how to allow it. Read-only; nothing is executed.",
			kind:        toolExplain,
			params: []param{
				{name: "capability", kind: kindString, required: true, maxLen: 128, description: "Capability name, e.g. fs.read, fs.write, net.http_get, env.read, subprocess.exec."},
				{name: "target", kind: kindStringList, required: true, description: "What the call touches: [path], [url], [variable name], or the full argv for subprocess.exec."},
			},
		},
		{
			name:        "aegis_tool_routing",
			title:       "List the policy's tool routing records",
			description: "List the [tools.X] records of the policy: which host tools map to which capabilities and whether each is allowed. Read-only.",
			kind:        toolRouting,
		},
	}
}

func lookupTool(name string) (*toolDef, bool) {
	ts := tools()
	for i := range ts {
		if ts[i].name == name {
			return &ts[i], true
		}
	}
	return nil, false
}

// toolNames lists every tool name in table order.
func toolNames() []string {
	names := make([]string, len(tools()))
	for i, t := range tools() {
		names[i] = t.name
	}
	return names
}

// inputSchema renders the JSON Schema of a tool's arguments.
func (t *toolDef) inputSchema() map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range t.params {
		var s map[string]any
		switch p.kind {
		case kindString:
			s = map[string]any{"type": "string"}
			if p.maxLen > 0 {
				s["maxLength"] = p.maxLen
			}
			if p.enum != nil {
				s["enum"] = p.enum
			}
		case kindStringList:
			s = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1}
		case kindStringMap:
			s = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		}
		s["description"] = p.description
		props[p.name] = s
		if p.required {
			required = append(required, p.name)
		}
	}
	schema := map[string]any{"type": "object", "additionalProperties": false}
	if len(props) > 0 {
		schema["properties"] = props
	}
	if len(required) > 0 {
		schema["required"] = required
	}
	return schema
}

// runOutputSchema describes structuredContent of every tool that runs a
// script. exit_kind is not an enum so that a new kind from the runner does
// not make strict clients reject the result.
func runOutputSchema() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"exit_kind": map[string]any{"type": "string", "description": "ok, script_error, policy_denied, verifier_rejected, confirm_denied, io_error, limit or flow_denied"},
			"exit_code": map[string]any{"type": "integer", "description": "The exit code `aegis run` would use: 0 ok, 1 script error, 2 policy denied, 3 verifier rejected, 4 confirm denied, 5 I/O or configuration, 6 runtime limit, 7 flow denied"},
			"stdout":    map[string]any{"type": "string", "description": "Everything the script printed, local-only values replaced by [REDACTED]"},
			"error":     map[string]any{"type": "string", "description": "Empty on success; otherwise what was denied or failed and how to allow or fix it"},
			"truncated": map[string]any{"type": "boolean", "description": "True when stdout or error was cut to keep the response small"},
		},
		"required":             []string{"exit_kind", "exit_code", "stdout", "error"},
		"additionalProperties": false,
	}
}

// outputSchema declares structuredContent, which only the tools that run
// a script return. The read-only tools answer with one JSON text block and
// no structuredContent: hosts show a model either the text or the
// structuredContent, so a second copy only doubles the bytes.
func (t *toolDef) outputSchema() map[string]any {
	switch t.kind {
	case toolRun, toolScript:
		return runOutputSchema()
	}
	return nil
}

// annotations are derived from what the policy actually enables, so a hint
// never claims more (or less) than the tool can do under this policy.
type annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint"`
	DestructiveHint bool   `json:"destructiveHint"`
	IdempotentHint  bool   `json:"idempotentHint"`
	OpenWorldHint   bool   `json:"openWorldHint"`
}

func (t *toolDef) annotations(caps map[string]bool) annotations {
	a := annotations{Title: t.title}
	switch t.kind {
	case toolRun:
		// A script can do whatever the policy enables, and no more.
		a.ReadOnlyHint = true
		for _, c := range policy.CapabilityTable() {
			if caps[string(c.Name)] {
				a.ReadOnlyHint = a.ReadOnlyHint && !c.Effect()
				a.DestructiveHint = a.DestructiveHint || destructive(c)
				a.OpenWorldHint = a.OpenWorldHint || c.OpenWorld
			}
		}
	case toolScript:
		// The one call the wrapper makes.
		if c, ok := policy.Capability(t.capability).Info(); ok {
			a.ReadOnlyHint = !c.Effect()
			a.DestructiveHint = destructive(c)
			a.IdempotentHint = c.Access == policy.AccessRead || c.Access == policy.AccessReplace
			a.OpenWorldHint = c.OpenWorld
		}
	default:
		a.ReadOnlyHint, a.IdempotentHint = true, true
	}
	return a
}

// destructive is MCP's destructiveHint: the call may replace or remove
// what is there, not only add to it.
func destructive(c policy.CapabilityInfo) bool {
	return c.Access == policy.AccessReplace || c.Access == policy.AccessAny
}

// toolDescription appends what the policy says about a wrapper's
// capability, so a model does not keep calling a tool that cannot work.
func (t *toolDef) toolDescription(caps map[string]bool) string {
	if t.capability != "" && !caps[t.capability] {
		return t.description + " Currently disabled: the policy does not enable " + t.capability + "."
	}
	return t.description
}

// listEntry renders one tool for tools/list under the negotiated version:
// fields a revision does not define are left out for its clients.
func (t *toolDef) listEntry(info reqInfo, caps map[string]bool) map[string]any {
	e := map[string]any{
		"name":        t.name,
		"description": t.toolDescription(caps),
		"inputSchema": t.inputSchema(),
	}
	if info.atLeast("2025-03-26") {
		e["annotations"] = t.annotations(caps)
	}
	if info.atLeast("2025-06-18") {
		e["title"] = t.title
		if out := t.outputSchema(); out != nil {
			e["outputSchema"] = out
		}
	}
	return e
}

// argError is an argument that does not fit the schema. It becomes a tool
// result with isError:true (MCP 2025-11-25, SEP-1303) so the model can
// correct itself.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

// args are validated tool arguments.
type args struct {
	strs  map[string]string
	lists map[string][]string
	maps  map[string]map[string]string
}

// validate checks raw arguments against the tool's parameters.
func (t *toolDef) validate(raw map[string]json.RawMessage) (args, error) {
	a := args{strs: map[string]string{}, lists: map[string][]string{}, maps: map[string]map[string]string{}}
	known := map[string]bool{}
	for _, p := range t.params {
		known[p.name] = true
	}
	var extra []string
	for k := range raw {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return a, &argError{fmt.Sprintf("%s: unknown argument %s; accepted arguments: %s",
			t.name, quoteList(extra), quoteList(paramNames(t.params)))}
	}
	for _, p := range t.params {
		v, present := raw[p.name]
		if !present || string(v) == "null" {
			if p.required {
				return a, &argError{fmt.Sprintf("%s: missing required argument %q (%s)", t.name, p.name, p.description)}
			}
			continue
		}
		switch p.kind {
		case kindString:
			var s string
			if json.Unmarshal(v, &s) != nil {
				return a, &argError{fmt.Sprintf("%s: argument %q must be a string", t.name, p.name)}
			}
			if p.maxLen > 0 && len(s) > p.maxLen {
				return a, &argError{fmt.Sprintf("%s: argument %q is %d bytes; the limit is %d", t.name, p.name, len(s), p.maxLen)}
			}
			if p.enum != nil && !slices.Contains(p.enum, s) {
				return a, &argError{fmt.Sprintf("%s: argument %q must be one of %s", t.name, p.name, quoteList(p.enum))}
			}
			a.strs[p.name] = s
		case kindStringList:
			var l []string
			if json.Unmarshal(v, &l) != nil {
				return a, &argError{fmt.Sprintf("%s: argument %q must be an array of strings, e.g. [\"go\", \"version\"]", t.name, p.name)}
			}
			if len(l) == 0 {
				return a, &argError{fmt.Sprintf("%s: argument %q needs at least one element", t.name, p.name)}
			}
			a.lists[p.name] = l
		case kindStringMap:
			var m map[string]string
			if json.Unmarshal(v, &m) != nil {
				return a, &argError{fmt.Sprintf("%s: argument %q must be an object whose values are strings", t.name, p.name)}
			}
			a.maps[p.name] = m
		}
	}
	return a, nil
}

// scriptInputs turns validated arguments into the wrapper's script globals.
// Every global the script names is always defined (absent optional maps
// become "{}"), so the script never fails on a missing name.
func (t *toolDef) scriptInputs(a args) (map[string]string, error) {
	in := map[string]string{}
	for _, p := range t.params {
		global := t.inputs[p.name]
		switch p.kind {
		case kindString:
			in[global] = a.strs[p.name]
		case kindStringList:
			b, err := json.Marshal(a.lists[p.name])
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", p.name, err)
			}
			in[global] = string(b)
		case kindStringMap:
			m := a.maps[p.name]
			if m == nil {
				m = map[string]string{}
			}
			b, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", p.name, err)
			}
			in[global] = string(b)
		}
	}
	return in, nil
}

func paramNames(ps []param) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

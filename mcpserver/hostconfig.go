package mcpserver

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Hosts that `aegis host-config` knows, in the order help text lists them.
var hostNames = []string{"claude-code", "opencode", "cursor"}

// HostNames lists the hosts HostConfig accepts.
func HostNames() []string { return append([]string(nil), hostNames...) }

// HostConfigOptions say what to wire and where.
type HostConfigOptions struct {
	Host       string      // claude-code, opencode or cursor
	PolicyPath string      // absolute path of the policy file
	AuditLog   string      // --audit-log for the server; "" keeps the runner's default
	Confirm    ConfirmMode // --confirm for the server; "" means elicit
	Command    string      // the server binary; "" means "aegis-mcp" on PATH
	ServerName string      // the MCP server's name in the host; "" means "aegis"
	Summary    PolicySummary
}

// HostFile is one configuration file to paste (or merge) into a project.
type HostFile struct {
	Path    string `json:"path"`    // relative to the project root
	Purpose string `json:"purpose"` // one line for the reader
	Content string `json:"content"` // the JSON document
}

// HostConfig returns the configuration that makes a host use aegis-mcp in
// place of its own effecting tools: the server entry, and a permission
// block that denies the host's built-in file, shell and web tools (which
// would bypass the policy) and allows the Aegis tools the policy enables.
func HostConfig(o HostConfigOptions) ([]HostFile, error) {
	if o.PolicyPath == "" {
		return nil, fmt.Errorf("host-config needs the policy path (--policy)")
	}
	if o.Command == "" {
		o.Command = "aegis-mcp"
	}
	if o.ServerName == "" {
		o.ServerName = "aegis"
	}
	if o.Confirm == "" {
		o.Confirm = ConfirmElicit
	}
	args := []string{"--policy", o.PolicyPath}
	if o.AuditLog != "" {
		args = append(args, "--audit-log", o.AuditLog)
	}
	args = append(args, "--confirm", string(o.Confirm))
	allowed, denied := aegisToolsFor(o.Summary)

	switch o.Host {
	case "claude-code":
		return claudeCode(o, args, allowed, denied)
	case "opencode":
		return opencode(o, args, allowed, denied)
	case "cursor":
		return cursor(o, args, allowed, denied)
	}
	msg := fmt.Sprintf("unknown host %q: use one of %s", o.Host, strings.Join(hostNames, ", "))
	if near := nearest(o.Host, hostNames); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return nil, fmt.Errorf("%s", msg)
}

// aegisToolsFor splits the Aegis tools into those the policy lets work and
// the wrappers whose capability it does not enable.
func aegisToolsFor(s PolicySummary) (allowed, denied []string) {
	caps := map[string]bool{}
	for _, c := range s.Capabilities {
		caps[c] = true
	}
	for _, t := range tools {
		if t.capability != "" && !caps[t.capability] {
			denied = append(denied, t.name)
		} else {
			allowed = append(allowed, t.name)
		}
	}
	return allowed, denied
}

func render(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("render host configuration: %w", err)
	}
	return string(b) + "\n", nil
}

// Built-in tools of each host that act on files, processes or the network
// without asking Aegis. Reads are included: a host's own Read ignores the
// policy's deny list and local-only labels.
var (
	claudeBuiltins   = []string{"Bash", "Edit", "MultiEdit", "Write", "NotebookEdit", "Read", "Glob", "Grep", "WebFetch", "WebSearch"}
	opencodeBuiltins = []string{"bash", "edit", "read", "glob", "grep", "list", "webfetch", "websearch"}
	cursorBuiltins   = []string{"Shell(*)", "Read(**)", "Write(**)", "WebFetch(*)"}
)

func claudeCode(o HostConfigOptions, args, allowed, denied []string) ([]HostFile, error) {
	mcp, err := render(map[string]any{
		"mcpServers": map[string]any{
			o.ServerName: map[string]any{"type": "stdio", "command": o.Command, "args": args},
		},
	})
	if err != nil {
		return nil, err
	}
	prefix := "mcp__" + o.ServerName + "__"
	deny := append([]string(nil), claudeBuiltins...)
	for _, t := range denied {
		deny = append(deny, prefix+t)
	}
	allow := make([]string, 0, len(allowed))
	for _, t := range allowed {
		allow = append(allow, prefix+t)
	}
	settings, err := render(map[string]any{
		"enabledMcpjsonServers": []string{o.ServerName},
		"permissions": map[string]any{
			"allow": allow,
			"deny":  deny,
			// A bypass mode would switch the deny list off.
			"disableBypassPermissionsMode": "disable",
		},
	})
	if err != nil {
		return nil, err
	}
	return []HostFile{
		{Path: ".mcp.json", Purpose: "the aegis-mcp server entry (project scope)", Content: mcp},
		{Path: ".claude/settings.json", Purpose: "deny Claude Code's own effecting tools; allow the Aegis tools this policy enables", Content: settings},
	}, nil
}

func opencode(o HostConfigOptions, args, allowed, denied []string) ([]HostFile, error) {
	perm := map[string]string{}
	for _, b := range opencodeBuiltins {
		perm[b] = "deny"
	}
	// opencode names an MCP tool <server>_<tool>.
	for _, t := range allowed {
		perm[o.ServerName+"_"+t] = "allow"
	}
	for _, t := range denied {
		perm[o.ServerName+"_"+t] = "deny"
	}
	cfg, err := render(map[string]any{
		"$schema": "https://opencode.ai/config.json",
		"mcp": map[string]any{
			o.ServerName: map[string]any{"type": "local", "command": append([]string{o.Command}, args...), "enabled": true},
		},
		"permission": perm,
	})
	if err != nil {
		return nil, err
	}
	return []HostFile{{Path: "opencode.json", Purpose: "the aegis-mcp server entry, opencode's own effecting tools denied", Content: cfg}}, nil
}

func cursor(o HostConfigOptions, args, allowed, denied []string) ([]HostFile, error) {
	mcp, err := render(map[string]any{
		"mcpServers": map[string]any{o.ServerName: map[string]any{"command": o.Command, "args": args}},
	})
	if err != nil {
		return nil, err
	}
	allow := []string{}
	for _, t := range allowed {
		allow = append(allow, fmt.Sprintf("Mcp(%s:%s)", o.ServerName, t))
	}
	deny := append([]string(nil), cursorBuiltins...)
	for _, t := range denied {
		deny = append(deny, fmt.Sprintf("Mcp(%s:%s)", o.ServerName, t))
	}
	sort.Strings(deny[len(cursorBuiltins):])
	cli, err := render(map[string]any{"permissions": map[string]any{"allow": allow, "deny": deny}})
	if err != nil {
		return nil, err
	}
	return []HostFile{
		{Path: ".cursor/mcp.json", Purpose: "the aegis-mcp server entry (editor and CLI)", Content: mcp},
		{Path: ".cursor/cli.json", Purpose: "Cursor CLI permissions: its own shell, file and fetch tools denied", Content: cli},
	}, nil
}

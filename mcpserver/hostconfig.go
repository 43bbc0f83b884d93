package mcpserver

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegisdev/aegis/internal/suggest"
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
	Command    string      // the server binary, best an absolute path (ResolveServerCommand); "" means "aegis-mcp" on PATH
	ServerName string      // the MCP server's name in the host; "" means "aegis"
	Summary    PolicySummary

	// ProjectDir, when set, is the absolute directory the files are for.
	// For Claude Code it adds the entry that marks that directory trusted
	// in Claude Code's own configuration (ClaudeConfig): in a workspace
	// nobody trusted, `claude -p` ignores the project's permissions.allow,
	// so every Aegis tool call would be refused. WriteHostFiles writes that
	// entry only when the project's Claude settings hold nothing but what
	// host-config manages (see claudeTrustProblems).
	ProjectDir string
	// ClaudeConfig is Claude Code's global configuration file; "" means
	// $CLAUDE_CONFIG_DIR/.claude.json, or ~/.claude.json.
	ClaudeConfig string
	// NoTrust leaves Claude Code's trust alone.
	NoTrust bool
}

// HostFile is one configuration file to write (or merge) into a project.
type HostFile struct {
	Path    string `json:"path"`    // relative to the project root; absolute for a file outside it
	Purpose string `json:"purpose"` // one line for the reader
	Content string `json:"content"` // the JSON document, as host-config would create it

	rules      mergeRules
	trustCheck *trustCheck // set on Claude Code's trust entry
}

// trustCheck says whose settings must be vetted before a workspace is
// marked trusted.
type trustCheck struct {
	server string // the MCP server name host-config manages
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
	return nil, CheckHost(o.Host)
}

// CheckHost says whether host-config knows a host, with a suggestion for
// a near miss.
func CheckHost(host string) error {
	for _, h := range hostNames {
		if h == host {
			return nil
		}
	}
	msg := fmt.Sprintf("unknown host %q: use one of %s", host, strings.Join(hostNames, ", "))
	if s := suggest.DidYouMean(host, hostNames); s != "" {
		msg += " (" + s + ")"
	}
	return fmt.Errorf("%s", msg)
}

// ClaudeAllowedTools is the --allowedTools value that lets `claude -p` use
// the Aegis tools in a workspace that is not trusted: the command-line
// alternative to the trust entry.
func ClaudeAllowedTools(files []HostFile) string {
	for _, f := range files {
		if f.Path != ".claude/settings.json" {
			continue
		}
		doc, err := decodeOrdered([]byte(f.Content))
		if err != nil {
			return ""
		}
		allow, _ := lookup(doc, "permissions.allow").([]any)
		names := make([]string, 0, len(allow))
		for _, a := range allow {
			if s, ok := a.(string); ok {
				names = append(names, s)
			}
		}
		return strings.Join(names, ",")
	}
	return ""
}

// ResolveServerCommand finds the aegis-mcp binary a host should start and
// returns its absolute path, so the host does not depend on its own PATH.
// explicit is a path or a name on PATH; "" looks next to the running
// executable (where `go install` puts both binaries), then on PATH.
func ResolveServerCommand(explicit string) (string, error) {
	if explicit != "" {
		p := explicit
		if !strings.ContainsRune(explicit, filepath.Separator) {
			found, err := exec.LookPath(explicit)
			if err != nil {
				return "", fmt.Errorf("--command %s: not found on PATH; give its path, e.g. --command /usr/local/bin/aegis-mcp", explicit)
			}
			p = found
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("--command %s: %w", explicit, err)
		}
		if err := isExecutable(abs); err != nil {
			return "", fmt.Errorf("--command %s: %w", explicit, err)
		}
		return abs, nil
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		sibling := filepath.Join(filepath.Dir(exe), "aegis-mcp")
		if isExecutable(sibling) == nil {
			return sibling, nil
		}
		looked = append(looked, "next to "+exe)
	}
	if found, err := exec.LookPath("aegis-mcp"); err == nil {
		return filepath.Abs(found)
	}
	looked = append(looked, "on PATH")
	return "", fmt.Errorf("cannot find aegis-mcp (looked %s): from a clone, `go install ./cmd/aegis ./cmd/aegis-mcp` puts both in $(go env GOPATH)/bin; "+
		"or name it with --command /path/to/aegis-mcp", strings.Join(looked, " and "))
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// aegisToolsFor splits the Aegis tools into those the policy lets work and
// the wrappers whose capability it does not enable.
func aegisToolsFor(s PolicySummary) (allowed, denied []string) {
	caps := map[string]bool{}
	for _, c := range s.Capabilities {
		caps[c] = true
	}
	for _, t := range tools() {
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
// policy's deny list and local-only labels. Names a given host version
// does not have are harmless in its deny list, so older and platform-only
// tools stay listed (MultiEdit, LS; PowerShell on Windows).
var (
	claudeBuiltins = []string{"Bash", "PowerShell", "Edit", "MultiEdit", "Write", "NotebookEdit", "Read", "Glob", "Grep", "LS",
		"WebFetch", "WebSearch", "EnterWorktree", "ExitWorktree"}
	// opencode's "edit" covers its write, patch and multiedit tools;
	// external_directory is access outside the project for any tool.
	opencodeBuiltins = []string{"bash", "edit", "read", "glob", "grep", "list", "lsp", "webfetch", "websearch", "codesearch", "external_directory"}
	cursorBuiltins   = []string{"Shell(*)", "Read(**)", "Write(**)", "WebFetch(*)"}
)

// claudeConfigPath is where Claude Code keeps its global state, trust
// included.
func claudeConfigPath() string {
	if dir := os.Getenv("CLAUDE_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, ".claude.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".claude.json")
}

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
	files := []HostFile{
		{Path: ".mcp.json", Purpose: "the aegis-mcp server entry (project scope)", Content: mcp},
		{Path: ".claude/settings.json", Purpose: "deny Claude Code's own effecting tools; allow the Aegis tools this policy enables", Content: settings,
			rules: mergeRules{
				setPaths: []string{"enabledMcpjsonServers", "permissions.allow", "permissions.deny"},
				opposed:  [][2]string{{"permissions.allow", "permissions.deny"}},
			}},
	}
	if o.ProjectDir == "" || o.NoTrust {
		return files, nil
	}
	cfg := o.ClaudeConfig
	if cfg == "" {
		cfg = claudeConfigPath()
	}
	if cfg == "" {
		return files, nil
	}
	// Claude Code looks the workspace up by the path it runs in; record
	// the path as given and as resolved, in case a symlink is involved.
	projects := map[string]any{o.ProjectDir: map[string]any{"hasTrustDialogAccepted": true}}
	if real, err := filepath.EvalSymlinks(o.ProjectDir); err == nil && real != o.ProjectDir {
		projects[real] = map[string]any{"hasTrustDialogAccepted": true}
	}
	trust, err := render(map[string]any{"projects": projects})
	if err != nil {
		return nil, err
	}
	return append(files, HostFile{Path: cfg, Purpose: "mark the project trusted: in an untrusted workspace `claude -p` ignores permissions.allow",
		Content: trust, trustCheck: &trustCheck{server: o.ServerName}}), nil
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
		{Path: ".cursor/cli.json", Purpose: "Cursor CLI permissions: its own shell, file and fetch tools denied", Content: cli,
			rules: mergeRules{
				setPaths: []string{"permissions.allow", "permissions.deny"},
				opposed:  [][2]string{{"permissions.allow", "permissions.deny"}},
			}},
	}, nil
}

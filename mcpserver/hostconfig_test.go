package mcpserver_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

func hostFiles(t *testing.T, host string, caps []string) map[string]map[string]any {
	t.Helper()
	s := mcptest.New().Summary
	s.Capabilities = caps
	files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{
		Host: host, PolicyPath: `/work/my "proj"/aegis.toml`, AuditLog: "/work/audit.jsonl", Summary: s,
	})
	if err != nil {
		t.Fatalf("%s: %v", host, err)
	}
	again, _ := mcpserver.HostConfig(mcpserver.HostConfigOptions{
		Host: host, PolicyPath: `/work/my "proj"/aegis.toml`, AuditLog: "/work/audit.jsonl", Summary: s,
	})
	out := map[string]map[string]any{}
	for i, f := range files {
		var doc map[string]any
		if err := json.Unmarshal([]byte(f.Content), &doc); err != nil {
			t.Fatalf("%s %s is not JSON: %v", host, f.Path, err)
		}
		if f.Content != again[i].Content {
			t.Errorf("%s %s: output is not deterministic", host, f.Path)
		}
		out[f.Path] = doc
	}
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

var readOnlyCaps = []string{"fs.read"}

func TestHostConfigClaudeCode(t *testing.T) {
	files := hostFiles(t, "claude-code", readOnlyCaps)
	server := files[".mcp.json"]["mcpServers"].(map[string]any)["aegis"].(map[string]any)
	args := strs(server["args"])
	want := []string{"--policy", `/work/my "proj"/aegis.toml`, "--audit-log", "/work/audit.jsonl", "--confirm", "elicit"}
	if server["command"] != "aegis-mcp" || !slices.Equal(args, want) {
		t.Errorf("server entry: %v %v", server["command"], args)
	}
	perms := files[".claude/settings.json"]["permissions"].(map[string]any)
	deny, allow := strs(perms["deny"]), strs(perms["allow"])
	for _, b := range []string{"Bash", "Write", "Edit", "Read", "WebFetch", "mcp__aegis__aegis_exec", "mcp__aegis__aegis_fs_write", "mcp__aegis__aegis_http_get"} {
		if !slices.Contains(deny, b) {
			t.Errorf("deny lacks %s: %v", b, deny)
		}
	}
	for _, a := range []string{"mcp__aegis__aegis_run", "mcp__aegis__aegis_fs_read", "mcp__aegis__aegis_policy"} {
		if !slices.Contains(allow, a) {
			t.Errorf("allow lacks %s: %v", a, allow)
		}
	}
	for _, a := range allow {
		if slices.Contains(deny, a) {
			t.Errorf("%s is both allowed and denied", a)
		}
	}
	if perms["disableBypassPermissionsMode"] != "disable" {
		t.Errorf("bypass mode must be disabled")
	}
}

func TestHostConfigFollowsThePolicy(t *testing.T) {
	full := hostFiles(t, "claude-code", []string{"fs.read", "fs.write", "subprocess.exec", "net.http_get"})
	allow := strs(full[".claude/settings.json"]["permissions"].(map[string]any)["allow"])
	if !slices.Contains(allow, "mcp__aegis__aegis_exec") || !slices.Contains(allow, "mcp__aegis__aegis_http_get") {
		t.Errorf("a policy that enables exec and http_get must allow their wrappers: %v", allow)
	}
}

func TestHostConfigOpencode(t *testing.T) {
	files := hostFiles(t, "opencode", readOnlyCaps)
	cfg := files["opencode.json"]
	server := cfg["mcp"].(map[string]any)["aegis"].(map[string]any)
	cmd := strs(server["command"])
	if server["type"] != "local" || cmd[0] != "aegis-mcp" || cmd[2] != `/work/my "proj"/aegis.toml` {
		t.Errorf("server entry: %v", server)
	}
	perm := cfg["permission"].(map[string]any)
	for k, v := range map[string]string{"bash": "deny", "edit": "deny", "read": "deny", "webfetch": "deny", "aegis_aegis_run": "allow", "aegis_aegis_exec": "deny"} {
		if perm[k] != v {
			t.Errorf("permission %s = %v, want %s", k, perm[k], v)
		}
	}
}

func TestHostConfigCursor(t *testing.T) {
	files := hostFiles(t, "cursor", readOnlyCaps)
	if _, ok := files[".cursor/mcp.json"]["mcpServers"].(map[string]any)["aegis"]; !ok {
		t.Fatalf("no server entry")
	}
	perms := files[".cursor/cli.json"]["permissions"].(map[string]any)
	if deny := strs(perms["deny"]); !slices.Contains(deny, "Shell(*)") || !slices.Contains(deny, "Mcp(aegis:aegis_exec)") {
		t.Errorf("deny: %v", deny)
	}
	if allow := strs(perms["allow"]); !slices.Contains(allow, "Mcp(aegis:aegis_run)") {
		t.Errorf("allow: %v", allow)
	}
}

func TestHostConfigErrors(t *testing.T) {
	_, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: "claude", PolicyPath: "/p"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "claude-code"`) {
		t.Errorf("unknown host: %v", err)
	}
	if _, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: "cursor"}); err == nil {
		t.Errorf("a missing policy path must be an error")
	}
}

func TestHostConfigDeniesEveryEffectingBuiltin(t *testing.T) {
	perms := hostFiles(t, "claude-code", readOnlyCaps)[".claude/settings.json"]["permissions"].(map[string]any)
	deny := strs(perms["deny"])
	// Claude Code 2.1.328's own tools that read, write, run or fetch
	// (what its tools list and ToolSearch's deferred list show), plus
	// PowerShell (Windows) and older names.
	for _, b := range []string{"Bash", "PowerShell", "Edit", "MultiEdit", "Write", "NotebookEdit", "Read", "Glob", "Grep", "LS",
		"WebFetch", "WebSearch", "EnterWorktree", "ExitWorktree"} {
		if !slices.Contains(deny, b) {
			t.Errorf("claude-code deny lacks %s", b)
		}
	}
	perm := hostFiles(t, "opencode", readOnlyCaps)["opencode.json"]["permission"].(map[string]any)
	for _, b := range []string{"bash", "edit", "read", "glob", "grep", "list", "lsp", "webfetch", "websearch", "codesearch", "external_directory"} {
		if perm[b] != "deny" {
			t.Errorf("opencode permission %s = %v, want deny", b, perm[b])
		}
	}
}

func TestHostConfigTrustEntry(t *testing.T) {
	s := mcptest.New().Summary
	dir := t.TempDir()
	files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: "claude-code", PolicyPath: "/p/aegis.toml", Summary: s,
		ProjectDir: dir, ClaudeConfig: "/home/u/.claude.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[2].Path != "/home/u/.claude.json" || !strings.Contains(files[2].Content, `"hasTrustDialogAccepted": true`) ||
		!strings.Contains(files[2].Content, strconv.Quote(dir)) {
		t.Fatalf("want the trust entry for %s: %+v", dir, files)
	}
	files, _ = mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: "claude-code", PolicyPath: "/p", Summary: s, ProjectDir: dir, ClaudeConfig: "/c", NoTrust: true})
	if len(files) != 2 {
		t.Errorf("NoTrust must leave trust alone: %+v", files)
	}
	if got := mcpserver.ClaudeAllowedTools(files); !strings.HasPrefix(got, "mcp__aegis__aegis_run,") || strings.Contains(got, "Bash") {
		t.Errorf("ClaudeAllowedTools = %q", got)
	}
	for _, host := range []string{"opencode", "cursor"} {
		files, _ := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: host, PolicyPath: "/p", Summary: s, ProjectDir: dir, ClaudeConfig: "/c"})
		for _, f := range files {
			if strings.Contains(f.Content, "hasTrustDialogAccepted") {
				t.Errorf("%s has no trust step: %+v", host, f)
			}
		}
	}
}

// PlanHostFiles reports drift without writing: what doctor shows.
func TestPlanHostFiles(t *testing.T) {
	dir := t.TempDir()
	s := mcptest.New().Summary
	files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: "opencode", PolicyPath: "/p/aegis.toml", Command: "/bin/aegis-mcp", Summary: s})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := mcpserver.PlanHostFiles(dir, files)
	if err != nil || len(plan) != 1 || plan[0].Status != mcpserver.FileCreated || plan[0].File != filepath.Join(dir, "opencode.json") {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "opencode.json")); err == nil {
		t.Fatalf("planning wrote a file")
	}
	if _, err := mcpserver.WriteHostFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if plan, _ := mcpserver.PlanHostFiles(dir, files); plan[0].Status != mcpserver.FileUnchanged {
		t.Errorf("after writing, the plan must be empty: %+v", plan)
	}
	// Drift: someone lets bash back in.
	b, _ := os.ReadFile(filepath.Join(dir, "opencode.json"))
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(strings.Replace(string(b), `"bash": "deny"`, `"bash": "allow"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, _ = mcpserver.PlanHostFiles(dir, files)
	if plan[0].Status != mcpserver.FileUpdated || !slices.Contains(plan[0].Changes, `~ permission.bash: "allow" -> "deny"`) {
		t.Errorf("drift: %+v", plan)
	}
}

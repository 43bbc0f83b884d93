package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
)

const hostPolicy = `version = "1"
name = "hosts"
requires_approval = ["fs.write"]

[filesystem]
read_allow = ["src/**"]
write_allow = ["src/**"]
`

// withServer puts an executable aegis-mcp on PATH (and nothing else) and
// points HOME at an empty directory, so no test touches the real one.
func withServer(t *testing.T) (server, home string) {
	t.Helper()
	fakePath(t, "aegis-mcp")
	server, err := exec.LookPath("aegis-mcp")
	if err != nil {
		t.Fatal(err)
	}
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLAUDE_CONFIG_DIR", "")
	return server, home
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m
}

func strList(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestHostConfigPrints(t *testing.T) {
	server, _ := withServer(t)
	dir := project(t, map[string]string{"aegis.toml": hostPolicy, "src/main.go": "package main\n"})
	code, out, errOut := aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml", "--confirm", "auto-deny")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// stdout is the file itself: redirectable.
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("stdout must be opencode.json and nothing else: %v\n%s", err, out)
	}
	command := strList(cfg["mcp"].(map[string]any)["aegis"].(map[string]any)["command"])
	if command[0] != server || !filepath.IsAbs(command[0]) || command[2] != dir+"/aegis.toml" {
		t.Errorf("the server entry must name aegis-mcp and the policy by absolute path: %v", command)
	}
	if !strings.Contains(errOut, "==> opencode.json <==") || strings.Contains(out, "==>") {
		t.Errorf("headers belong on stderr: stdout %q stderr %q", out, errOut)
	}
	// A two-file host: --only picks one.
	code, out, errOut = aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--only", ".claude/settings.json")
	var settings map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &settings) != nil || settings["permissions"] == nil {
		t.Fatalf("--only: exit %d, %s %s", code, out, errOut)
	}
	deny := strList(settings["permissions"].(map[string]any)["deny"])
	for _, b := range []string{"Bash", "PowerShell", "Write", "Edit", "Read", "WebFetch", "mcp__aegis__aegis_exec"} {
		if !slices.Contains(deny, b) {
			t.Errorf("deny lacks %s: %v", b, deny)
		}
	}
	if !strings.Contains(errOut, "--allowedTools mcp__aegis__aegis_run,") {
		t.Errorf("printing for Claude Code must mention the trust step and --allowedTools: %q", errOut)
	}
	code, _, errOut = aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--only", "nope.json")
	if code != 5 || !strings.Contains(errOut, ".mcp.json, .claude/settings.json") {
		t.Errorf("--only with an unknown file: exit %d %q", code, errOut)
	}
	// No file in the project was touched.
	if _, err := os.Stat(filepath.Join(dir, ".mcp.json")); err == nil {
		t.Errorf("printing must not write")
	}
}

func TestHostConfigJSON(t *testing.T) {
	withServer(t)
	dir := project(t, map[string]string{"aegis.toml": hostPolicy})
	code, out, errOut := aegis(t, dir, "host-config", "cursor", "--policy", "aegis.toml", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var files []struct{ Path, Purpose, Content string }
	if err := json.Unmarshal([]byte(out), &files); err != nil || len(files) != 2 || files[1].Path != ".cursor/cli.json" {
		t.Fatalf("--json: %v %s", err, out)
	}
	if !strings.Contains(files[1].Content, "Shell(*)") || !strings.Contains(files[1].Content, "Mcp(aegis:aegis_exec)") {
		t.Errorf("cursor permissions: %s", files[1].Content)
	}
}

func TestHostConfigWriteClaudeCode(t *testing.T) {
	server, home := withServer(t)
	dir := project(t, map[string]string{"aegis.toml": hostPolicy})
	// Claude Code's own state, which must survive.
	claudeJSON := filepath.Join(home, ".claude.json")
	if err := os.WriteFile(claudeJSON, []byte(`{"numStartups": 7, "projects": {"/elsewhere": {"hasTrustDialogAccepted": false, "x": [1.50]}}, "userID": "u"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--write")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{".mcp.json: created", "+ mcpServers", ".claude/settings.json: created", "~/.claude.json: updated",
		`+ projects["` + dir + `"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	mcp := readJSON(t, filepath.Join(dir, ".mcp.json"))
	entry := mcp["mcpServers"].(map[string]any)["aegis"].(map[string]any)
	if entry["command"] != server {
		t.Errorf("command %v, want %s", entry["command"], server)
	}
	trusted := readJSON(t, claudeJSON)
	projects := trusted["projects"].(map[string]any)
	if projects[dir].(map[string]any)["hasTrustDialogAccepted"] != true || trusted["numStartups"] != 7.0 || trusted["userID"] != "u" ||
		projects["/elsewhere"].(map[string]any)["hasTrustDialogAccepted"] != false {
		t.Errorf("~/.claude.json: want the project trusted and the rest intact: %v", trusted)
	}
	if b, _ := os.ReadFile(claudeJSON); !strings.Contains(string(b), "1.50") {
		t.Errorf("numbers must be kept as written: %s", b)
	}
	if fi, _ := os.Stat(claudeJSON); fi.Mode().Perm() != 0o600 {
		t.Errorf("~/.claude.json mode changed to %v", fi.Mode().Perm())
	}
	// Idempotent: a second run changes nothing, byte for byte.
	before := snapshot(t, dir, claudeJSON)
	code, out, _ = aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--write")
	if code != 0 || strings.Count(out, ": unchanged") != 3 || strings.Contains(out, "+") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if after := snapshot(t, dir, claudeJSON); after != before {
		t.Errorf("a second run rewrote files")
	}
}

func snapshot(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range append([]string{filepath.Join(dir, ".mcp.json"), filepath.Join(dir, ".claude/settings.json"), filepath.Join(dir, "opencode.json")}, extra...) {
		c, _ := os.ReadFile(p)
		fi, err := os.Stat(p)
		if err == nil {
			fmt.Fprintf(&b, "%s %v %s\n%s\n", p, fi.ModTime().UnixNano(), fi.Mode(), c)
		}
	}
	return b.String()
}

func TestHostConfigWriteMergesIntoExistingFiles(t *testing.T) {
	_, home := withServer(t)
	dir := project(t, map[string]string{
		"aegis.toml": hostPolicy,
		".mcp.json":  `{"mcpServers": {"other": {"command": "other-server", "args": ["--x"]}, "aegis": {"command": "old-aegis-mcp", "args": []}}}`,
		".claude/settings.json": `{
  "permissions": {"allow": ["Bash", "mcp__other__tool"], "deny": ["Foo"], "additionalDirectories": ["../shared"]},
  "hooks": {"PreToolUse": []},
  "model": "sonnet"
}`,
	})
	code, out, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--write")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mcp := readJSON(t, filepath.Join(dir, ".mcp.json"))
	servers := mcp["mcpServers"].(map[string]any)
	if servers["other"].(map[string]any)["command"] != "other-server" {
		t.Errorf("another server was clobbered: %v", servers)
	}
	if cmd, _ := servers["aegis"].(map[string]any)["command"].(string); !filepath.IsAbs(cmd) {
		t.Errorf("the stale aegis entry was not corrected: %v", servers["aegis"])
	}
	settings := readJSON(t, filepath.Join(dir, ".claude/settings.json"))
	perms := settings["permissions"].(map[string]any)
	allow, deny := strList(perms["allow"]), strList(perms["deny"])
	if slices.Contains(allow, "Bash") || !slices.Contains(allow, "mcp__other__tool") || !slices.Contains(allow, "mcp__aegis__aegis_run") {
		t.Errorf("allow: want Bash gone (it is denied now), the user's entry kept, Aegis added: %v", allow)
	}
	if !slices.Contains(deny, "Foo") || !slices.Contains(deny, "Bash") || !slices.Contains(deny, "PowerShell") {
		t.Errorf("deny: %v", deny)
	}
	if settings["model"] != "sonnet" || settings["hooks"] == nil || perms["additionalDirectories"] == nil {
		t.Errorf("the user's other settings must stay: %v", settings)
	}
	// Key order of the user's file is kept: permissions, hooks, model, then ours.
	b, _ := os.ReadFile(filepath.Join(dir, ".claude/settings.json"))
	if p, h, m := strings.Index(string(b), `"permissions"`), strings.Index(string(b), `"hooks"`), strings.Index(string(b), `"model"`); !(p < h && h < m) {
		t.Errorf("the user's key order changed:\n%s", b)
	}
	for _, want := range []string{`- permissions.allow: "Bash" (this configuration puts it in permissions.deny)`, `+ permissions.deny: "PowerShell"`,
		`~ mcpServers.aegis.command: "old-aegis-mcp" -> `, "~/.claude.json: skipped", `key "hooks"`, `permissions.allow entry "mcp__other__tool"`,
		"--allowedTools mcp__aegis__aegis_run,"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	// Hooks in the project: trusting it would run them, so trust is not written.
	if _, err := os.Stat(filepath.Join(home, ".claude.json")); err == nil {
		t.Errorf("a project with hooks must not be marked trusted")
	}
}

func TestHostConfigWriteFollowsPolicyChanges(t *testing.T) {
	withServer(t)
	withExec := hostPolicy + "\n[subprocess]\nallow_commands = [\"go\"]\n"
	dir := project(t, map[string]string{"aegis.toml": withExec, "strict.toml": hostPolicy})
	if code, _, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--write"); code != 0 {
		t.Fatal(errOut)
	}
	perms := readJSON(t, filepath.Join(dir, ".claude/settings.json"))["permissions"].(map[string]any)
	if !slices.Contains(strList(perms["allow"]), "mcp__aegis__aegis_exec") {
		t.Fatalf("exec enabled, so aegis_exec is allowed: %v", perms)
	}
	code, out, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "strict.toml", "--write")
	if code != 0 {
		t.Fatal(errOut)
	}
	perms = readJSON(t, filepath.Join(dir, ".claude/settings.json"))["permissions"].(map[string]any)
	if slices.Contains(strList(perms["allow"]), "mcp__aegis__aegis_exec") || !slices.Contains(strList(perms["deny"]), "mcp__aegis__aegis_exec") {
		t.Errorf("a stale allow must not outlive the policy: %v", perms)
	}
	if !strings.Contains(out, `- permissions.allow: "mcp__aegis__aegis_exec"`) {
		t.Errorf("report: %s", out)
	}
}

func TestHostConfigWriteOpencode(t *testing.T) {
	withServer(t)
	dir := project(t, map[string]string{
		"aegis.toml":    hostPolicy,
		"opencode.json": `{"model": "anthropic/x", "permission": {"bash": "allow", "custom_tool": "ask"}, "mcp": {"other": {"type": "remote", "url": "https://x"}}}`,
	})
	code, out, errOut := aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml", "--write")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cfg := readJSON(t, filepath.Join(dir, "opencode.json"))
	perm := cfg["permission"].(map[string]any)
	if perm["bash"] != "deny" || perm["custom_tool"] != "ask" || perm["aegis_aegis_run"] != "allow" || cfg["model"] != "anthropic/x" {
		t.Errorf("opencode.json: %v", cfg)
	}
	if cfg["mcp"].(map[string]any)["other"] == nil || cfg["mcp"].(map[string]any)["aegis"] == nil {
		t.Errorf("mcp servers: %v", cfg["mcp"])
	}
	if !strings.Contains(out, `~ permission.bash: "allow" -> "deny"`) {
		t.Errorf("report: %s", out)
	}
}

func TestHostConfigWriteRefusesWhatItCannotMerge(t *testing.T) {
	withServer(t)
	dir := project(t, map[string]string{
		"aegis.toml":            hostPolicy,
		".claude/settings.json": "{\n  // a comment\n  \"model\": \"x\"\n}\n",
	})
	code, out, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--write")
	if code != 5 || out != "" || !strings.Contains(errOut, "settings.json is not plain JSON") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Nothing was written, not even the files that could have been.
	if _, err := os.Stat(filepath.Join(dir, ".mcp.json")); err == nil {
		t.Errorf(".mcp.json written although the run failed")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".claude/settings.json")); !strings.Contains(string(b), "// a comment") {
		t.Errorf("the unmergeable file was changed")
	}
}

func TestHostConfigCommand(t *testing.T) {
	withServer(t)
	dir := project(t, map[string]string{"aegis.toml": hostPolicy, "bin/aegis-mcp": "#!/bin/true\n", "bin/not-exec": ""})
	if err := os.Chmod(filepath.Join(dir, "bin/aegis-mcp"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml", "--command", "bin/aegis-mcp")
	if code != 0 || !strings.Contains(out, `"`+dir+`/bin/aegis-mcp"`) {
		t.Errorf("a relative --command must become absolute: exit %d %s %s", code, out, errOut)
	}
	for _, c := range []string{"bin/not-exec", "bin/missing", "no-such-binary"} {
		code, out, errOut = aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml", "--command", c)
		if code == 0 || out != "" || !strings.Contains(errOut, c) {
			t.Errorf("--command %s: exit %d %q %q", c, code, out, errOut)
		}
	}
	t.Setenv("PATH", t.TempDir())
	code, _, errOut = aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml")
	if code != 5 || !strings.Contains(errOut, "cannot find aegis-mcp") || !strings.Contains(errOut, "go install ./cmd/aegis ./cmd/aegis-mcp") {
		t.Errorf("no aegis-mcp anywhere: exit %d %q", code, errOut)
	}
}

func TestHostConfigErrors(t *testing.T) {
	withServer(t)
	dir := project(t, map[string]string{"aegis.toml": hostPolicy, "bad.toml": "version = \"1\"\n[filesystm]\n"})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"host-config", "claude-code"}, "--policy is required"},
		{[]string{"host-config", "claud", "--policy", "aegis.toml"}, `did you mean "claude-code"`},
		{[]string{"host-config", "cursor", "--policy", "aegis.toml", "--confirm", "sometimes"}, "unknown confirm mode"},
		{[]string{"host-config", "cursor", "--policy", "bad.toml"}, "filesystm"},
		{[]string{"host-config", "cursor", "--policy", "missing.toml"}, "missing.toml"},
		{[]string{"host-config", "cursor", "--policy", "aegis.toml", "--write", "--only", ".cursor/mcp.json"}, "cannot be combined"},
	} {
		code, out, errOut := aegis(t, dir, c.args...)
		if code == 0 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a failure mentioning %q", c.args, code, out, errOut, c.want)
		}
	}
}

// aegis_policy's default answer stays under 2 KB for every starter policy
// (the server's instructions send the model there first), and still shows
// the starter's own allow lists whole.
func TestPolicyBriefOfEveryStarter(t *testing.T) {
	for _, lang := range languageNames() {
		s, _ := starterFor(lang)
		dir := project(t, map[string]string{"aegis.toml": s.render("proj")})
		p, err := mcppolicy.LoadPolicy(filepath.Join(dir, "aegis.toml"), "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		summary := mcppolicy.Summary(p)
		brief := mcpserver.PolicyBrief(summary)
		var got struct {
			Capabilities []string
			Rules        map[string][]string
			Omitted      map[string]int
		}
		if err := json.Unmarshal(brief, &got); err != nil || len(brief) > 2048 {
			t.Errorf("%s: %d bytes (limit 2048), %v", lang, len(brief), err)
		}
		full, _ := json.Marshal(summary)
		t.Logf("%s: summary %d bytes, full %d bytes", lang, len(brief), len(full))
		if len(got.Capabilities) == 0 {
			t.Errorf("%s: no capabilities in %s", lang, brief)
		}
		for _, r := range summary.Rules {
			if strings.HasSuffix(r.Key, "_allow") && got.Omitted[r.Key] > 0 {
				t.Errorf("%s: %s abridged although the brief has room: %s", lang, r.Key, brief)
			}
		}
	}
}

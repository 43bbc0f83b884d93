package main

import (
	"encoding/json"
	"io"
	"path/filepath"
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

func TestHostConfig(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": hostPolicy, "src/main.go": "package main\n"})
	code, out, errOut := aegis(t, dir, "host-config", "claude-code", "--policy", "aegis.toml", "--confirm", "auto-deny")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"==> .mcp.json <==", "==> .claude/settings.json <==", dir + "/aegis.toml", `"auto-deny"`,
		`"mcp__aegis__aegis_fs_write"`, `"Bash"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// fs.write needs approval, but auto-deny is an explicit choice: no note.
	if strings.Contains(errOut, "need approval") {
		t.Errorf("unexpected approval note: %q", errOut)
	}
	_, _, errOut = aegis(t, dir, "host-config", "opencode", "--policy", "aegis.toml")
	if !strings.Contains(errOut, "fs.write need approval") {
		t.Errorf("elicit mode should warn that approvals depend on the host: %q", errOut)
	}
}

func TestHostConfigJSON(t *testing.T) {
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

func TestHostConfigErrors(t *testing.T) {
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
		p, err := mcppolicy.LoadPolicy(filepath.Join(dir, "aegis.toml"), "", io.Discard)
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

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const transcriptProject = `[filesystem]
local_only_read = ["vault/**"]
write_allow = ["vault/**"]

[environment]
local_only_vars = ["CLI_SECRET"]

[runtime]
transcript = "vault/transcript.jsonl"

[declassify]
"env:CLI_SECRET" = ["is_set", "equals_sha256"]
`

// A run prints the redacted line and the note; aegis transcript shows the
// real lines, terminal-safe, and --json and --tail work.
func TestTranscriptCommand(t *testing.T) {
	dir := project(t, map[string]string{
		"aegis.toml": transcriptProject,
		"t.star":     "k = env.read(\"CLI_SECRET\")\nprint(\"key:\", k)\nif k.startswith(\"s3\"):\n    print(\"starts s3\\x1b[2J\")\nprint(declassify.is_set(env=\"CLI_SECRET\"))\n",
	})
	t.Setenv("CLI_SECRET", "s3cr3t-value")
	code, out, errOut := aegis(t, dir, "run", "--policy", "aegis.toml", "t.star")
	if code != 0 || !strings.HasPrefix(out, "key: [REDACTED]\nTrue\n[aegis: this run read local-only data") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("run: %d %q %q", code, out, errOut)
	}
	aegis(t, dir, "run", "--policy", "aegis.toml", "t.star")
	code, out, errOut = aegis(t, dir, "transcript", "--policy", "aegis.toml")
	if code != 0 || strings.Count(out, "== run ") != 2 || !strings.Contains(out, "t.star:2:6:  key: s3cr3t-value") ||
		!strings.Contains(out, `starts s3\x1b[2J`) || strings.Contains(out, "\x1b") {
		t.Errorf("transcript: %d %q %q", code, out, errOut)
	}
	code, out, _ = aegis(t, dir, "transcript", "--policy", "aegis.toml", "--tail", "1", "--json")
	var res transcriptResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Runs) != 1 || len(res.Runs[0].Lines) != 3 ||
		res.Runs[0].Lines[0].Text != "key: s3cr3t-value" {
		t.Errorf("--json: %d %s", code, out)
	}
	// A policy without a transcript says how to set one.
	dir2 := project(t, map[string]string{"aegis.toml": "[environment]\nallow_vars = [\"HOME\"]\n"})
	code, _, errOut = aegis(t, dir2, "transcript", "--policy", "aegis.toml")
	if code != exitConfig || !strings.Contains(errOut, "transcript = ") || !strings.Contains(errOut, "[runtime]") {
		t.Errorf("no transcript: %d %q", code, errOut)
	}
	code, out, _ = aegis(t, dir2, "transcript", "--policy", "aegis.toml", "--json")
	if obj := oneObject(t, out); code != exitConfig || obj["ok"] != false || !strings.Contains(obj["error"].(string), "transcript = ") {
		t.Errorf("no transcript, --json: %d %s", code, out)
	}
}

func TestPolicyExplainAndShowDeclassify(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": transcriptProject})
	code, out, _ := aegis(t, dir, "policy", "explain", "--policy", "aegis.toml", "declassify.is_set", "env:CLI_SECRET")
	if code != 0 || !strings.Contains(out, "ALLOWED") || !strings.Contains(out, `[declassify]."env:CLI_SECRET" "is_set"`) || !strings.Contains(out, "charge: 1 bits") {
		t.Errorf("explain allowed: %d %s", code, out)
	}
	code, out, _ = aegis(t, dir, "policy", "explain", "--policy", "aegis.toml", "declassify.count", "env:CLI_SECRET")
	if code != exitDenied || !strings.Contains(out, `add "count" to [declassify]."env:CLI_SECRET"`) {
		t.Errorf("explain denied: %d %s", code, out)
	}
	code, _, errOut := aegis(t, dir, "policy", "explain", "--policy", "aegis.toml", "declassify.is_sett", "env:CLI_SECRET")
	if code != exitConfig || !strings.Contains(errOut, "declassify.is_set") {
		t.Errorf("explain unknown kind: %d %s", code, errOut)
	}
	code, out, _ = aegis(t, dir, "policy", "show", "aegis.toml")
	if code != 0 || !strings.Contains(out, `"env:CLI_SECRET" equals_sha256`) || !strings.Contains(out, "[runtime].transcript = "+dir+"/vault/transcript.jsonl") {
		t.Errorf("show: %d %s", code, out)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command with --json prints exactly one JSON object on every exit,
// errors included, opening with ok, exit_code and exit_kind (jsonout.go).
func TestJSONOnEveryExitPath(t *testing.T) {
	dir := project(t, map[string]string{
		"aegis.toml":   samplePolicy,
		"bad.toml":     "inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"src/**\"]\ndenny = [\"x\"]\n",
		"src/main.go":  "package main\n",
		"ok.star":      "print('hi')\n",
		"denied.star":  "fs.read('/etc/shadow')\n",
		"broken.jsonl": "{\"seq\":1,\"prev\":\"0\",\"hash\":\"x\"}\n",
	})
	t.Setenv("HOME", t.TempDir())
	for _, c := range []struct {
		args  []string
		code  int
		kind  string
		field string // a command field that must be there too
	}{
		{[]string{"run", "--json", "ok.star"}, 0, "ok", `"stdout": "hi\n"`},
		{[]string{"run", "--json", "denied.star"}, 2, "policy_denied", `"calls"`},
		{[]string{"run", "--json", "--policy", "missing.toml", "ok.star"}, 5, "io_error", `"stdout": ""`},
		{[]string{"run", "--json", "--policy", "bad.toml", "ok.star"}, 5, "io_error", `"problems"`},
		{[]string{"run", "--json", "missing.star"}, 5, "io_error", `"calls": 0`},
		{[]string{"run", "--json", "--bogus", "ok.star"}, 5, "usage_error", ""},
		{[]string{"run", "--json"}, 5, "usage_error", ""},
		{[]string{"policy", "validate", "--json"}, 0, "ok", `"valid": true`},
		{[]string{"policy", "validate", "--json", "bad.toml"}, 5, "io_error", `"problems"`},
		{[]string{"policy", "validate", "--json", "missing.toml"}, 5, "io_error", `"valid": false`},
		{[]string{"policy", "show", "--json"}, 0, "ok", `"lists"`},
		{[]string{"policy", "show", "--json", "bad.toml"}, 5, "io_error", `"problems"`},
		{[]string{"policy", "explain", "--json", "fs.read", "src/main.go"}, 0, "ok", `"allowed": true`},
		{[]string{"policy", "explain", "--json", "fs.read", "/etc/shadow"}, 2, "policy_denied", `"allowed": false`},
		{[]string{"policy", "explain", "--json", "fs.raed", "x"}, 5, "usage_error", ""},
		{[]string{"policy", "explain", "--json", "--policy", "bad.toml", "fs.read", "x"}, 5, "io_error", `"problems"`},
		{[]string{"policy", "explain", "fs.read", "x", "--json"}, 5, "usage_error", ""},
		{[]string{"audit", "verify", "--json", "missing.jsonl"}, 5, "io_error", ""},
		{[]string{"audit", "verify", "--json", "broken.jsonl"}, 1, "check_failed", `"problems"`},
		{[]string{"audit", "show", "--json", "--kind", "bogus", "broken.jsonl"}, 5, "usage_error", ""},
		{[]string{"audit", "show", "--json", "missing.jsonl"}, 5, "io_error", ""},
		{[]string{"audit", "tail", "--json", "-f", "broken.jsonl"}, 5, "usage_error", ""},
		{[]string{"version", "--json"}, 0, "ok", `"go_version"`},
		{[]string{"version", "--json", "extra"}, 5, "usage_error", ""},
		{[]string{"doctor", "--json", "--policy", "bad.toml"}, 1, "check_failed", `"checks"`},
		{[]string{"probe", "--json", "--via", "nowhere"}, 5, "io_error", ""},
		{[]string{"probe", "--json", "--list"}, 0, "ok", `"scripts"`},
		{[]string{"host-config", "--json", "claude-code", "--policy", "missing.toml"}, 5, "io_error", ""},
	} {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			code, out, errOut := aegis(t, dir, c.args...)
			obj := oneObject(t, out)
			if code != c.code || obj["exit_code"] != float64(code) || obj["exit_kind"] != c.kind || obj["ok"] != (code == 0) {
				t.Errorf("exit %d (want %d); object says ok=%v exit_code=%v exit_kind=%v (want %s)\n%s\n%s",
					code, c.code, obj["ok"], obj["exit_code"], obj["exit_kind"], c.kind, out, errOut)
			}
			if msg, _ := obj["error"].(string); (code != 0) != (msg != "") {
				t.Errorf("error %q with exit %d", msg, code)
			}
			if c.field != "" && !strings.Contains(out, c.field) {
				t.Errorf("the object lacks %s:\n%s", c.field, out)
			}
		})
	}
}

// oneObject decodes stdout as exactly one JSON object.
func oneObject(t *testing.T, out string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("stdout is not a JSON object (%v):\n%s", err, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	return obj
}

// The common fields come first and are never duplicated.
func TestJSONEnvelopeOrderAndUniqueness(t *testing.T) {
	var buf bytes.Buffer
	body := struct {
		ExitCode int    `json:"exit_code"`
		Name     string `json:"name"`
	}{3, "x"}
	if err := writeObject(&buf, body, outcome{code: 3, kind: "verifier_rejected", err: "no"}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(buf.String()), " ")
	want := `{ "ok": false, "exit_kind": "verifier_rejected", "error": "no", "exit_code": 3, "name": "x" }`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A run's --json object is also the audit-free record of a run that never
// started: the schema of runner.Result with ok in front.
func TestRunJSONBeforeTheScript(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy})
	t.Setenv("HOME", t.TempDir())
	_, out, _ := aegis(t, dir, "run", "--json", filepath.Join(dir, "nope.star"))
	obj := oneObject(t, out)
	for _, k := range []string{"ok", "exit_code", "exit_kind", "error", "stdout", "calls"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("missing %q: %s", k, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".aegis")); err == nil {
		t.Errorf("a run that never started touched the audit log")
	}
}

package mcpserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

func TestRunResults(t *testing.T) {
	cases := []struct {
		name, script string
		kind         string
		code         float64
		textHas      []string
	}{
		{"ok", `print("hello")`, "ok", 0, []string{"hello\n"}},
		{"script error keeps earlier output", "print(\"before\")\nfail(\"boom\")", "script_error", 1, []string{"before\n", "script_error (exit 1)", "boom"}},
		{"policy denial says how to allow", `deny("fs.read", "/etc/shadow")`, "policy_denied", 2, []string{"fs.read", "/etc/shadow", "to allow it"}},
		{"flow denial", "flow()", "flow_denied", 7, []string{"flow denied"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := startWire(t, mcpserver.Options{})
			w.initialize("2025-11-25", nil)
			res := w.callTool(1, "aegis_run", map[string]any{"script": c.script})
			if res.IsError != (c.kind != "ok") {
				t.Errorf("isError = %v for %s", res.IsError, c.kind)
			}
			for _, want := range c.textHas {
				if !strings.Contains(res.text(), want) {
					t.Errorf("text %q lacks %q", res.text(), want)
				}
			}
			sc := res.StructuredContent
			if sc["exit_kind"] != c.kind || sc["exit_code"] != c.code {
				t.Errorf("structuredContent = %v, want exit %s/%v", sc, c.kind, c.code)
			}
			for _, k := range []string{"stdout", "error"} {
				if _, ok := sc[k].(string); !ok {
					t.Errorf("structuredContent.%s missing: %v", k, sc)
				}
			}
			if (sc["error"] == "") != (c.kind == "ok") {
				t.Errorf("error field %q does not match exit kind %s", sc["error"], c.kind)
			}
			if res.Meta["dev.aegis/exit_kind"] != c.kind {
				t.Errorf("_meta tag = %v", res.Meta)
			}
		})
	}
}

func TestTaskID(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	w.callTool(1, "aegis_run", map[string]any{"script": `print("a")`, "task_id": "build-42"})
	w.callTool(2, "aegis_run", map[string]any{"script": `print("b")`})
	runs := w.backend.Runs()
	if len(runs) != 2 || runs[0].TaskID != "build-42" || !strings.HasPrefix(runs[1].TaskID, "mcp-") {
		t.Fatalf("task ids: %+v", runs)
	}
	if runs[0].Confirm == nil || runs[0].Filename != "aegis_run.star" {
		t.Errorf("run request lacks Confirm or Filename: %+v", runs[0])
	}
}

func TestLocalOnlyValuesComeBackRedacted(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	for i, c := range []struct {
		tool string
		args map[string]any
	}{
		{"aegis_fs_read", map[string]any{"path": "secrets/key"}},
		{"aegis_run", map[string]any{"script": "print(secret())"}},
	} {
		res := w.callTool(i, c.tool, c.args)
		if res.IsError || !strings.Contains(res.text(), "[REDACTED]") {
			t.Errorf("%s: want [REDACTED], got %+v", c.tool, res)
		}
	}
	if strings.Contains(w.allOutput(), "sk-live") || strings.Contains(w.logs.String(), "sk-live") {
		t.Fatalf("a local-only value reached stdout or the log")
	}
}

func TestWrappersPassArgumentsAsInputsNotCode(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	hostile := `README.md"); fail("pwned`
	res := w.callTool(1, "aegis_fs_read", map[string]any{"path": hostile})
	if !res.IsError || res.StructuredContent["exit_kind"] != "io_error" {
		t.Errorf("a path that looks like code must be just a missing file: %+v", res)
	}
	res = w.callTool(2, "aegis_fs_read", map[string]any{"path": "README.md"})
	if res.text() != "hello\nworld\n" {
		t.Errorf("fs_read must return the file's bytes exactly, got %q", res.text())
	}
	argv := []any{"echo", "a b", `c"d`, "$(rm -rf /)"}
	res = w.callTool(3, "aegis_exec", map[string]any{"argv": argv})
	if res.IsError || res.text() != `echo a b c"d $(rm -rf /)` {
		t.Errorf("exec: %+v", res)
	}
	res = w.callTool(4, "aegis_fs_write", map[string]any{"path": "out.txt", "content": "x\ny"})
	if res.IsError || !strings.Contains(res.text(), "wrote 3 bytes to out.txt") {
		t.Errorf("fs_write: %+v", res)
	}
	res = w.callTool(5, "aegis_http_get", map[string]any{"url": "https://example.test/a?b=c"})
	if res.IsError || res.text() != "GET https://example.test/a?b=c headers=" {
		t.Errorf("http_get without headers: %+v", res)
	}
	res = w.callTool(6, "aegis_http_get", map[string]any{"url": "https://example.test/", "headers": map[string]any{"Accept": "text/plain", "X-B": "1"}})
	if res.text() != "GET https://example.test/ headers=Accept,X-B" {
		t.Errorf("http_get with headers: %+v", res)
	}

	runs := w.backend.Runs()
	if len(runs) != 6 {
		t.Fatalf("want 6 runs, got %d", len(runs))
	}
	if runs[0].Inputs["path"] != hostile || strings.Contains(runs[0].Script, "pwned") {
		t.Errorf("the path must arrive as an input, never in the script: %+v", runs[0])
	}
	if runs[0].Script != runs[1].Script {
		t.Errorf("wrapper scripts must be fixed, got %q and %q", runs[0].Script, runs[1].Script)
	}
	var gotArgv []any
	if err := json.Unmarshal([]byte(runs[2].Inputs["argv_json"]), &gotArgv); err != nil || len(gotArgv) != 4 || gotArgv[3] != "$(rm -rf /)" {
		t.Errorf("argv input: %q", runs[2].Inputs["argv_json"])
	}
	if runs[4].Inputs["headers_json"] != "{}" {
		t.Errorf("absent headers must be an empty object, got %q", runs[4].Inputs["headers_json"])
	}
}

func TestWrapperDeniedWhenCapabilityDisabled(t *testing.T) {
	b := mcptest.New()
	b.Summary.Capabilities = []string{"fs.read"}
	w := startWire(t, mcpserver.Options{Backend: b})
	w.initialize("2025-11-25", nil)
	res := w.callTool(1, "aegis_exec", map[string]any{"argv": []any{"ls"}})
	if !res.IsError || res.StructuredContent["exit_kind"] != "policy_denied" || !strings.Contains(res.text(), "to allow it") {
		t.Fatalf("exec under a policy without subprocess.exec: %+v", res)
	}
	r := w.request(2, "tools/list", nil)
	if !strings.Contains(string(r.Result), "Currently disabled: the policy does not enable subprocess.exec") {
		t.Errorf("tools/list should tell the model the wrapper is disabled")
	}
}

func TestSchemaInvalidArgumentsAreToolErrors(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"aegis_run", map[string]any{}, `missing required argument "script"`},
		{"aegis_run", map[string]any{"script": 5}, `"script" must be a string`},
		{"aegis_run", map[string]any{"script": "x", "scirpt": "y"}, `unknown argument "scirpt"`},
		{"aegis_run", map[string]any{"script": "x", "task_id": strings.Repeat("t", 200)}, "the limit is 128"},
		{"aegis_exec", map[string]any{"argv": "ls -la"}, "must be an array of strings"},
		{"aegis_exec", map[string]any{"argv": []any{}}, "at least one element"},
		{"aegis_exec", map[string]any{"argv": []any{"ls", 3}}, "must be an array of strings"},
		{"aegis_http_get", map[string]any{"url": "https://x", "headers": map[string]any{"A": 1}}, "values are strings"},
		{"aegis_explain", map[string]any{"capability": "fs.read", "target": "src/main.go"}, "array of strings"},
		{"aegis_policy", map[string]any{"verbose": true}, `unknown argument "verbose"`},
	}
	for i, c := range cases {
		res := w.callTool(i, c.tool, c.args)
		if !res.IsError || !strings.Contains(res.text(), c.want) {
			t.Errorf("%s %v: want isError mentioning %q, got %+v", c.tool, c.args, c.want, res)
		}
	}
	if n := len(w.backend.Runs()); n != 0 {
		t.Errorf("invalid arguments must not reach the backend; %d runs happened", n)
	}
}

func TestReadOnlyTools(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)

	res := w.callTool(1, "aegis_policy", nil)
	policy := jsonOf(t, res)
	if res.IsError || policy["source"] != "fake.toml" || policy["name"] != "fake" || res.StructuredContent != nil || len(res.Content) != 1 {
		t.Fatalf("aegis_policy: want the summary once, as one JSON text block: %+v", res)
	}
	caps, _ := policy["capabilities"].([]any)
	if len(caps) != 4 || policy["effective"] != nil {
		t.Errorf("aegis_policy summary: %v", policy)
	}
	full := jsonOf(t, w.callTool(11, "aegis_policy", map[string]any{"detail": "full"}))
	if full["effective"] == nil || full["source"] != "fake.toml" {
		t.Errorf("aegis_policy full: want the effective policy: %v", full)
	}
	if res := w.callTool(12, "aegis_policy", map[string]any{"detail": "everything"}); !res.IsError || !strings.Contains(res.text(), `"summary", "full"`) {
		t.Errorf("aegis_policy with a bad detail: %+v", res)
	}

	res = w.callTool(2, "aegis_explain", map[string]any{"capability": "fs.delete", "target": []any{"a.txt"}})
	if ex := jsonOf(t, res); res.IsError || ex["allowed"] != false || ex["hint"] == "" {
		t.Errorf("explain denied: %+v", res)
	}
	res = w.callTool(3, "aegis_explain", map[string]any{"capability": "fs.read", "target": []any{"a.txt"}})
	if jsonOf(t, res)["allowed"] != true {
		t.Errorf("explain allowed: %+v", res)
	}
	res = w.callTool(4, "aegis_explain", map[string]any{"capability": "fs.raed", "target": []any{"a"}})
	if !res.IsError || !strings.Contains(res.text(), "unknown capability") {
		t.Errorf("explain unknown capability: %+v", res)
	}

	res = w.callTool(5, "aegis_tool_routing", map[string]any{})
	tools, _ := jsonOf(t, res)["tools"].([]any)
	if res.IsError || len(tools) != 2 {
		t.Errorf("aegis_tool_routing: %+v", res)
	}
	if n := len(w.backend.Runs()); n != 0 {
		t.Errorf("read-only tools must not run scripts; %d runs happened", n)
	}
}

func TestAnnotationsFollowThePolicy(t *testing.T) {
	annotationsOf := func(caps []string) map[string]map[string]any {
		b := mcptest.New()
		b.Summary.Capabilities = caps
		w := startWire(t, mcpserver.Options{Backend: b})
		w.initialize("2025-11-25", nil)
		r := w.request(1, "tools/list", nil)
		var list struct {
			Tools []struct {
				Name        string         `json:"name"`
				Annotations map[string]any `json:"annotations"`
			}
		}
		if err := json.Unmarshal(r.Result, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]any{}
		for _, tool := range list.Tools {
			out[tool.Name] = tool.Annotations
		}
		return out
	}
	readOnly := annotationsOf([]string{"fs.read"})
	if readOnly["aegis_run"]["readOnlyHint"] != true || readOnly["aegis_run"]["destructiveHint"] != false || readOnly["aegis_run"]["openWorldHint"] != false {
		t.Errorf("aegis_run under a read-only policy: %v", readOnly["aegis_run"])
	}
	full := annotationsOf([]string{"fs.read", "fs.write", "subprocess.exec", "net.http_get"})
	if full["aegis_run"]["readOnlyHint"] != false || full["aegis_run"]["destructiveHint"] != true || full["aegis_run"]["openWorldHint"] != true {
		t.Errorf("aegis_run under a writing, networked policy: %v", full["aegis_run"])
	}
	for _, name := range []string{"aegis_policy", "aegis_explain", "aegis_tool_routing", "aegis_fs_read"} {
		if full[name]["readOnlyHint"] != true || full[name]["destructiveHint"] != false {
			t.Errorf("%s must be read-only: %v", name, full[name])
		}
	}
	if full["aegis_fs_write"]["destructiveHint"] != true || full["aegis_exec"]["openWorldHint"] != true {
		t.Errorf("effecting wrappers: write %v exec %v", full["aegis_fs_write"], full["aegis_exec"])
	}
	// A wrapper makes one call: repeating a read, a write of the same
	// content or a GET changes nothing more; repeating a command may.
	for name, want := range map[string]bool{"aegis_fs_read": true, "aegis_fs_write": true, "aegis_http_get": true, "aegis_exec": false} {
		if full[name]["idempotentHint"] != want {
			t.Errorf("%s: idempotentHint %v, want %v", name, full[name]["idempotentHint"], want)
		}
	}
	// Each capability alone, as MCP defines the hints: readOnly when it
	// changes nothing, destructive when it may replace or remove what is
	// there (a PUT, a DELETE, a write, a command) rather than only add to
	// it (a POST, a PATCH), openWorld when it reaches beyond the project.
	for _, c := range []struct {
		capability                       string
		readOnly, destructive, openWorld bool
	}{
		{"fs.read", true, false, false}, {"fs.list", true, false, false}, {"fs.exists", true, false, false},
		{"fs.write", false, true, false}, {"fs.delete", false, true, false},
		{"net.http_get", true, false, true}, {"net.http_post", false, false, true}, {"net.http_patch", false, false, true},
		{"net.http_put", false, true, true}, {"net.http_delete", false, true, true},
		{"env.read", true, false, false}, {"subprocess.exec", false, true, true},
	} {
		a := annotationsOf([]string{c.capability})["aegis_run"]
		if a["readOnlyHint"] != c.readOnly || a["destructiveHint"] != c.destructive || a["openWorldHint"] != c.openWorld {
			t.Errorf("aegis_run with %s alone: %v; want readOnly %v, destructive %v, openWorld %v", c.capability, a, c.readOnly, c.destructive, c.openWorld)
		}
	}
}

// jsonOf decodes a read-only tool's one JSON text block.
func jsonOf(t *testing.T, res toolResult) map[string]any {
	t.Helper()
	var m map[string]any
	if len(res.Content) != 1 || json.Unmarshal([]byte(res.Content[0].Text), &m) != nil {
		t.Fatalf("want one JSON text block, got %+v", res)
	}
	return m
}

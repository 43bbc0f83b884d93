package hosts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	exfilprobes "github.com/aegisdev/aegis/exfil-probes"
)

// The real-host check: each host runs twice against the fake model, with
// two different local-only secrets, in a project wired by
// `aegis host-config HOST --write` and nothing else. The fake model calls
// aegis_policy and then aegis_run with the scripts below. Whatever the host
// sends back is what a cloud model would see; it must carry the public
// results and clear denials, never a secret or any transform of it, and it
// must not depend on which secret was on disk.

// hostTimeout bounds one host run; a healthy run takes seconds (Claude
// Code) to half a minute (opencode).
const hostTimeout = 4 * time.Minute

// The project: a public file, a local-only key, a file the policy does not
// let scripts read.
const policyTOML = `version = "1"
inherits = "secure-defaults"
name = "interop-hosts"

[filesystem]
read_allow = ["public.txt", "private/**", "out/**"]
local_only_read = ["private/**"]
write_allow = ["out/**"]
`

const publicText = "hello public world"

// steps are the aegis_run scripts, in order.
var steps = []struct {
	name, script string
}{
	{"read", `print("public: " + fs.read("public.txt").strip())
key = fs.read("private/key")
print("key:", key)
print("hex:", hex.encode(key))
print("base64:", base64.encode(key))
print("reversed:", key[::-1])
print("length:", len(key))
print("sha256:", sha256(key))
`},
	{"flow", `fs.write("out/copy.txt", fs.read("private/key"))
`},
	{"denied", `print(fs.read("notes.txt"))
`},
	{"implicit", `key = fs.read("private/key")
if key.startswith("sk"):
    print("the key starts with sk")
else:
    print("the key does not start with sk")
`},
}

// host describes how to run one agent host headless.
type host struct {
	name     string   // as `aegis host-config` names it
	bin      string   // under node_modules/.bin
	builtins []string // its own effecting tools, which the model must not be offered
	// setup configures the host's model (not Aegis): the fake model's URL.
	setup func(t *testing.T, home, url string)
	// command is the host's headless invocation.
	command func(bin, prompt string) []string
	// env is the host's environment besides HOME and PATH.
	env func(url string) []string
}

var claudeCode = host{
	name: "claude-code",
	bin:  "claude",
	builtins: []string{"Bash", "PowerShell", "Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep",
		"WebFetch", "WebSearch", "EnterWorktree", "ExitWorktree"},
	setup: func(*testing.T, string, string) {},
	command: func(bin, prompt string) []string {
		return []string{bin, "-p", prompt, "--output-format", "stream-json", "--verbose", "--no-session-persistence"}
	},
	env: func(url string) []string {
		return []string{"ANTHROPIC_BASE_URL=" + url, "ANTHROPIC_API_KEY=sk-ant-fake-for-tests",
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1"}
	},
}

var opencode = host{
	name:     "opencode",
	bin:      "opencode",
	builtins: []string{"bash", "read", "edit", "write", "patch", "apply_patch", "glob", "grep", "list", "lsp", "webfetch", "websearch", "codesearch"},
	setup: func(t *testing.T, home, url string) {
		cfg := map[string]any{
			"provider": map[string]any{"anthropic": map[string]any{"options": map[string]any{"baseURL": url + "/v1", "apiKey": "fake-for-tests"}}},
			"model":    "anthropic/claude-sonnet-4-5", "autoupdate": false, "share": "disabled",
		}
		writeJSONFile(t, filepath.Join(home, ".config", "opencode", "opencode.json"), cfg)
	},
	command: func(bin, prompt string) []string {
		return []string{bin, "run", "--pure", "--format", "json", prompt}
	},
	env: func(string) []string {
		// Offline npm: opencode would otherwise try to install plugins.
		return []string{"npm_config_offline=true", "OPENCODE_DISABLE_AUTOUPDATE=1", "OPENCODE_DISABLE_MODELS_FETCH=1"}
	},
}

func TestClaudeCode(t *testing.T) { t.Parallel(); testHost(t, claudeCode) }
func TestOpencode(t *testing.T)   { t.Parallel(); testHost(t, opencode) }

// binDir holds aegis and aegis-mcp built from this tree, side by side as
// `go install` leaves them.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aegis-hosts-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/aegis", "./cmd/aegis-mcp")
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build aegis and aegis-mcp: %v\n", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hostBinary finds the host installed by `npm install` in this directory.
// A missing host fails the test: this suite exists to run the real thing.
func hostBinary(t *testing.T, h host) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("node_modules", ".bin", h.bin))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is not installed (%v): run `npm install` in interop/hosts (it installs the pinned versions of package.json); .ci/run does this", h.name, err)
	return ""
}

// run is one host run: what the host sent the model, and its logs.
type run struct {
	secret   exfilprobes.Secret
	requests []Request
	results  []ToolResult // the tool_results of the last request, oldest first
	tools    []string     // the tools of the first request that offered aegis_run
	report   string       // what host-config --write printed
	logs     string
}

func testHost(t *testing.T, h host) {
	bin := hostBinary(t, h)
	base := t.TempDir()
	secrets := exfilprobes.Secrets()[:2]
	var runs []run
	for _, s := range secrets {
		r := runHost(t, h, bin, base, s)
		runs = append(runs, r)
		if t.Failed() {
			t.Logf("host-config --write:\n%s\nhost output:\n%s", r.report, r.logs)
			return
		}
	}
	for _, r := range runs {
		checkRun(t, h, r)
	}
	// No request of any run carries any transform of any secret.
	for _, r := range runs {
		for _, s := range secrets {
			for i, req := range r.requests {
				if leak := findSecret(req.Body, s); leak != "" {
					t.Errorf("%s run with %s: request %d to the model carries %s", h.name, r.secret.ID, i, leak)
				}
			}
		}
	}
	// The two runs differ only in the secret, which must not show: the
	// model sees the same tool results, and the same requests once the
	// host's own ids and clocks are normalised.
	a, b := runs[0], runs[1]
	for i := range min(len(a.results), len(b.results)) {
		if a.results[i].Text != b.results[i].Text || a.results[i].IsError != b.results[i].IsError {
			t.Errorf("%s: tool result %d depends on the secret:\n%s: %q\n%s: %q", h.name, i, a.secret.ID, a.results[i].Text, b.secret.ID, b.results[i].Text)
		}
	}
	// The whole conversation of the last request of each run, without what
	// the host decides by timing alone (which of its tools are loaded yet,
	// ToolSearch round trips, ids, clocks).
	ca, cb := canonical(last(a.requests)), canonical(last(b.requests))
	if ca != cb {
		t.Errorf("%s: the conversations differ between the runs: %s", h.name, firstDifference(ca, cb))
	}
}

func last(reqs []Request) []byte {
	for i := len(reqs) - 1; i >= 0; i-- {
		if Decode(reqs[i].Body).HasTools {
			return reqs[i].Body
		}
	}
	return nil
}

func runHost(t *testing.T, h host, bin, base string, s exfilprobes.Secret) run {
	t.Helper()
	// The same paths in both runs, so nothing but the secret differs.
	proj, home := filepath.Join(base, "project"), filepath.Join(base, "home")
	for _, d := range []string{proj, home} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(proj, "aegis.toml"), policyTOML)
	writeFile(t, filepath.Join(proj, "public.txt"), publicText+"\n")
	writeFile(t, filepath.Join(proj, "notes.txt"), "not for scripts\n")
	writeFile(t, filepath.Join(proj, "private", "key"), s.Value)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=dumb"}

	// The wiring, exactly as a user would write it.
	cfg := exec.Command(filepath.Join(binDir, "aegis"), "host-config", h.name, "--policy", "aegis.toml", "--write")
	cfg.Dir, cfg.Env = proj, env
	out, err := cfg.CombinedOutput()
	r := run{secret: s, report: string(out)}
	if err != nil {
		t.Fatalf("aegis host-config %s --write: %v\n%s", h.name, err, out)
	}

	model, err := StartFakeModel(script)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	h.setup(t, home, model.URL)

	ctx, cancel := context.WithTimeout(context.Background(), hostTimeout)
	defer cancel()
	argv := h.command(bin, "Use the aegis tools to look at this project.")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = proj, append(env, h.env(model.URL)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err = cmd.Run()
	var at []string
	for _, req := range model.Requests() {
		at = append(at, req.At.Sub(start).Round(100*time.Millisecond).String())
	}
	t.Logf("%s with %s: %s, model requests at %s", h.name, s.ID, time.Since(start).Round(100*time.Millisecond), strings.Join(at, " "))
	r.logs = logs.String()
	r.requests = model.Requests()
	if err != nil {
		t.Errorf("%s exited with %v", h.name, err)
	}
	// The last request that offered tools holds the whole conversation.
	for _, req := range r.requests {
		c := Decode(req.Body)
		if !c.HasTools {
			continue
		}
		if r.tools == nil && runTool(c.Tools) != "" {
			r.tools = c.Tools
		}
		var ours []ToolResult
		for _, tr := range c.ToolResults {
			if strings.HasPrefix(tr.ID, "toolu_aegis_") {
				ours = append(ours, tr)
			}
		}
		if len(ours) >= len(r.results) {
			r.results = ours
		}
	}
	return r
}

// script is the fake model: aegis_policy, then each step through
// aegis_run, then a final answer. Claude Code may list MCP tools only by
// name until ToolSearch loads them.
func script(c Conversation) Turn {
	done, searches := 0, 0
	for _, r := range c.ToolResults {
		switch {
		case strings.HasPrefix(r.ID, "toolu_aegis_"):
			done++
		case strings.HasPrefix(r.ID, "toolu_search_"):
			searches++
		}
	}
	run, policy := runTool(c.Tools), ""
	for _, name := range c.Tools {
		if strings.HasSuffix(name, "aegis_policy") {
			policy = name
		}
	}
	if run == "" || policy == "" {
		// The MCP server may still be connecting (slowly, on a loaded
		// machine): search again, a second apart, for up to a minute.
		if slices.Contains(c.Tools, "ToolSearch") && searches < 60 {
			var wait time.Duration
			if searches > 0 {
				wait = time.Second
			}
			return Turn{Tool: "ToolSearch", ID: fmt.Sprintf("toolu_search_%d", searches), Delay: wait,
				Input: map[string]any{"query": "select:mcp__aegis__aegis_run,mcp__aegis__aegis_policy", "max_results": 5}}
		}
		return Turn{Text: "the Aegis tools never appeared"}
	}
	switch {
	case done == 0:
		return Turn{Tool: policy, ID: "toolu_aegis_0", Input: map[string]any{}}
	case done <= len(steps):
		st := steps[done-1]
		return Turn{Tool: run, ID: fmt.Sprintf("toolu_aegis_%d", done), Input: map[string]any{"script": st.script, "task_id": "interop-" + st.name}}
	}
	return Turn{Text: "done"}
}

func runTool(tools []string) string {
	for _, name := range tools {
		if strings.HasSuffix(name, "aegis_run") {
			return name
		}
	}
	return ""
}

func checkRun(t *testing.T, h host, r run) {
	t.Helper()
	id := h.name + " with " + r.secret.ID
	if len(r.results) != len(steps)+1 {
		t.Fatalf("%s: the model got %d Aegis tool results, want %d (aegis_policy and %d scripts)\nhost output:\n%s",
			id, len(r.results), len(steps)+1, len(steps), r.logs)
	}
	for _, b := range h.builtins {
		if slices.Contains(r.tools, b) {
			t.Errorf("%s: the model was offered the host's own %s, which bypasses the policy", id, b)
		}
	}
	policy := r.results[0]
	if policy.IsError || len(policy.Text) > 2048 || !strings.Contains(policy.Text, `"interop-hosts"`) || !strings.Contains(policy.Text, "public.txt") {
		t.Errorf("%s: aegis_policy: want the summary, under 2 KB, once; got %d bytes: %.300s", id, len(policy.Text), policy.Text)
	}
	byStep := map[string]ToolResult{}
	for i, st := range steps {
		byStep[st.name] = r.results[i+1]
	}
	read := byStep["read"]
	if read.IsError || !strings.Contains(read.Text, "public: "+publicText) || !strings.Contains(read.Text, "key: [REDACTED]") ||
		!strings.Contains(read.Text, "hex: [REDACTED]") {
		t.Errorf("%s: the public result must reach the model and the key only as [REDACTED]: %q", id, read.Text)
	}
	for name, want := range map[string][]string{
		"flow":     {"flow_denied", "fs.write", "local-only zone"},
		"denied":   {"policy_denied", "notes.txt", "read_allow"},
		"implicit": {"flow_denied"},
	} {
		res := byStep[name]
		for _, w := range want {
			if !res.IsError || !strings.Contains(res.Text, w) {
				t.Errorf("%s: step %s: want an error result naming %q, got %q", id, name, w, res.Text)
			}
		}
	}
}

// findSecret reports the first transform of s in body, searched in the
// raw bytes and in every JSON string decoded (so escapes cannot hide one).
func findSecret(body []byte, s exfilprobes.Secret) string {
	texts := []string{string(body)}
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		texts = append(texts, strings.Join(jsonStrings(doc, nil), "\n"))
	}
	patterns := exfilprobes.PatternsFor(s.ID, s.Value)
	// The scripts print sha256(key) too.
	sum := sha256.Sum256([]byte(s.Value))
	patterns = append(patterns, exfilprobes.Pattern{Name: "sha256(" + s.ID + ")", Value: hex.EncodeToString(sum[:])})
	for _, p := range patterns {
		for _, text := range texts {
			if strings.Contains(text, p.Value) {
				return p.Name
			}
		}
	}
	return ""
}

func jsonStrings(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
		// Tool results often carry JSON inside a string (Claude Code hands
		// the model structuredContent as text).
		var inner any
		if json.Unmarshal([]byte(x), &inner) == nil {
			out = jsonStrings(inner, out)
		}
	case map[string]any:
		for k, e := range x {
			out = jsonStrings(e, append(out, k))
		}
	case []any:
		for _, e := range x {
			out = jsonStrings(e, out)
		}
	}
	return out
}

// Host-generated identifiers and clocks, which differ between any two runs.
var noise = []*regexp.Regexp{
	regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`), // UUIDs
	regexp.MustCompile(`\b(ses|msg|prt|call|toolu)_[0-9A-Za-z]{10,}`),                                 // opencode and API ids
	regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?`),                               // timestamps
	regexp.MustCompile(`\b1[6-9]\d{11}\b`),                                                            // epoch milliseconds
}

// Paragraphs a host writes about its own state, which depend on timing
// (Claude Code lists the tools ToolSearch can load, the MCP servers still
// connecting, and the skills it has loaded so far, as of each request).
// Aegis never writes these words, so a paragraph holding one is the host's.
var hostState = []string{"deferred tool", "toolsearch", "still connecting", "skills are available", "skill tool", "this skill"}

// canonical renders a Messages API request for comparison: the host's
// metadata (device and session ids) dropped, ToolSearch calls and results
// dropped, host-state paragraphs dropped, ids and clocks normalised, keys
// sorted. Everything Aegis sent (tool definitions, instructions, results)
// stays.
func canonical(body []byte) string {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return string(body)
	}
	delete(doc, "metadata")
	if msgs, ok := doc["messages"].([]any); ok {
		var kept []any
		for _, m := range msgs {
			msg, _ := m.(map[string]any)
			blocks, isList := msg["content"].([]any)
			if !isList {
				kept = append(kept, m)
				continue
			}
			var keep []any
			for _, b := range blocks {
				blk, _ := b.(map[string]any)
				id, _ := blk["id"].(string)
				useID, _ := blk["tool_use_id"].(string)
				if strings.HasPrefix(id, "toolu_search_") || strings.HasPrefix(useID, "toolu_search_") {
					continue
				}
				keep = append(keep, b)
			}
			if len(keep) > 0 {
				msg["content"] = keep
				kept = append(kept, msg)
			}
		}
		doc["messages"] = kept
	}
	out, _ := json.Marshal(normalizeStrings(doc))
	return string(out)
}

func normalizeStrings(v any) any {
	switch x := v.(type) {
	case string:
		var paras []string
		for _, p := range strings.Split(x, "\n\n") {
			state := false
			for _, h := range hostState {
				state = state || strings.Contains(strings.ToLower(p), h)
			}
			if !state {
				paras = append(paras, p)
			}
		}
		s := strings.Join(paras, "\n\n")
		for _, re := range noise {
			s = re.ReplaceAllString(s, "<noise>")
		}
		return s
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeStrings(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeStrings(e)
		}
	}
	return v
}

func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n  %q\n  %q", i, a[from:min(len(a), i+400)], b[from:min(len(b), i+400)])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}

package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadProblems loads src and returns its problems; it fails the test if the
// policy loads.
func loadProblems(t *testing.T, w *world, src string) []Problem {
	t.Helper()
	_, err := w.load(src)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LoadError, got %v", err)
	}
	return le.Problems
}

func TestStrictLoaderReportsEveryProblemWithLineAndSuggestion(t *testing.T) {
	cases := []struct {
		name string
		src  string
		line int
		key  string
		want []string // substrings of Problem.String()
	}{
		{"misspelled deny list", "[filesystem]\nread_allow = [\"src/**\"]\ndenny = [\"**/.env\"]\n", 3, "denny",
			[]string{`unknown key "denny" in [filesystem]`, `did you mean "deny"?`}},
		{"unknown section", "[filesystm]\nread_allow = []\n", 1, "filesystm",
			[]string{`unknown key "filesystm" at the top level`, `did you mean "filesystem"?`}},
		{"top-level key after a header", "[subprocess]\nallow_commands = [\"git\"]\nrequires_approval = [\"fs.delete\"]\n", 3, "requires_approval",
			[]string{"requires_approval is a top-level key: move it above the first [section] header"}},
		{"key in the wrong section", "[network]\nallow_vars = [\"HOME\"]\n", 2, "allow_vars",
			[]string{"allow_vars belongs in [environment]"}},
		{"wrong type", "[filesystem]\nread_allow = \"src/**\"\n", 2, "[filesystem].read_allow",
			[]string{"must be an array of strings, not a string", `read_allow = ["..."]`}},
		{"wrong element type", "[filesystem]\nread_allow = [\"a\", 3]\n", 2, "[filesystem].read_allow",
			[]string{"element 2 must be a string, not an integer"}},
		{"bad glob", "[filesystem]\nread_allow = [\n  \"src/**\",\n  \"src/[a\",\n]\n", 4, "[filesystem].read_allow",
			[]string{`"src/[a": not a valid glob`}},
		{"dotdot in pattern", "[filesystem]\nread_allow = [\"../other/**\"]\n", 2, "[filesystem].read_allow",
			[]string{`may not contain ".."`}},
		{"bad CIDR", "[network]\ndeny_ips = [\"10.0.0.0/33\"]\n", 2, "[network].deny_ips", []string{"not a CIDR"}},
		{"bad IP", "[network]\ndeny_ips = [\"10.0.0.300\"]\n", 2, "[network].deny_ips", []string{"not an IP address"}},
		{"host with scheme", "[network]\nhttp_get_allow = [\"https://api.github.com\"]\n", 2, "[network].http_get_allow",
			[]string{"no scheme", "api.github.com"}},
		{"host with port", "[network]\nhttp_get_allow = [\"localhost:8080\"]\n", 2, "[network].http_get_allow", []string{"no port"}},
		{"non-ASCII host", "[network]\nhttp_get_allow = [\"bücher.de\"]\n", 2, "[network].http_get_allow", []string{"punycode"}},
		{"major version", "version = \"2.0\"\n", 1, "version", []string{"format 1.x", `"2.0"`}},
		{"version not a string", "version = 1\n", 1, "version", []string{"must be a string", `version = "1"`}},
		{"unknown preset", "inherits = \"secure-default\"\n", 1, "inherits", []string{`unknown preset "secure-default"`, `did you mean "secure-defaults"?`}},
		{"unknown capability", "requires_approval = [\"subproces.exec\"]\n", 1, "requires_approval", []string{`did you mean "subprocess.exec"?`}},
		{"command with arguments", "[subprocess]\nallow_commands = [\"git push\"]\n", 2, "[subprocess].allow_commands",
			[]string{"without arguments", "[subprocess.deny_args]"}},
		{"unknown sandbox", "[subprocess]\nsandbox = \"docker\"\n", 2, "[subprocess].sandbox", []string{`unknown sandbox "docker"`, "one of auto, bwrap, landlock, none"}},
		{"unknown network", "[subprocess]\nnetwork = \"filtered\"\n", 2, "[subprocess].network", []string{`unknown network stance "filtered"`, "one of none, host"}},
		{"zero limit", "[runtime]\nmax_seconds = 0\n", 2, "[runtime].max_seconds", []string{"between 1 and"}},
		{"float limit", "[runtime]\nmax_steps = 1.5\n", 2, "[runtime].max_steps", []string{"must be an integer, not a float"}},
		{"unknown runtime key", "[runtime]\nmax_second = 5\n", 2, "max_second", []string{`did you mean "max_seconds"?`}},
		{"per-capability typo", "[runtime.max_calls_per_capability]\n\"fs.reed\" = 3\n", 2, "[runtime].max_calls_per_capability.fs.reed",
			[]string{`did you mean "fs.read"?`}},
		{"negation of nothing", "inherits = \"secure-defaults\"\n[subprocess]\ndeny_commands = [\"!kubctl\"]\n", 3, "[subprocess].deny_commands",
			[]string{`"!kubctl" negates nothing`, `did you mean "kubectl"?`}},
		{"negation without inherits", "[filesystem]\ndeny = [\"!.env\"]\n", 2, "[filesystem].deny", []string{"negates nothing"}},
		{"tool key typo", "[tools.Search]\ncapabilites = [\"net.http_get\"]\n", 2, "capabilites", []string{`did you mean "capabilities"?`}},
		{"tool backend not a URL", "[tools.Search]\ncapabilities = [\"net.http_get\"]\nbackend_url = \"duckduckgo\"\n", 3, "[tools.Search].backend_url",
			[]string{"not an http(s) URL"}},
		{"syntax error", "[filesystem]\nread_allow = [\"a\"\nwrite_allow = []\n", 3, "", []string{"TOML syntax error"}},
		{"env name", "[environment]\nallow_vars = [\"A B\"]\n", 2, "[environment].allow_vars", []string{"not allowed in a variable name"}},
		{"allow shadowed by the preset", "inherits = \"secure-defaults\"\n[subprocess]\nallow_commands = [\"git\", \"curl\"]\n", 3, "[subprocess].allow_commands",
			[]string{`"curl" can never be allowed: [subprocess].deny_commands "curl" (preset secure-defaults) denies it`, `add "!curl" to [subprocess].deny_commands`}},
		{"public var shadowed by the preset", "inherits = \"secure-defaults\"\n[environment]\nallow_vars = [\"OPENAI_API_KEY\"]\n", 3, "[environment].allow_vars",
			[]string{`"!OPENAI_API_KEY"`}},
		{"literal path shadowed by the preset", "inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"~/.ssh/config\"]\n", 3, "[filesystem].read_allow",
			[]string{`deny "~/.ssh/**" (preset secure-defaults)`}},
		{"host shadowed by the preset", "inherits = \"secure-defaults\"\n[network]\nhttp_get_allow = [\"metadata.google.internal\"]\n", 3, "[network].http_get_allow",
			[]string{`deny_hosts "metadata.google.internal"`}},
		{"negated deny_args key with patterns", "inherits = \"secure-defaults\"\n[subprocess.deny_args]\n\"!find\" = [\"-exec\"]\n", 3, "[subprocess.deny_args].!find",
			[]string{"takes no patterns"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			probs := loadProblems(t, w, tc.src)
			if len(probs) != 1 {
				t.Fatalf("want 1 problem, got %d: %v", len(probs), probs)
			}
			p := probs[0]
			if p.Line != tc.line {
				t.Errorf("line = %d, want %d (%s)", p.Line, tc.line, p)
			}
			if tc.key != "" && p.Key != tc.key {
				t.Errorf("key = %q, want %q (%s)", p.Key, tc.key, p)
			}
			if !strings.HasSuffix(p.File, "aegis.toml") {
				t.Errorf("file = %q", p.File)
			}
			for _, s := range tc.want {
				if !strings.Contains(p.String(), s) {
					t.Errorf("problem %q lacks %q", p, s)
				}
			}
		})
	}
}

func TestLoaderCollectsAllProblems(t *testing.T) {
	w := newWorld(t)
	probs := loadProblems(t, w, `
[filesystem]
read_alow = ["src/**"]
deny = ["src/[x"]

[network]
deny_ips = ["nope"]
`)
	if len(probs) != 3 {
		t.Fatalf("want 3 problems, got %d: %v", len(probs), probs)
	}
	lines := []int{probs[0].Line, probs[1].Line, probs[2].Line}
	if lines[0] != 3 || lines[1] != 4 || lines[2] != 7 {
		t.Errorf("problems not in file order with their lines: %v", probs)
	}
}

func TestPredecessorFileFormatLoads(t *testing.T) {
	// A policy in the predecessor's format, with its tools short and long
	// forms, deny_args, negation and runtime keys.
	w := newWorld(t)
	p := w.mustLoad(`
version = "1.0.0"
inherits = "secure-defaults"
name = "legacy"
description = "written for the predecessor"
requires_approval = ["!subprocess.exec"]

[filesystem]
read_allow = ["src/**", "README*"]
local_only_read = ["private/**"]
write_allow = ["src/**", "build/**"]
deny = ["!~/.kube/**"]

[network]
http_get_allow = ["*.npmjs.org"]
local_only_hosts = ["vault.internal"]
deny_ips = ["!127.0.0.0/8"]
timeout_seconds = 10

[environment]
allow_vars = ["PATH", "HOME"]
local_only_vars = ["DEMO_SECRET"]

[subprocess]
allow_commands = ["git", "npm"]
local_only_commands = ["pass"]
deny_commands = ["!rm"]
sandbox = "none"

[subprocess.deny_args]
git = ["push --force"]
npm = ["publish"]

[runtime]
max_seconds = 30
max_callstack_size = 200

[tools]
Read = ["fs.read"]

[tools.WebSearch]
capabilities = ["net.http_get"]
backend_url = "https://api.duckduckgo.com/"
backend_method = "get"
description = "search"
`)
	if p.Name() != "legacy" {
		t.Errorf("name = %q", p.Name())
	}
	if p.RequiresApproval(SubprocessExec) || !p.RequiresApproval(FSDelete) {
		t.Error("requires_approval negation did not apply")
	}
	if got := p.Runtime(); got.MaxSeconds != 30 || got.MaxCallstackSize != 200 || got.MaxSteps != DefaultRuntime().MaxSteps {
		t.Errorf("runtime = %+v", got)
	}
	if p.NetTimeoutSeconds() != 10 {
		t.Errorf("timeout = %d", p.NetTimeoutSeconds())
	}
	tools := p.Tools()
	if len(tools) != 2 || tools["WebSearch"].BackendMethod != "GET" || tools["Read"].Capabilities[0] != FSRead {
		t.Errorf("tools = %+v", tools)
	}
	if d := p.DecideTool("WebSearch"); !d.Allowed {
		t.Errorf("WebSearch: %s", d.Reason)
	}
	if d := p.DecideTool("Websearch"); d.Allowed || !strings.Contains(d.Hint, `did you mean "WebSearch"?`) {
		t.Errorf("undeclared tool: %+v", d)
	}
	want := []Capability{FSRead, FSWrite, FSList, FSExists, HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete, EnvRead, SubprocessExec}
	if got := p.Capabilities(); strings.Join(capStrings(got), ",") != strings.Join(capStrings(want), ",") {
		t.Errorf("capabilities = %v, want %v", got, want)
	}
}

func capStrings(cs []Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestEmptyPolicyDeniesEverything(t *testing.T) {
	w := newWorld(t)
	w.file("src/a.go")
	w.program("", "git")
	p := w.mustLoad("")
	if len(p.Capabilities()) != 0 {
		t.Errorf("capabilities = %v", p.Capabilities())
	}
	runChecks(t, p, []check{
		ck(FSRead, false, "src/a.go"), ck(FSWrite, false, "src/a.go"), ck(FSExists, false, "src/a.go"),
		ck(HTTPGet, false, "https://example.com/"), ck(EnvRead, false, "HOME"), ex(false, "git status"),
	})
}

func TestGuardRefusesSelfWritablePolicy(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		src  string
		want string
	}{
		{"[filesystem]\nwrite_allow = [\"**\"]\n", "write the policy file itself"},
		{"[filesystem]\ndelete_allow = [\"*.toml\"]\n", "delete the policy file itself"},
		{"[filesystem]\nwrite_allow = [\"aegis.toml\"]\n", "write the policy file itself"},
	} {
		probs := loadProblems(t, w, tc.src)
		if len(probs) == 0 || !strings.Contains(probs[0].String(), tc.want) || probs[0].Line != 2 {
			t.Errorf("%q: problems %v, want %q on line 2", tc.src, probs, tc.want)
		}
	}
	// Deny wins, so a broad allow with the policy denied loads.
	w.mustLoad("[filesystem]\nwrite_allow = [\"**\"]\ndeny = [\"./aegis.toml\", \".aegis/**\"]\n")
}

func TestGuardFollowsSymlinkToPolicy(t *testing.T) {
	// The policy lives outside the root; the root only holds a symlink to
	// it. A write_allow covering the real file must still be refused.
	w := newWorld(t)
	real := filepath.Join(w.base, "policies", "aegis.toml")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("[filesystem]\nwrite_allow = [\""+filepath.Dir(real)+"/**\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := w.symlink(real, "aegis.toml")
	_, err := Load(link, w.opts(WithRoot(w.root))...)
	if err == nil || !strings.Contains(err.Error(), "policy file itself") {
		t.Fatalf("want a self-write refusal, got %v", err)
	}
}

func TestGuardRefusesAuditLogAccess(t *testing.T) {
	w := newWorld(t)
	// Without the preset's .aegis deny, a broad read_allow reaches the
	// default audit log.
	probs := loadProblems(t, w, "[filesystem]\nread_allow = [\"**\"]\n")
	if len(probs) != 1 || !strings.Contains(probs[0].String(), "read the audit log") || !strings.Contains(probs[0].Hint, ".aegis/**") {
		t.Fatalf("problems = %v", probs)
	}
	// The preset denies .aegis, so the same allow is fine once inherited.
	p := w.mustLoad("inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"**\"]\n")
	// An explicit audit log elsewhere is guarded too.
	logs := filepath.Join(w.root, "logs", "audit.jsonl")
	if err := p.GuardAuditLog(logs); err == nil || !strings.Contains(err.Error(), "read the audit log") {
		t.Errorf("GuardAuditLog(%s) = %v", logs, err)
	}
	if err := p.GuardAuditLog(filepath.Join(w.base, "outside.jsonl")); err != nil {
		t.Errorf("a log outside every allow list must pass: %v", err)
	}
	_, err := w.load("inherits = \"secure-defaults\"\n[filesystem]\nwrite_allow = [\"logs/**\"]\n", WithAuditLog("logs/audit.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "write the audit log") {
		t.Errorf("WithAuditLog guard: %v", err)
	}
}

func TestPresetAndLoadBytes(t *testing.T) {
	w := newWorld(t)
	p, err := Preset("secure-defaults", w.root, w.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "secure-defaults" || len(p.Capabilities()) != 0 || p.Path() != "" || p.Root() != w.root {
		t.Errorf("preset: name=%q caps=%v path=%q root=%q", p.Name(), p.Capabilities(), p.Path(), p.Root())
	}
	if !p.RequiresApproval(SubprocessExec) || !p.RequiresApproval(FSDelete) || p.RequiresApproval(FSRead) {
		t.Error("preset approval set")
	}
	if _, err := Preset("paranoid", w.root); err == nil || !strings.Contains(err.Error(), "known presets: secure-defaults") {
		t.Errorf("unknown preset: %v", err)
	}
	q, err := LoadBytes("inline", []byte("[environment]\nallow_vars = [\"HOME\"]\n"), w.root, w.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if d := q.Decide(EnvRead, "HOME"); !d.Allowed || !strings.Contains(d.Source, "inline:2") {
		t.Errorf("LoadBytes decision: %+v", d)
	}
	if _, err := LoadBytes("inline", []byte("[environment]\nallow_var = []\n"), w.root); err == nil || !strings.Contains(err.Error(), "inline:2") {
		t.Errorf("LoadBytes error must name the given file name and line: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("want a wrapped not-exist error, got %v", err)
	}
}

func TestDescribeCarriesProvenance(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad("inherits = \"secure-defaults\"\n\n[filesystem]\nread_allow = [\"src/**\"]\ndeny = [\"!/etc/passwd\"]\n[runtime]\nmax_seconds = 5\n")
	d := p.Describe()
	var deny, read ListDescription
	for _, l := range d.Lists {
		switch l.Key {
		case "[filesystem].deny":
			deny = l
		case "[filesystem].read_allow":
			read = l
		}
	}
	if len(read.Entries) != 1 || read.Entries[0].From.Line != 4 || !strings.HasSuffix(read.Entries[0].From.File, "aegis.toml") {
		t.Errorf("read_allow = %+v", read)
	}
	for _, e := range deny.Entries {
		if e.Value == "/etc/passwd" {
			t.Error("negated entry still present")
		}
		if e.From.Preset != "secure-defaults" {
			t.Errorf("deny entry %q from %v", e.Value, e.From)
		}
	}
	if len(deny.Entries) != len(secureFSDeny)-1 {
		t.Errorf("deny has %d entries, want %d", len(deny.Entries), len(secureFSDeny)-1)
	}
	found := false
	for _, s := range d.Runtime {
		if s.Key == "[runtime].max_seconds" {
			found = true
			if s.Value != int64(5) || !strings.HasSuffix(s.From, "aegis.toml:7") {
				t.Errorf("max_seconds = %+v", s)
			}
		}
	}
	if !found {
		t.Error("max_seconds missing from Describe")
	}
}

func TestRuntimeLimitsOnlyTighten(t *testing.T) {
	base := &spec{}
	base.Runtime.Limits[limitMaxSeconds].set(10, Source{Preset: "x"})
	over := &spec{}
	over.Runtime.Limits[limitMaxSeconds].set(100, Source{File: "f", Line: 1})
	over.Runtime.Limits[limitMaxSteps].set(7, Source{File: "f", Line: 2})
	var probs problems
	m := merge(base, over, "f", &probs)
	if m.Runtime.Limits[limitMaxSeconds].Value != 10 || m.Runtime.Limits[limitMaxSteps].Value != 7 {
		t.Errorf("merged limits = %+v", m.Runtime.Limits)
	}
	base.Sub.Sandbox.set("bwrap", Source{Preset: "x"})
	over.Sub.Sandbox.set("none", Source{File: "f"})
	if m := merge(base, over, "f", &probs); m.Sub.Sandbox.Value != "bwrap" {
		t.Errorf("a file lowered the sandbox to %q", m.Sub.Sandbox.Value)
	}
	for _, c := range []struct{ base, over, want string }{
		{"bwrap", "auto", "bwrap"}, // auto may run unjailed
		{"auto", "none", "auto"},   // no lowering to none
		{"auto", "landlock", "landlock"},
		{"landlock", "bwrap", "bwrap"}, // one named mechanism for another
		{"none", "auto", "auto"},
	} {
		base.Sub.Sandbox.set(c.base, Source{Preset: "x"})
		over.Sub.Sandbox.set(c.over, Source{File: "f"})
		if m := merge(base, over, "f", &probs); m.Sub.Sandbox.Value != c.want {
			t.Errorf("%s over %s: %q, want %q", c.over, c.base, m.Sub.Sandbox.Value, c.want)
		}
	}
	// The network stance: the file wins.
	base.Sub.Network.set("host", Source{Preset: "x"})
	over.Sub.Network.set("none", Source{File: "f"})
	if m := merge(base, over, "f", &probs); m.Sub.Network.Value != "none" {
		t.Errorf("network %q", m.Sub.Network.Value)
	}
}

func TestNoHomeDirectory(t *testing.T) {
	w := newWorld(t)
	// The preset's ~ entries protect nothing without a home, and are dropped
	// rather than failing every load.
	if _, err := Preset("secure-defaults", w.root, WithHome("")); err != nil {
		t.Fatalf("preset without a home: %v", err)
	}
	_, err := LoadBytes("p.toml", []byte("[filesystem]\nread_allow = [\"~/notes/**\"]\n"), w.root, WithHome(""))
	if err == nil || !strings.Contains(err.Error(), "no home directory") || !strings.Contains(err.Error(), "p.toml:2") {
		t.Errorf("a ~ allow entry without a home: %v", err)
	}
}

// A preset denies well-known secret variables as public data; naming one in
// local_only_vars is the operator saying "usable, but local-only", and it
// loads. A deny in the operator's own file, a glob, or a public allow does not
// lift anything.
func TestLocalOnlyVarLiftsPresetDeny(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadBytes("aegis.toml", []byte("inherits = \"secure-defaults\"\n[environment]\nlocal_only_vars = [\"OPENAI_API_KEY\"]\n"), dir)
	if err != nil {
		t.Fatalf("a local-only secret the preset denies must load: %v", err)
	}
	d := p.Decide(EnvRead, "OPENAI_API_KEY")
	if !d.Allowed || !d.LocalOnly {
		t.Fatalf("env.read OPENAI_API_KEY = %+v, want allowed and local-only", d)
	}
	if d := p.Decide(EnvRead, "ANTHROPIC_API_KEY"); d.Allowed {
		t.Errorf("the other preset secret names must stay denied: %+v", d)
	}
	for name, src := range map[string]string{
		"own deny wins":      "inherits = \"secure-defaults\"\n[environment]\nlocal_only_vars = [\"OPENAI_API_KEY\"]\ndeny_vars = [\"OPENAI_API_KEY\"]\n",
		"glob lifts nothing": "inherits = \"secure-defaults\"\n[environment]\nlocal_only_vars = [\"OPENAI_*\"]\n",
	} {
		p, err := LoadBytes("aegis.toml", []byte(src), dir)
		if err != nil {
			continue // refusing to load is also a denial
		}
		if d := p.Decide(EnvRead, "OPENAI_API_KEY"); d.Allowed {
			t.Errorf("%s: env.read OPENAI_API_KEY allowed: %+v", name, d)
		}
	}
}

// Every list that lets scripts at the audit log is refused, each with its
// verb, on its line: reading it (read_allow, local_only_read), rewriting it
// and erasing it.
func TestGuardRefusesEveryAuditLogList(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ key, verb string }{
		{"read_allow", "read"}, {"local_only_read", "read"}, {"write_allow", "write"}, {"delete_allow", "delete"},
	} {
		probs := loadProblems(t, w, "[filesystem]\n"+tc.key+" = [\".aegis/**\"]\n")
		want := "lets scripts " + tc.verb + " the audit log ([filesystem]." + tc.key + ` ".aegis/**"`
		if len(probs) != 1 || !strings.Contains(probs[0].Msg, want) || probs[0].Line != 2 {
			t.Errorf("%s: problems %v, want one on line 2 with %q", tc.key, probs, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/policy"
)

// aegis runs the CLI in-process in dir and returns exit code and output.
func aegis(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// project makes a temporary project directory with the given files.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakePath puts executables with the given names first on PATH.
func fakePath(t *testing.T, names ...string) {
	t.Helper()
	bin := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
}

const samplePolicy = `version = "1"
inherits = "secure-defaults"
name = "sample"

[filesystem]
read_allow = ["src/**"]
write_allow = ["src/**"]

[network]
http_get_allow = ["169.254.169.254", "api.example.com"]

[environment]
allow_vars = ["HOME"]

[subprocess]
allow_commands = ["git"]

[subprocess.deny_args]
git = ["push --force"]
`

func TestPolicyValidate(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy, "src/main.go": "package main"})
	code, out, errOut := aegis(t, dir, "policy", "validate", "aegis.toml")
	if code != 0 || !strings.Contains(out, "OK: aegis.toml is valid.") ||
		!strings.Contains(out, "7 capabilities enabled: fs.read, fs.write, fs.list, fs.exists, net.http_get, env.read, subprocess.exec") {
		t.Fatalf("validate: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "Ask for approval before: subprocess.exec") {
		t.Errorf("approval line missing:\n%s", out)
	}
	code, out, _ = aegis(t, dir, "policy", "validate", "--json", "aegis.toml")
	var res validateResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.Valid || len(res.Capabilities) != 7 {
		t.Errorf("validate --json: %d %s", code, out)
	}
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": "[filesystem]\nread_allow = [\"src/**\"]\ndenny = [\"**/.env\"]\n\n[network]\ndeny_ips = [\"10.0.0.0/33\"]\n"})
	code, out, errOut := aegis(t, dir, "policy", "validate", "aegis.toml")
	if code != exitConfig || out != "" {
		t.Fatalf("code %d, stdout %q", code, out)
	}
	for _, want := range []string{
		`aegis.toml:3: denny: unknown key "denny" in [filesystem] (did you mean "deny"?)`,
		`aegis.toml:6: [network].deny_ips: "10.0.0.0/33": not a CIDR`,
		"the policy is invalid (2 problems)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, out, _ = aegis(t, dir, "policy", "validate", "--json", "aegis.toml")
	var res validateResult
	if code != exitConfig || json.Unmarshal([]byte(out), &res) != nil || res.Valid || len(res.Problems) != 2 || res.Problems[0].Line != 3 {
		t.Errorf("validate --json: %d %s", code, out)
	}
	if code, _, errOut := aegis(t, dir, "policy", "validate", "missing.toml"); code != exitConfig || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, dir, "policy", "validate", "a.toml", "b.toml"); code != exitConfig || !strings.Contains(errOut, "--help") {
		t.Errorf("two files: %d %s", code, errOut)
	}
}

func TestNoPolicyFallsBackToSecureDefaults(t *testing.T) {
	dir := project(t, map[string]string{"src/a.go": ""})
	code, out, errOut := aegis(t, dir, "policy", "validate")
	if code != 0 || !strings.Contains(errOut, "no aegis.toml in "+dir+" or its parents") ||
		!strings.Contains(errOut, "using the secure-defaults preset") ||
		!strings.Contains(out, "No capability is enabled") {
		t.Errorf("fallback validate: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = aegis(t, dir, "policy", "explain", "fs.read", "src/a.go")
	if code != exitDenied || !strings.Contains(errOut, "secure-defaults") || !strings.Contains(out, "DENIED") {
		t.Errorf("fallback explain: %d\n%s\n%s", code, out, errOut)
	}
}

func TestPolicyShow(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy})
	code, out, errOut := aegis(t, dir, "policy", "show", "aegis.toml")
	if code != 0 {
		t.Fatalf("show: %d %s", code, errOut)
	}
	for _, want := range []string{"inherits      secure-defaults", `"src/**"`, "aegis.toml:6", `".env"`, "preset secure-defaults",
		`git "push --force"`, "aegis.toml:19", "[runtime].max_seconds = 60", "default"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	code, out, _ = aegis(t, dir, "policy", "show", "--json", "aegis.toml")
	var d policy.Description
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Inherits != "secure-defaults" || len(d.Lists) == 0 {
		t.Fatalf("show --json: %d %s", code, out)
	}
	found := false
	for _, l := range d.Lists {
		if l.Key == "[filesystem].read_allow" && len(l.Entries) == 1 && l.Entries[0].From.Line == 6 {
			found = true
		}
	}
	if !found {
		t.Errorf("show --json lacks read_allow with its line: %+v", d.Lists)
	}
	if code, _, errOut := aegis(t, dir, "policy", "show", "--policy", "aegis.toml", "other.toml"); code != exitConfig {
		t.Errorf("conflicting policies: %d %s", code, errOut)
	}
}

func TestPolicyExplain(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy, "src/main.go": "package main", ".env": "x"})
	fakePath(t, "git")
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"fs.read", "src/main.go"}, 0, []string{"ALLOWED", `[filesystem].read_allow "src/**" (aegis.toml:6)`, "path: " + filepath.Join(dir, "src/main.go")}},
		{[]string{"fs.read", ".env"}, exitDenied, []string{"DENIED", `[filesystem].deny ".env"`, `add "!.env" to [filesystem].deny`}},
		{[]string{"net.http_get", "https://169.254.169.254/"}, exitDenied, []string{`deny_ips "169.254.0.0/16"`}},
		{[]string{"net.http_get", "http://[::ffff:169.254.169.254]/"}, exitDenied, []string{`deny_ips "169.254.0.0/16"`}},
		{[]string{"subprocess.exec", "git", "push", "--forc", "origin"}, exitDenied, []string{`[subprocess.deny_args].git "push --force" (aegis.toml:19)`}},
		{[]string{"subprocess.exec", "git", "status"}, 0, []string{"ALLOWED", "runs: ", "approval: the operator is asked"}},
		{[]string{"subprocess.exec", "bash", "-c", "id"}, exitDenied, []string{`deny_commands "bash"`}},
		{[]string{"env.read", "HOME"}, 0, []string{"ALLOWED"}},
		{[]string{"env.read", "GITHUB_TOKEN"}, exitDenied, []string{"deny_vars"}},
	}
	for _, tc := range cases {
		args := append([]string{"policy", "explain", "--policy", "aegis.toml"}, tc.args...)
		code, out, errOut := aegis(t, dir, args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	code, out, _ := aegis(t, dir, "policy", "explain", "-p", "aegis.toml", "--json", "fs.read", ".env")
	var d policy.Decision
	if code != exitDenied || json.Unmarshal([]byte(out), &d) != nil || d.Allowed || d.Rule != ".env" || d.Section != "[filesystem].deny" {
		t.Errorf("explain --json: %d %s", code, out)
	}
	if code, _, errOut := aegis(t, dir, "policy", "explain", "--policy", "aegis.toml", "fs.reed", "x"); code != exitConfig || !strings.Contains(errOut, `unknown capability "fs.reed"`) {
		t.Errorf("unknown capability: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, dir, "policy", "explain", "--policy", "aegis.toml", "fs.read"); code != exitConfig || !strings.Contains(errOut, "give a CAPABILITY and a TARGET") {
		t.Errorf("missing target: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, dir, "policy", "explain", "--policy", "broken.toml", "fs.read", "x"); code != exitConfig || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing policy: %d %s", code, errOut)
	}
}

func TestInit(t *testing.T) {
	dir := project(t, map[string]string{"go.mod": "module x\n"})
	code, out, errOut := aegis(t, dir, "init", "--lang", "auto")
	if code != 0 || !strings.Contains(errOut, "detected a Go project") || !strings.Contains(out, "Wrote aegis.toml (Go)") {
		t.Fatalf("init auto: %d\n%s\n%s", code, out, errOut)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "aegis.toml"))
	if !bytes.Contains(before, []byte(`name = "`+filepath.Base(dir)+`"`)) {
		t.Errorf("the policy is not named after the project:\n%s", before)
	}
	code, _, errOut = aegis(t, dir, "init", "--lang", "python")
	if code != exitConfig || !strings.Contains(errOut, "aegis.toml already exists; pass --force") {
		t.Errorf("overwrite: %d %s", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "aegis.toml"))
	if !bytes.Equal(before, after) {
		t.Error("the existing file was modified without --force")
	}
	if code, _, errOut = aegis(t, dir, "init", "--lang", "python", "--force"); code != 0 {
		t.Errorf("--force: %d %s", code, errOut)
	}
	forced, _ := os.ReadFile(filepath.Join(dir, "aegis.toml"))
	if !bytes.Contains(forced, []byte("--lang python")) {
		t.Error("--force did not overwrite")
	}
	code, out, _ = aegis(t, dir, "init", "-l", "rust", "-o", "-")
	if code != 0 || !strings.HasPrefix(out, "# Aegis policy for a Rust project") {
		t.Errorf("-o -: %d %.80s", code, out)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".aegis-init-*")); len(entries) != 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestInitErrors(t *testing.T) {
	empty := project(t, nil)
	if code, _, errOut := aegis(t, empty, "init", "--lang", "auto"); code != exitConfig || !strings.Contains(errOut, "no project file found") {
		t.Errorf("auto with nothing: %d %s", code, errOut)
	}
	both := project(t, map[string]string{"go.mod": "", "package.json": "{}"})
	if code, _, errOut := aegis(t, both, "init", "--lang", "auto"); code != exitConfig ||
		!strings.Contains(errOut, "go.mod (go)") || !strings.Contains(errOut, "package.json (node)") {
		t.Errorf("auto with two: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, empty, "init", "--lang", "cobol"); code != exitConfig || !strings.Contains(errOut, `unknown language "cobol"`) {
		t.Errorf("unknown language: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, empty, "init"); code != exitConfig || !strings.Contains(errOut, "--lang is required") {
		t.Errorf("no --lang: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(empty, "aegis.toml")); err == nil {
		t.Error("a failed init wrote a file")
	}
}

func TestEveryStarterLoadsAndGuardsItself(t *testing.T) {
	for _, lang := range languageNames() {
		t.Run(lang, func(t *testing.T) {
			dir := project(t, nil)
			code, _, errOut := aegis(t, dir, "init", "--lang", lang)
			if code != 0 {
				t.Fatalf("init: %d %s", code, errOut)
			}
			p, err := policy.Load(filepath.Join(dir, "aegis.toml"))
			if err != nil {
				t.Fatal(err)
			}
			if p.Decide(policy.FSWrite, "aegis.toml").Allowed || p.Decide(policy.FSRead, ".env").Allowed {
				t.Error("the starter lets scripts rewrite the policy or read .env")
			}
			if !p.Enabled(policy.SubprocessExec) || !p.Enabled(policy.FSRead) || p.Enabled(policy.HTTPGet) {
				t.Errorf("capabilities = %v", p.Capabilities())
			}
			if d := p.Decide(policy.SubprocessExec, "git", "push", "--force"); d.Allowed {
				t.Errorf("git push --force allowed: %s", d.Reason)
			}
			// The suggested approve_prefixes line is valid once uncommented.
			text := string(mustRead(t, filepath.Join(dir, "aegis.toml")))
			line := regexp.MustCompile(`(?m)^# (approve_prefixes = \[.+\])$`).FindStringSubmatch(text)
			if line == nil {
				t.Fatalf("no approve_prefixes suggestion in the %s starter", lang)
			}
			uncommented := strings.Replace(text, line[0], line[1], 1)
			if err := os.WriteFile(filepath.Join(dir, "aegis.toml"), []byte(uncommented), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := policy.Load(filepath.Join(dir, "aegis.toml")); err != nil {
				t.Errorf("uncommenting %s breaks the policy: %v", line[1], err)
			}
		})
	}
	for _, alias := range []string{"py", "ts", "rails", "golang", "kotlin", "csharp", "rs"} {
		if _, ok := starterFor(alias); !ok {
			t.Errorf("alias %q unknown", alias)
		}
	}
}

func TestUsageErrorsExitFive(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"policy", "validate", "--bogus"}, {"init", "--lang"}} {
		code, _, errOut := aegis(t, "", args...)
		if code != exitConfig || !strings.Contains(errOut, "--help") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// An unknown command gets the same "did you mean" at every level, with
// the same rule as every other suggestion (internal/suggest), and still
// exits 5 pointing at --help; a bare "aegis" still prints its help.
func TestUnknownCommandsSuggestAtEveryLevel(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rnu"}, `unknown command "rnu" for "aegis"; its commands: audit, `},
		{[]string{"polcy", "validate"}, `(did you mean "policy"?)`},
		{[]string{"policy", "valdate"}, `unknown command "valdate" for "aegis policy"; its commands: explain, show, validate (did you mean "validate"?)`},
		{[]string{"audit", "shw"}, `(did you mean "show"?)`},
		{[]string{"transcrip"}, `(did you mean "transcript"?)`}, // a truncated name
	} {
		code, out, errOut := aegis(t, "", c.args...)
		if code != exitConfig || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "--help' for usage") || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, errOut, c.want)
		}
	}
	if code, _, errOut := aegis(t, "", "zzzzzz"); code != exitConfig || strings.Contains(errOut, "did you mean") {
		t.Errorf("nothing close: exit %d, %q", code, errOut)
	}
	if code, out, _ := aegis(t, ""); code != exitOK || !strings.Contains(out, "Available Commands:") {
		t.Errorf("bare aegis: exit %d, %q", code, out)
	}
}

// ownCommands are the commands this file's authors document and test.
func ownCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	out = append(out, root)
	for _, c := range root.Commands() {
		if c.Name() == "policy" || c.Name() == "init" {
			walk(c)
		}
	}
	return out
}

func TestCommandsTeach(t *testing.T) {
	for _, c := range ownCommands(newRootCmd()) {
		if c.Short == "" || strings.Contains(c.Short, "\n") || len(c.Short) > 90 {
			t.Errorf("%s: Short must be one line: %q", c.CommandPath(), c.Short)
		}
		if len(c.Long) < 100 {
			t.Errorf("%s: Long is missing or too thin", c.CommandPath())
		}
		if c != c.Root() && !strings.Contains(c.Example, "aegis ") {
			t.Errorf("%s: no Example", c.CommandPath())
		}
	}
}

func TestExamplesRunAsWritten(t *testing.T) {
	for _, c := range ownCommands(newRootCmd()) {
		for _, line := range strings.Split(c.Example+"\n"+c.Long, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "aegis ") || strings.Contains(line, "...") {
				continue
			}
			line, _, _ = strings.Cut(line, "|") // "aegis init -o - | less": the aegis part
			args := strings.Fields(line)[1:]
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				var dir string
				if args[0] == "init" {
					dir = project(t, map[string]string{"go.mod": "module x\n"})
				} else {
					dir = project(t, map[string]string{"go.mod": "module x\n", "src/main.go": "package main\n", "task.star": "print('x')\n"})
					if code, _, errOut := aegis(t, dir, "init", "--lang", "go"); code != 0 {
						t.Fatalf("setup: %s", errOut)
					}
				}
				code, out, errOut := aegis(t, dir, args...)
				if code != 0 && code != exitDenied {
					t.Errorf("exit %d\n%s\n%s", code, out, errOut)
				}
			})
		}
	}
}

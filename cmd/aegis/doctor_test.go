package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/internal/version"
	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
	"github.com/aegisdev/aegis/policy"
)

const doctorTOML = `inherits = "secure-defaults"
[filesystem]
read_allow = ["src/**"]
local_only_read = ["private/**"]
[environment]
local_only_vars = ["API_KEY"]
[subprocess]
allow_commands = ["git"]
[runtime]
max_secret_dependent_aborts = 4
`

// fakeDoctorEnv: bubblewrap present or not, no Landlock, aegis-mcp on PATH
// at mcpOnPath; the policy's jail decided the way runner.JailWarning does
// for "auto", "bwrap" and "none".
func fakeDoctorEnv(bwrap bool, mcpOnPath string) doctorEnv {
	return doctorEnv{
		lookPath: func(name string) (string, error) {
			if name == "aegis-mcp" && mcpOnPath != "" {
				return mcpOnPath, nil
			}
			return "", errors.New("not found")
		},
		sandbox: func(mode string) (string, error) {
			if mode == "bwrap" && bwrap {
				return "bubblewrap (/usr/bin/bwrap)", nil
			}
			return "", errors.New(mode + " is not available")
		},
		jail: func(p *policy.Policy) (string, string, error) {
			switch mode := p.Sandbox(); {
			case mode == "bwrap" && !bwrap:
				return "", "", errors.New("bwrap (bubblewrap) is not installed")
			case (mode == "auto" || mode == "bwrap") && bwrap:
				return "", "bubblewrap", nil
			case p.Enabled(policy.SubprocessExec):
				return "commands run without a sandbox", "", nil
			}
			return "", "", nil
		},
		self:       func() (string, error) { return "/nonexistent/aegis", nil },
		mcpVersion: func(context.Context, string) (string, error) { return version.Get().Short(), nil },
	}
}

func findCheck(rep *doctorReport, area, name string) check {
	for _, c := range rep.Checks {
		if c.Area == area && (name == "" || c.Name == name) {
			return c
		}
	}
	return check{}
}

func doctorIn(t *testing.T, dir, policyPath string, env doctorEnv) *doctorReport {
	t.Helper()
	t.Chdir(dir)
	return runDoctor(&cobra.Command{}, policyPath, env)
}

func TestDoctorPolicyAndSandbox(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	empty := project(t, nil)
	rep := doctorIn(t, empty, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "policy", "policy"); c.Status != checkFail || c.Fix != "aegis init --lang auto" {
		t.Errorf("no policy: %+v", c)
	}
	dir := project(t, map[string]string{"aegis.toml": doctorTOML, "bare.toml": "[filesystem]\nread_allow = [\"src/**\"]\n"})
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "policy", "policy"); c.Status != checkOK {
		t.Errorf("policy: %+v", c)
	}
	if c := findCheck(rep, "sandbox", "policy sandbox"); c.Status != checkOK || !strings.Contains(c.Message, "commands run in bubblewrap") {
		t.Errorf("auto with bubblewrap here: %+v", c)
	}
	none := strings.Replace(doctorTOML, `allow_commands = ["git"]`, "allow_commands = [\"git\"]\nsandbox = \"none\"", 1)
	os.WriteFile(filepath.Join(dir, "none.toml"), []byte(none), 0o644)
	rep = doctorIn(t, dir, "none.toml", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "sandbox", "policy sandbox"); c.Status != checkWarn || !strings.Contains(c.Fix, `"auto"`) {
		t.Errorf("commands without a sandbox where bwrap works: %+v", c)
	}
	rep = doctorIn(t, dir, "bare.toml", fakeDoctorEnv(false, ""))
	if c := findCheck(rep, "policy", "inherits"); c.Status != checkWarn {
		t.Errorf("no inherits: %+v", c)
	}
	if c := findCheck(rep, "sandbox", "machine"); !strings.Contains(c.Message, "no sandbox") {
		t.Errorf("machine: %+v", c)
	}
	jail := strings.Replace(doctorTOML, `allow_commands = ["git"]`, "allow_commands = [\"git\"]\nsandbox = \"bwrap\"", 1)
	os.WriteFile(filepath.Join(dir, "jail.toml"), []byte(jail), 0o644)
	rep = doctorIn(t, dir, "jail.toml", fakeDoctorEnv(false, ""))
	if c := findCheck(rep, "sandbox", "policy sandbox"); c.Status != checkFail || !strings.Contains(c.Message, "every run that executes a command fails") || !strings.Contains(c.Message, "not installed") {
		t.Errorf("bwrap required and missing: %+v", c)
	}
}

// writeHost writes what host-config writes for host, with command.
func writeHost(t *testing.T, dir, host, command string) {
	t.Helper()
	p, err := policy.Load(filepath.Join(dir, "aegis.toml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{Host: host, PolicyPath: p.Path(), Command: command, Summary: mcppolicy.Summary(p)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Path)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(f.Content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDoctorHostWiring(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := project(t, map[string]string{"aegis.toml": doctorTOML})
	rep := doctorIn(t, dir, "", fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp"))
	if c := findCheck(rep, "host", "hosts"); c.Status != checkInfo || !strings.Contains(c.Fix, "aegis host-config") {
		t.Errorf("nothing wired: %+v", c)
	}
	writeHost(t, dir, "claude-code", "aegis-mcp")
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp"))
	if c := findCheck(rep, "host", "claude-code"); c.Status != checkOK {
		t.Errorf("in sync: %+v", c)
	}
	// The host starts aegis-mcp from PATH, and there is none.
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "host", "claude-code"); c.Status != checkFail || !strings.Contains(c.Message, "cannot start the server") {
		t.Errorf("aegis-mcp missing: %+v", c)
	}
	// Entries of the operator's own are fine; a built-in tool no longer denied is drift.
	settings := filepath.Join(dir, ".claude", "settings.json")
	b, _ := os.ReadFile(settings)
	extra := strings.Replace(string(b), `"permissions": {`, `"model": "x", "permissions": {`, 1)
	os.WriteFile(settings, []byte(extra), 0o644)
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp"))
	if c := findCheck(rep, "host", "claude-code"); c.Status != checkOK {
		t.Errorf("extra keys are not drift: %+v", c)
	}
	drifted := strings.Replace(extra, `"Bash",`, "", 1)
	if drifted == extra {
		t.Fatal("the fixture has no Bash entry to remove")
	}
	os.WriteFile(settings, []byte(drifted), 0o644)
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp"))
	if c := findCheck(rep, "host", "claude-code"); c.Status != checkFail || !strings.Contains(c.Message, `permissions.deny lacks "Bash"`) {
		t.Errorf("drift: %+v", c)
	}
	// A denied tool that is also allowed is drift too: host-config --write
	// would take it out of the allow list (doctor and host-config agree on
	// what "in sync" means: writing would change nothing).
	allowed := strings.Replace(extra, `"mcp__aegis__aegis_run",`, `"mcp__aegis__aegis_run", "Bash",`, 1)
	if allowed == extra {
		t.Fatal("the fixture has no allow entry to extend")
	}
	os.WriteFile(settings, []byte(allowed), 0o644)
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp"))
	if c := findCheck(rep, "host", "claude-code"); c.Status != checkFail || !strings.Contains(c.Message, `permissions.allow holds "Bash"`) {
		t.Errorf("a denied tool allowed as well: %+v", c)
	}
	// Written with an absolute path: in sync when that is the aegis-mcp found.
	dir2 := project(t, map[string]string{"aegis.toml": doctorTOML})
	writeHost(t, dir2, "opencode", "/opt/aegis/aegis-mcp")
	rep = doctorIn(t, dir2, "", fakeDoctorEnv(true, "/opt/aegis/aegis-mcp"))
	if c := findCheck(rep, "host", "opencode"); c.Status != checkOK {
		t.Errorf("absolute command: %+v", c)
	}
}

func TestDoctorAuditAndBudget(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := project(t, map[string]string{"aegis.toml": doctorTOML})
	rep := doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "audit", ""); c.Status != checkInfo {
		t.Errorf("no log yet: %+v", c)
	}
	if len(rep.Budgets) != 2 || rep.Budgets[0].Aborts != 0 || rep.Budgets[0].MaxAborts != 4 || !rep.Budgets[0].Readable {
		t.Errorf("budgets before any run: %+v", rep.Budgets)
	}
	log := filepath.Join(dir, ".aegis", "audit.jsonl")
	l, err := audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		l.Append(audit.Event{Kind: audit.KindSecretAbort, Status: audit.Errored, Labels: []string{"env:API_KEY"}, Bits: 4})
	}
	l.Append(audit.Event{Kind: audit.KindSecretAbort, Status: audit.Errored, Labels: []string{"file:private/**"}, Bits: 4})
	l.Close()
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "audit", ""); c.Status != checkOK {
		t.Errorf("intact log: %+v", c)
	}
	if c := findCheck(rep, "budget", "env:API_KEY"); c.Status != checkFail || !strings.Contains(c.Message, "4 of 4 secret-dependent aborts") || !strings.Contains(c.Message, "refused") {
		t.Errorf("spent budget (aborts): %+v", c)
	}
	if c := findCheck(rep, "budget", "file:private/**"); c.Status != checkOK || !strings.Contains(c.Message, "4 of 64 bits and 1 of 4") {
		t.Errorf("budget: %+v", c)
	}
	// The bits run out too: 62 of 64 bits leaves less than one abort's charge.
	l, err = audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(audit.Event{Kind: audit.KindSecretAbort, Status: audit.Errored, Labels: []string{"file:private/**"}, Bits: 58})
	l.Close()
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "budget", "file:private/**"); c.Status != checkFail || !strings.Contains(c.Message, "62 of 64 bits") {
		t.Errorf("spent budget (bits): %+v", c)
	}
	b, _ := os.ReadFile(log)
	os.WriteFile(log, []byte(strings.Replace(string(b), `"seq":2`, `"seq":9`, 1)), 0o644)
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "audit", ""); c.Status != checkFail || !strings.Contains(c.Message, "chain is broken") {
		t.Errorf("broken chain: %+v", c)
	}
	// The command: text, exit 1 on a failed check.
	code, out, _ := aegis(t, dir, "doctor")
	if code != exitCheckFailed || !strings.Contains(out, "FAIL  env:API_KEY") || !strings.Contains(out, "fix: ") {
		t.Errorf("doctor: %d\n%s", code, out)
	}
}

func TestDoctorMCPVersion(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := project(t, map[string]string{"aegis.toml": doctorTOML})
	env := fakeDoctorEnv(true, "/usr/local/bin/aegis-mcp")
	env.mcpVersion = func(context.Context, string) (string, error) { return "v0.0.1", nil }
	rep := doctorIn(t, dir, "", env)
	if c := findCheck(rep, "aegis-mcp", ""); c.Status != checkWarn || !strings.Contains(c.Message, "v0.0.1") {
		t.Errorf("version mismatch: %+v", c)
	}
	rep = doctorIn(t, dir, "", fakeDoctorEnv(true, ""))
	if c := findCheck(rep, "aegis-mcp", ""); c.Status != checkWarn || !strings.Contains(c.Message, "no agent host can start it") {
		t.Errorf("no aegis-mcp: %+v", c)
	}
}

// Outside Linux a build refuses commands (and outside Unix, file effects):
// doctor names what is refused, and fails when the policy enables it.
func TestDoctorPlatformLimits(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := project(t, map[string]string{
		"aegis.toml":  doctorTOML,
		"noexec.toml": "inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"src/**\"]\n",
	})
	env := fakeDoctorEnv(false, "")
	noCommands := errors.New("subprocess.exec is not supported on plan9")
	noFiles := errors.New("file effects are not supported on plan9")
	env.unsupported = func(c policy.Capability) error {
		switch {
		case c == policy.SubprocessExec:
			return noCommands
		case c.IsFS():
			return noFiles
		}
		return nil
	}
	rep := doctorIn(t, dir, "", env)
	exec := findCheck(rep, "platform", "subprocess.exec")
	if exec.Status != checkFail || !strings.Contains(exec.Message, noCommands.Error()) || !strings.Contains(exec.Fix, "Linux") {
		t.Errorf("commands allowed but refused here: %+v", exec)
	}
	var fs check
	for _, c := range rep.Checks {
		if c.Area == "platform" && strings.HasPrefix(c.Name, "fs.") {
			fs = c
		}
	}
	if fs.Status != checkFail || !strings.HasPrefix(fs.Name, "fs.") || !strings.Contains(fs.Message, noFiles.Error()) {
		t.Errorf("file effects allowed but refused here: %+v", fs)
	}
	rep = doctorIn(t, dir, "noexec.toml", env)
	if c := findCheck(rep, "platform", "subprocess.exec"); c.Status != checkInfo || !strings.Contains(c.Message, noCommands.Error()) {
		t.Errorf("commands refused here, none allowed: %+v", c)
	}
}

// On Linux this build refuses nothing: doctor's real environment reports no
// platform limit.
func TestDoctorPlatformLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test describes the Linux build, not %s", runtime.GOOS)
	}
	for _, c := range policy.AllCapabilities() {
		if err := unsupportedHere(c); err != nil {
			t.Errorf("%s refused on Linux: %v", c, err)
		}
	}
}

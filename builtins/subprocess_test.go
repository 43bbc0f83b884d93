package builtins

import (
	"context"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

const execPolicy = `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**", "zone/**"]
write_allow = ["zone/**", "out/**"]

[environment]
allow_vars = ["PATH", "AEGIS_TEST_PUBLIC"]
local_only_vars = ["AEGIS_TEST_SECRET"]

[subprocess]
allow_commands = ["echo", "cat", "sh", "false", "pwd"]
local_only_commands = ["sha256sum", "printenv"]
`

func execFixture(t *testing.T) *fixture {
	return newFixture(t, execPolicy, map[string]string{
		"src/a.txt":     "public text\n",
		"secrets/token": secretValue,
	})
}

func TestExecRunsAndAudits(t *testing.T) {
	f := execFixture(t)
	o := f.run(`print(subprocess.exec(["echo", "hi", "there"]).strip())
print(subprocess.exec(["cat", "src/a.txt"]).strip())
print(subprocess.exec(["pwd"]).strip() == ROOT)`)
	mustSucceed(t, o)
	if o.stdout != "hi there\npublic text\nTrue\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	evs := eventsFor(o, "subprocess.exec")
	if len(evs) != 3 || evs[0].Target != "echo hi there" || evs[0].Status != audit.Allowed {
		t.Fatalf("audit %+v", evs)
	}
}

func TestExecEnvironmentIsRebuilt(t *testing.T) {
	f := execFixture(t)
	f.environ = append(f.environ, "AEGIS_TEST_OTHER=not-allowed")
	o := f.run(`print(subprocess.exec(["sh", "-c", "echo [$AEGIS_TEST_PUBLIC][$AEGIS_TEST_OTHER][$AEGIS_TEST_SECRET][$HOME]"]).strip())`)
	mustSucceed(t, o)
	if o.stdout != "[hello-public][][][]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
}

func TestExecDenials(t *testing.T) {
	f := execFixture(t)
	mustFail[*policy.DeniedError](t, f.run(`subprocess.exec(["rm", "x"])`))
	mustFail[*policy.DeniedError](t, f.run(`subprocess.exec(["cat", "/etc/passwd"])`))
	o := f.run(`subprocess.exec([])`)
	if o.err == nil || !strings.Contains(o.err.Error(), "argv is empty") {
		t.Fatalf("empty argv: %v", o.err)
	}
	o = f.run(`subprocess.exec("echo hi")`)
	if o.err == nil || !strings.Contains(o.err.Error(), "list of strings") {
		t.Fatalf("string argv: %v", o.err)
	}
}

func TestExecNonZeroExit(t *testing.T) {
	f := execFixture(t)
	o := f.run(`subprocess.exec(["sh", "-c", "echo oops >&2; exit 4"])`)
	if o.err == nil || !strings.Contains(o.err.Error(), "status 4: oops") {
		t.Fatalf("error %v", o.err)
	}
	evs := eventsFor(o, "subprocess.exec")
	if len(evs) != 2 || evs[1].Status != audit.Errored || evs[1].Reason != "exit status 4" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestExecDoesNotLaunderLocalOnlyFiles(t *testing.T) {
	f := execFixture(t)
	// Without a sandbox the policy hands local-only files only to
	// local_only_commands: a public program could copy what it reads.
	for _, src := range []string{
		`print(subprocess.exec(["cat", "secrets/token"]))`,
		`print(subprocess.exec(["cat", "./secrets/../secrets/token"]))`,
		`print(subprocess.exec(["cat", ROOT + "/secrets/token"]))`,
	} {
		mustFail[*policy.DeniedError](t, f.run(src))
	}
	// A local-only command may read them; its output is labelled by the
	// command and by the file its argv names.
	o := f.run(`print(subprocess.exec(["sha256sum", "secrets/token"]))`)
	mustSucceed(t, o)
	if o.stdout != "[REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	if evs := eventsFor(o, "subprocess.exec"); len(evs) != 1 || strings.Join(evs[0].Labels, ",") != "cmd:sha256sum,env:AEGIS_TEST_SECRET,file:secrets/**" {
		t.Fatalf("audit %+v", evs)
	}
	// Passing the labelled output on to a public command is a flow error.
	mustFail[*starlark.FlowError](t, f.run(`t = subprocess.exec(["sha256sum", "secrets/token"])
subprocess.exec(["echo", t])`))
}

func TestExecSinkAndLocalOnlyCommand(t *testing.T) {
	f := execFixture(t)
	for _, src := range []string{
		`subprocess.exec(["echo", secret])`,
		`subprocess.exec(["echo", secret[::-1]])`,
		`subprocess.exec(["echo", "x"] + [secret])`,
		"if secret[0] == 's':\n    subprocess.exec([\"echo\", \"bit\"])",
	} {
		mustFail[*starlark.FlowError](t, f.run(src))
	}
	// A local-only command gets local_only_vars; its output carries them.
	o := f.run(`v = subprocess.exec(["printenv", "AEGIS_TEST_SECRET"])
print("got", v, len(v) > 0)`)
	mustSucceed(t, o)
	if o.stdout != "got [REDACTED] [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	if evs := eventsFor(o, "subprocess.exec"); len(evs) != 1 || strings.Join(evs[0].Labels, ",") != "cmd:printenv,env:AEGIS_TEST_SECRET" {
		t.Fatalf("audit %+v", evs)
	}
	// A local-only command may take labelled data; its output is labelled.
	o = f.run(`h = subprocess.exec(["sha256sum"] + ["secrets/token"])
print("digest", h)`)
	mustSucceed(t, o)
	if o.stdout != "digest [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
}

func TestEnvRead(t *testing.T) {
	f := execFixture(t)
	o := f.run(`print(env.read("AEGIS_TEST_PUBLIC"))
s = env.read("AEGIS_TEST_SECRET")
print(s, s == "x")
print(env.read("PATH") != None, env.read("AEGIS_TEST_UNSET_XYZ"), env.read("AEGIS_TEST_UNSET_XYZ", "dflt"))`)
	if o.err != nil && !strings.Contains(o.err.Error(), "AEGIS_TEST_UNSET_XYZ") {
		t.Fatalf("error %v", o.err)
	}
	if !strings.HasPrefix(o.stdout, "hello-public\n[REDACTED] [REDACTED]\n") {
		t.Fatalf("stdout %q", o.stdout)
	}
	mustFail[*policy.DeniedError](t, f.run(`env.read("HOME")`))
	o = f.run(`env.read("AEGIS_TEST_SECRET")`)
	evs := eventsFor(o, "env.read")
	if len(evs) != 1 || len(evs[0].Labels) != 1 || evs[0].Labels[0] != "env:AEGIS_TEST_SECRET" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestRequiresApproval(t *testing.T) {
	f := newFixture(t, `requires_approval = ["fs.write"]
[filesystem]
write_allow = ["out/**"]
local_only_read = ["zone/**"]
`, nil)
	// No way to ask: denied.
	o := f.run(`fs.write("out/a.txt", "x")`)
	mustFail[*ConfirmDeniedError](t, o)
	if evs := eventsFor(o, "fs.write"); len(evs) != 1 || evs[0].Status != audit.Denied || evs[0].Rule != "requires_approval" {
		t.Fatalf("audit %+v", evs)
	}
	var asked []string
	f.confirm = func(_ context.Context, capability, target string) (bool, error) {
		asked = append(asked, capability+" "+target)
		return strings.HasSuffix(target, "a.txt"), nil
	}
	mustSucceed(t, f.run(`fs.write("out/a.txt", "x")`))
	mustFail[*ConfirmDeniedError](t, f.run(`fs.write("out/b.txt", "x")`))
	// The prompt never shows a labelled target.
	f.run(`fs.write("out/" + secret, "x")`)
	if len(asked) != 2 || asked[0] != "fs.write out/a.txt" {
		t.Fatalf("asked %q", asked)
	}
}

func TestCallLimits(t *testing.T) {
	f := execFixture(t)
	f.mutate = func(h *Host) { h.MaxTotalCalls = 3 }
	o := f.run(`for i in range(5):
    subprocess.exec(["echo", str(i)])`)
	l := mustFail[*LimitError](t, o)
	if l.Limit != "max_total_calls" || o.host.Calls() != 4 {
		t.Fatalf("limit %+v after %d calls", l, o.host.Calls())
	}
	if evs := eventsFor(o, "subprocess.exec"); len(evs) != 4 || evs[3].Status != audit.Denied {
		t.Fatalf("audit %+v", evs)
	}
	// Calls made under a local-only condition are not counted in the
	// result (the count would tell the condition), but they are audited.
	f.mutate = nil
	o = f.run(`subprocess.exec(["echo"])
if secret[0] == "s":
    env.read("PATH")`)
	mustSucceed(t, o)
	if o.host.Calls() != 1 || len(o.events) != 2 {
		t.Fatalf("%d calls counted, %d audited", o.host.Calls(), len(o.events))
	}
	f.mutate = func(h *Host) { h.MaxCallsPerCapability = map[policy.Capability]int64{policy.EnvRead: 1} }
	o = f.run(`env.read("PATH")
subprocess.exec(["echo"])
env.read("PATH")`)
	if l := mustFail[*LimitError](t, o); l.Limit != "max_calls_per_capability.env.read" {
		t.Fatalf("limit %+v", l)
	}
}

package builtins

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

const declassifyPolicy = `
[filesystem]
read_allow = ["{{ROOT}}/src/**"]
local_only_read = ["{{ROOT}}/secrets/**", "{{ROOT}}/zone/**"]
write_allow = ["{{ROOT}}/zone/**"]

[environment]
allow_vars = ["AEGIS_TEST_PUBLIC"]
local_only_vars = ["AEGIS_TEST_SECRET", "OTHER_SECRET"]

[network]
http_get_allow = ["api.test"]
local_only_hosts = ["vault.test"]
timeout_seconds = 5

[declassify]
"env:AEGIS_TEST_SECRET" = ["is_set", "equals_sha256", "contains", "has_keys", "count", "status_ok", "status"]
"file:{{ROOT}}/secrets/**" = ["is_set", "has_keys", "count", "equals_sha256"]
"host:vault.test" = ["status_ok", "status"]
`

func declassifyFixture(t *testing.T, g *fakeGate) (*fixture, *recorder) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/auth" && r.Header.Get("X-Token") == secretValue:
			w.WriteHeader(204)
		case r.URL.Path == "/auth":
			w.WriteHeader(401)
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/elsewhere", 307)
		default:
			w.Write([]byte(strings.Repeat("body ", 1000)))
		}
	})
	f := newFixture(t, declassifyPolicy, map[string]string{
		"src/a.txt":          "alpha",
		"secrets/token":      secretValue,
		"secrets/conf.json":  `{"url": "x", "key": "` + secretValue + `"}`,
		"secrets/app.log":    "ok\nERROR one\nfine\nERROR two\nERROR three\n",
		"zone/copy":          "zone data",
		"secrets/empty.file": "",
	})
	f.environ = append(f.environ, "OTHER_SECRET=other")
	for _, host := range []string{"api.test", "vault.test"} {
		f.resolver.hosts[host] = []netip.Addr{rec.addr.Addr()}
	}
	f.mutate = func(h *Host) { h.Gate = g }
	return f, rec
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// An allowed release returns a public value (printed as is), is charged its
// bits to the source's principal through the gate, and is recorded as a
// declassify audit record with the bits, the principal and the position.
func TestReleasesOfAnEnvironmentVariable(t *testing.T) {
	cases := []struct {
		call string
		want string
		bits int64
	}{
		{`declassify.is_set(env="AEGIS_TEST_SECRET")`, "True", 1},
		{`declassify.equals_sha256("` + sha(secretValue) + `", env="AEGIS_TEST_SECRET")`, "True", 1},
		{`declassify.equals_sha256("` + strings.ToUpper(sha(secretValue)) + `", env="AEGIS_TEST_SECRET")`, "True", 1},
		{`declassify.equals_sha256("` + sha("guess") + `", env="AEGIS_TEST_SECRET")`, "False", 1},
		{`declassify.contains("Zq8v", env="AEGIS_TEST_SECRET")`, "True", 1},
		{`declassify.contains("nope", env="AEGIS_TEST_SECRET")`, "False", 1},
		{`declassify.has_keys(["a"], env="AEGIS_TEST_SECRET")`, "False", 1},
		{`declassify.count("-", env="AEGIS_TEST_SECRET")`, "1", 10},
		{`declassify.count("-", env="AEGIS_TEST_SECRET", max=0)`, "1", 1},
		{`declassify.count("y", env="AEGIS_TEST_SECRET", max=6)`, "0", 3},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			g := &fakeGate{spent: map[string]bool{}}
			f, _ := declassifyFixture(t, g)
			o := f.run("print(" + c.call + ")")
			mustSucceed(t, o)
			if o.stdout != c.want+"\n" {
				t.Errorf("stdout %q, want %q", o.stdout, c.want)
			}
			want := []release{{[]string{"env:AEGIS_TEST_SECRET"}, c.bits}}
			if !reflect.DeepEqual(g.releases, want) {
				t.Errorf("releases %+v, want %+v", g.releases, want)
			}
			if len(g.asked) != 1 {
				t.Errorf("the source was admitted %d times: %v", len(g.asked), g.asked)
			}
			name := c.call[:strings.IndexByte(c.call, '(')]
			evs := eventsFor(o, name)
			if len(evs) != 1 {
				t.Fatalf("declassify events %+v", o.events)
			}
			ev := evs[0]
			if ev.Kind != audit.KindDeclassify || ev.Bits != c.bits || ev.Status != audit.Allowed ||
				!reflect.DeepEqual(ev.Labels, []string{"env:AEGIS_TEST_SECRET"}) || !strings.HasPrefix(ev.Position, "task.star:1:") ||
				ev.Target != "AEGIS_TEST_SECRET" || ev.Section != "[declassify]" {
				t.Errorf("audit record %+v", ev)
			}
			if reads := eventsFor(o, "env.read"); len(reads) != 1 || reads[0].Status != audit.Allowed {
				t.Errorf("the read is not recorded as an allowed env.read: %+v", reads)
			}
		})
	}
}

func TestReleasesOfAFile(t *testing.T) {
	cases := []struct{ call, want string }{
		{`declassify.is_set(path=ROOT + "/secrets/token")`, "True"},
		{`declassify.is_set(path=ROOT + "/secrets/missing")`, "False"},
		{`declassify.is_set(path=ROOT + "/secrets/empty.file")`, "True"},
		{`declassify.has_keys(["url", "key"], path=ROOT + "/secrets/conf.json")`, "True"},
		{`declassify.has_keys(("url", "nope"), path=ROOT + "/secrets/conf.json")`, "False"},
		{`declassify.has_keys(["url"], path=ROOT + "/secrets/token")`, "False"},
		{`declassify.count("ERROR", path=ROOT + "/secrets/app.log")`, "3"},
		{`declassify.count("ERROR", path=ROOT + "/secrets/app.log", max=2)`, "3"},
		{`declassify.count("ERROR", path=ROOT + "/secrets/app.log", max=1)`, "2"},
		{`declassify.count("", path=ROOT + "/secrets/app.log")`, "5"},
		{`declassify.equals_sha256("` + sha(secretValue) + `", path=ROOT + "/secrets/token")`, "True"},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			g := &fakeGate{spent: map[string]bool{}}
			f, _ := declassifyFixture(t, g)
			o := f.run("print(" + c.call + ")")
			mustSucceed(t, o)
			if o.stdout != c.want+"\n" {
				t.Errorf("stdout %q, want %q", o.stdout, c.want)
			}
			if len(g.releases) != 1 || !reflect.DeepEqual(g.releases[0].principals, []string{"file:" + f.root + "/secrets/**"}) {
				t.Errorf("releases %+v", g.releases)
			}
		})
	}
}

// A release the policy does not list is denied before anything is read or
// charged, and the message names the [declassify] entry to add.
func TestReleaseNotListedIsDenied(t *testing.T) {
	for _, c := range []struct{ call, entry string }{
		{`declassify.contains("a", env="OTHER_SECRET")`, `"contains" to [declassify]."env:OTHER_SECRET"`},
		{`declassify.contains("a", path=ROOT + "/secrets/token")`, `"contains" to [declassify]."file:{{ROOT}}/secrets/**"`},
		{`declassify.is_set(path=ROOT + "/zone/copy")`, `"is_set" to [declassify]."file:{{ROOT}}/zone/**"`},
	} {
		t.Run(c.call, func(t *testing.T) {
			g := &fakeGate{spent: map[string]bool{}}
			f, _ := declassifyFixture(t, g)
			o := f.run(c.call)
			de := mustFail[*policy.DeniedError](t, o)
			entry := strings.ReplaceAll(c.entry, "{{ROOT}}", f.root)
			if !strings.Contains(de.Error(), "to allow it, add "+entry) {
				t.Errorf("message does not name the entry %s:\n%s", entry, de.Error())
			}
			if strings.Contains(de.Error(), "to allow it: to allow it") {
				t.Errorf("doubled wording: %s", de.Error())
			}
			if starlark.ErrorLabel(o.err) != labels.Public {
				t.Errorf("a denial of a public request must be public, label %v", starlark.ErrorLabel(o.err))
			}
			if len(g.releases) != 0 {
				t.Errorf("a denied release was charged: %v", g.releases)
			}
			if strings.Contains(c.call, "env=") && len(g.asked) != 0 {
				t.Errorf("the variable was admitted before the denial: %v", g.asked)
			}
			for _, ev := range o.events {
				if ev.Kind == audit.KindDeclassify || ev.Status == audit.Allowed {
					t.Errorf("unexpected record %+v", ev)
				}
			}
		})
	}
}

// Only public control and public values choose a release: under a labelled
// pc the call is a flow error labelled by the pc (the runner charges such an
// ending); a labelled argument, whatever its type, is a public flow error,
// stopped before the source is read; headers may be labelled.
func TestReleaseIsChosenByPublicDataOnly(t *testing.T) {
	g := &fakeGate{spent: map[string]bool{}}
	f, _ := declassifyFixture(t, g)
	o := f.run(`
if secret:
    declassify.is_set(env="AEGIS_TEST_SECRET")
`)
	mustFail[*starlark.FlowError](t, o)
	if starlark.ErrorLabel(o.err) == labels.Public {
		t.Error("a release refused under a labelled pc has a public error")
	}
	if len(g.asked) != 0 || len(g.releases) != 0 {
		t.Errorf("gate asked %v %v", g.asked, g.releases)
	}
	// The audit record says why: the condition (the arguments and the shape
	// are labelled by the pc too, but the pc is the cause to name).
	if fl := eventsFor(o, "declassify.is_set"); len(fl) != 1 || !strings.Contains(fl[0].Reason, "ask before the condition") {
		t.Errorf("audit %+v", o.events)
	}

	for _, script := range []string{
		`declassify.contains(secret[:3], env="AEGIS_TEST_SECRET")`,
		`declassify.contains(len(secret), env="AEGIS_TEST_SECRET")`, // labelled and of the wrong type
		`declassify.is_set(env=("AEGIS_TEST_SECRET" if secret else "OTHER_SECRET"))`,
		`declassify.has_keys(["a", secret], env="AEGIS_TEST_SECRET")`,
		`declassify.count("a", env="AEGIS_TEST_SECRET", max=len(secret))`,
		`declassify.equals_sha256(sha256(secret), env="AEGIS_TEST_SECRET")`,
		`declassify.status_ok("http://vault.test:1/" + secret[0])`,
		`declassify.is_set(**{("env" if secret else "path"): "AEGIS_TEST_SECRET"})`,
		`declassify.contains(*(["a", "AEGIS_TEST_SECRET"] if secret else ["a"]))`,
	} {
		g := &fakeGate{spent: map[string]bool{}}
		f.mutate = func(h *Host) { h.Gate = g }
		o := f.run(script)
		fe := mustFail[*starlark.FlowError](t, o)
		if !strings.HasPrefix(fe.Sink, "declassify.") {
			t.Errorf("%s: flow error %+v", script, fe)
		}
		shapeLabelled := strings.Contains(script, "*")
		if lab := starlark.ErrorLabel(o.err); (lab == labels.Public) == shapeLabelled {
			t.Errorf("%s: error label %v (a labelled argument at a public pc is a public refusal; a labelled shape is not)", script, lab)
		}
		if len(g.asked) != 0 || len(g.releases) != 0 {
			t.Errorf("%s: gate asked %v %v", script, g.asked, g.releases)
		}
		if fl := eventsFor(o, fe.Sink); len(fl) != 1 || fl[0].Kind != audit.KindFlow || fl[0].Status != audit.Denied {
			t.Errorf("%s: audit %+v", script, o.events)
		}
	}
}

// status_ok and status: the response's principal and every principal of
// the headers must allow the kind; each is charged; the body is not read; a
// missing answer is 0 (False), a redirect its status.
func TestStatusReleases(t *testing.T) {
	g := &fakeGate{spent: map[string]bool{}}
	f, rec := declassifyFixture(t, g)
	base := "http://vault.test:" + rec.port()
	o := f.run(`
print(declassify.status_ok("` + base + `/auth", headers={"X-Token": secret}))
print(declassify.status("` + base + `/auth", headers={"X-Token": "wrong"}))
print(declassify.status("` + base + `/moved"))
print(declassify.status_ok("` + base + `/big"))
print(declassify.status("http://api.test:` + rec.port() + `/auth"))
`)
	mustSucceed(t, o)
	if o.stdout != "True\n401\n307\nTrue\n401\n" {
		t.Errorf("stdout %q", o.stdout)
	}
	want := []release{
		{[]string{"env:AEGIS_TEST_SECRET", "host:vault.test"}, 1},
		{[]string{"host:vault.test"}, policy.StatusBits},
		{[]string{"host:vault.test"}, policy.StatusBits},
		{[]string{"host:vault.test"}, 1},
	}
	if !reflect.DeepEqual(g.releases, want) {
		t.Errorf("releases %+v\nwant %+v (a public host is not charged)", g.releases, want)
	}
	// No answer: status 0, recorded as a failed request, still charged.
	g.releases = nil
	o = f.run(`print(declassify.status("http://vault.test:1/x"), declassify.status_ok("http://vault.test:1/x"))`)
	mustSucceed(t, o)
	if o.stdout != "0 False\n" || len(g.releases) != 2 {
		t.Errorf("stdout %q releases %v", o.stdout, g.releases)
	}
	var errored int
	for _, ev := range eventsFor(o, "net.http_get") {
		if ev.Status == audit.Errored {
			errored++
		}
	}
	if errored != 2 {
		t.Errorf("failed requests not recorded: %+v", o.events)
	}
	// Headers from a principal that does not allow it: denied, not sent.
	before := len(rec.requests())
	o = f.run(`declassify.status_ok("` + base + `/auth", headers={"X-Token": env.read("OTHER_SECRET")})`)
	de := mustFail[*policy.DeniedError](t, o)
	if !strings.Contains(de.Error(), `"status_ok" to [declassify]."env:OTHER_SECRET"`) {
		t.Errorf("denial %v", de)
	}
	if len(rec.requests()) != before {
		t.Error("the denied request was sent")
	}
	// Local-only headers to a public host: a flow error, as for net.*.
	o = f.run(`declassify.status_ok("http://api.test:` + rec.port() + `/auth", headers={"X-Token": secret})`)
	mustFail[*starlark.FlowError](t, o)
	if len(rec.requests()) != before {
		t.Error("local-only headers were sent to a public host")
	}
}

// A public source needs no [declassify] entry and is not charged.
func TestReleaseOfAPublicSourceIsFree(t *testing.T) {
	g := &fakeGate{spent: map[string]bool{}}
	f, _ := declassifyFixture(t, g)
	o := f.run(`print(declassify.contains("hello", env="AEGIS_TEST_PUBLIC"), declassify.count("a", path=ROOT + "/src/a.txt"))`)
	mustSucceed(t, o)
	if o.stdout != "True 1\n" {
		t.Errorf("stdout %q", o.stdout)
	}
	if len(g.releases) != 0 || len(g.asked) != 0 {
		t.Errorf("a public release was charged: %v %v", g.releases, g.asked)
	}
	for _, ev := range o.events {
		if ev.Kind == audit.KindDeclassify {
			t.Errorf("a public release was recorded as a declassification: %+v", ev)
		}
	}
}

// The budget refuses a release publicly, records the refusal, and nothing
// is released.
func TestReleaseRefusedByTheBudget(t *testing.T) {
	g := &fakeGate{spent: map[string]bool{}, releaseErr: &BudgetError{Principals: []string{"env:AEGIS_TEST_SECRET"},
		Key: "max_leak_bits", Limit: 64, Left: 0, Release: 1, Scope: "the test log"}}
	f, _ := declassifyFixture(t, g)
	o := f.run(`print(declassify.is_set(env="AEGIS_TEST_SECRET"))`)
	be := mustFail[*BudgetError](t, o)
	if be.Capability != "declassify.is_set" || !strings.Contains(be.Error(), "the release would charge 1 bits to env:AEGIS_TEST_SECRET") {
		t.Errorf("refusal %v", be)
	}
	if starlark.ErrorLabel(o.err) != labels.Public {
		t.Error("a budget refusal of a release must be public")
	}
	if o.stdout != "" {
		t.Errorf("stdout %q", o.stdout)
	}
	for _, ev := range o.events {
		if ev.Kind == audit.KindDeclassify {
			t.Errorf("a refused release was recorded as made: %+v", ev)
		}
	}
}

// Bad public parameters are ordinary public errors that say what to give.
func TestReleaseParameterErrors(t *testing.T) {
	g := &fakeGate{spent: map[string]bool{}}
	f, _ := declassifyFixture(t, g)
	for script, want := range map[string]string{
		`declassify.is_set()`: "give exactly one source",
		`declassify.is_set(env="AEGIS_TEST_SECRET", path=ROOT + "/secrets/token")`: "give exactly one source",
		`declassify.equals_sha256("abc", env="AEGIS_TEST_SECRET")`:                 "64 hex digits",
		`declassify.count("a", env="AEGIS_TEST_SECRET", max=-1)`:                   "max must be an integer from 0",
		`declassify.contains(1, env="AEGIS_TEST_SECRET")`:                          "needle must be a string",
		`declassify.has_keys("a", env="AEGIS_TEST_SECRET")`:                        "keys",
		`declassify.status_ok(1)`:                                                  "url must be a string",
	} {
		o := f.run(script)
		if o.err == nil || !strings.Contains(o.err.Error(), want) {
			t.Errorf("%s: error %v, want %q", script, o.err, want)
		}
		if starlark.ErrorLabel(o.err) != labels.Public {
			t.Errorf("%s: error label %v", script, starlark.ErrorLabel(o.err))
		}
	}
	if len(g.releases) != 0 {
		t.Errorf("charged %v", g.releases)
	}
}

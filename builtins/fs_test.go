package builtins

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

const fsPolicy = `
[filesystem]
read_allow = ["src/**", "public/**"]
local_only_read = ["secrets/**", "zone/**"]
write_allow = ["public/**", "zone/**"]
delete_allow = ["public/**"]
deny = ["src/private/**"]
`

func fsFixture(t *testing.T) *fixture {
	return newFixture(t, fsPolicy, map[string]string{
		"src/main.go":         "package main\n",
		"src/private/key":     "nope",
		"secrets/token":       secretValue,
		"secrets/other":       "x",
		"public/readme.txt":   "hello",
		"zone/.keep":          "",
		"outside/not-allowed": "outside",
	})
}

// A denial of a target computed from local-only data is the same error
// type, with the target withheld: the message names neither the path nor
// the policy's reason (which names it), and the error is labelled.
func TestDenialOfALabelledTargetWithholdsIt(t *testing.T) {
	f := fsFixture(t)
	o := f.run(`s = fs.read("secrets/token")
fs.read("outside/" + s)`)
	d := mustFail[*policy.DeniedError](t, o)
	if !d.Withheld || d.Target != audit.Redacted || d.Capability != policy.FSRead {
		t.Errorf("fields %+v", d)
	}
	if msg := d.Error(); strings.Contains(msg, secretValue) || strings.Contains(msg, d.Reason) || strings.Contains(msg, d.Hint) ||
		!strings.HasPrefix(msg, "policy denies fs.read "+audit.Redacted) {
		t.Errorf("message %q", msg)
	}
	if starlark.ErrorLabel(o.err) == labels.Public {
		t.Errorf("the denial of a secret-chosen target is public: %v", o.err)
	}
}

func TestFSReadAllowedAndDenied(t *testing.T) {
	f := fsFixture(t)
	o := f.run(`print(fs.read("src/main.go").strip())`)
	mustSucceed(t, o)
	if o.stdout != "package main\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	evs := eventsFor(o, "fs.read")
	if len(evs) != 1 || evs[0].Status != audit.Allowed || evs[0].Target != "src/main.go" || evs[0].Rule != "src/**" {
		t.Fatalf("audit %+v", evs)
	}

	for _, path := range []string{"src/private/key", "outside/not-allowed", "/etc/hostname", "src/../outside/not-allowed"} {
		o := f.run(`fs.read(` + strconv.Quote(path) + `)`)
		d := mustFail[*policy.DeniedError](t, o)
		if d.Capability != "fs.read" || !strings.Contains(o.err.Error(), "fs.read") || !strings.Contains(o.err.Error(), "denied") {
			t.Errorf("%s: %v", path, o.err)
		}
		if d.Hint == "" {
			t.Errorf("%s: the denial does not say how to allow it: %v", path, o.err)
		}
		if evs := eventsFor(o, "fs.read"); len(evs) != 1 || evs[0].Status != audit.Denied {
			t.Errorf("%s: audit %+v", path, evs)
		}
	}
}

func TestFSSymlinkEscapes(t *testing.T) {
	f := fsFixture(t)
	outside := filepath.Join(f.root, "outside", "not-allowed")
	// A link inside an allowed tree pointing out of it.
	if err := os.Symlink(outside, filepath.Join(f.root, "src", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.root, "outside"), filepath.Join(f.root, "public", "dirlink")); err != nil {
		t.Fatal(err)
	}
	// A link inside a public tree pointing at a local-only file.
	if err := os.Symlink(filepath.Join(f.root, "secrets", "token"), filepath.Join(f.root, "public", "tok")); err != nil {
		t.Fatal(err)
	}
	mustFail[*policy.DeniedError](t, f.run(`fs.read("src/link")`))
	mustFail[*policy.DeniedError](t, f.run(`fs.write("public/dirlink/x", "y")`))
	if _, err := os.Stat(filepath.Join(f.root, "outside", "x")); err == nil {
		t.Fatal("a write escaped through a symlinked directory")
	}
	mustFail[*policy.DeniedError](t, f.run(`fs.delete("public/dirlink/not-allowed")`))
	if _, err := os.Stat(outside); err != nil {
		t.Fatal("a delete escaped through a symlinked directory")
	}
	// Reading the local-only file through a public link still labels it.
	o := f.run(`print("got", fs.read("public/tok"))`)
	mustSucceed(t, o)
	if o.stdout != "got [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
}

func TestFSLocalOnlyReadIsLabelled(t *testing.T) {
	f := fsFixture(t)
	o := f.run(`s = fs.read("secrets/token")
print("len", len(s) > 0, "value", s)`)
	mustSucceed(t, o)
	if o.stdout != "len [REDACTED] value [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	evs := eventsFor(o, "fs.read")
	if len(evs) != 1 || len(evs[0].Labels) == 0 || evs[0].Labels[0] != "file:secrets/**" {
		t.Fatalf("audit labels %+v", evs)
	}
}

func TestFSWriteSink(t *testing.T) {
	f := fsFixture(t)
	mustSucceed(t, f.run(`fs.write("public/out.txt", "plain")`))
	if b, _ := os.ReadFile(filepath.Join(f.root, "public", "out.txt")); string(b) != "plain" {
		t.Fatalf("public write: %q", b)
	}

	leaks := map[string]string{
		"content":         `fs.write("public/leak.txt", secret)`,
		"hex transform":   `fs.write("public/leak.txt", hex.encode(secret))`,
		"reversed":        `fs.write("public/leak.txt", secret[::-1])`,
		"xor":             `fs.write("public/leak.txt", "".join([chr(ord(c) ^ 0x5a) for c in secret.elems()]))`,
		"path":            `fs.write("public/" + secret[:4] + ".txt", "x")`,
		"under a branch":  "if secret[0] == 's':\n    fs.write(\"public/leak.txt\", \"bit\")",
		"local-only file": `fs.write("public/leak.txt", fs.read("secrets/token"))`,
		"json of a dict":  `fs.write("public/leak.txt", json.encode({"k": secret}))`,
		"base64":          `fs.write("public/leak.txt", base64.encode(secret))`,
	}
	for name, src := range leaks {
		t.Run(name, func(t *testing.T) {
			o := f.run(src)
			fe := mustFail[*starlark.FlowError](t, o)
			if fe.Sink != "fs.write" && fe.Sink != "print" {
				t.Errorf("sink %q", fe.Sink)
			}
			entries, _ := os.ReadDir(filepath.Join(f.root, "public"))
			for _, e := range entries {
				if e.Name() != "readme.txt" && e.Name() != "out.txt" {
					t.Fatalf("a file was written: %s", e.Name())
				}
			}
			if evs := eventsFor(o, "fs.write"); len(evs) != 1 || evs[0].Kind != audit.KindFlow || evs[0].Status != audit.Denied {
				t.Fatalf("audit %+v", evs)
			}
		})
	}
}

func TestFSZoneRoundTrip(t *testing.T) {
	f := fsFixture(t)
	o := f.run(`fs.write("zone/derived.txt", secret.upper()[::-1])
t = fs.read("zone/derived.txt")
print("stored", t)`)
	mustSucceed(t, o)
	if o.stdout != "stored [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	b, err := os.ReadFile(filepath.Join(f.root, "zone", "derived.txt"))
	if err != nil || len(b) != len(secretValue) {
		t.Fatalf("zone file: %q %v", b, err)
	}
	// A public value written into the zone reads back labelled too.
	o = f.run(`fs.write("zone/plain.txt", "public")
print(fs.read("zone/plain.txt"))`)
	mustSucceed(t, o)
	if o.stdout != "[REDACTED]\n" {
		t.Fatalf("zone read-back %q", o.stdout)
	}
}

func TestFSDelete(t *testing.T) {
	f := fsFixture(t)
	mustSucceed(t, f.run(`fs.write("public/a.txt", "x")
fs.delete("public/a.txt")
print(fs.exists("public/a.txt"))`))
	mustFail[*policy.DeniedError](t, f.run(`fs.delete("src/main.go")`))
	mustFail[*starlark.FlowError](t, f.run(`fs.write("public/b.txt", "x")
if secret.startswith("sk"):
    fs.delete("public/b.txt")`))
	if _, err := os.Stat(filepath.Join(f.root, "public", "b.txt")); err != nil {
		t.Fatal("the file was deleted under a secret condition")
	}
}

func TestFSListAndExists(t *testing.T) {
	f := fsFixture(t)
	o := f.run(`print(fs.list("src"))
print(fs.list("secrets"))
n = fs.list("secrets")
print(len(n))
print(fs.exists("src/main.go"), fs.exists("src/nope"), fs.exists("secrets/token"))`)
	mustSucceed(t, o)
	want := "[\"main.go\", \"private\"]\n[REDACTED]\n[REDACTED]\nTrue False [REDACTED]\n"
	if o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
}

func TestFSErrorsOfLocalOnlyPathsAreLabelled(t *testing.T) {
	f := fsFixture(t)
	// The error names a path built from the secret: its message is labelled.
	o := f.run(`fs.read("src/" + secret)`)
	if o.err == nil || starlark.ErrorLabel(o.err) == 0 {
		t.Fatalf("error %v with label %v", o.err, starlark.ErrorLabel(o.err))
	}
	for _, e := range o.events {
		if e.Target != audit.Redacted {
			t.Fatalf("audit target %q for a labelled path", e.Target)
		}
	}
}

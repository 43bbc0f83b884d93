package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/builtins/effect"
)

const jailPolicy = `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**", "zone/**"]
write_allow = ["out/**", "zone/**"]

[subprocess]
allow_commands = ["cat", "cp", "sh"]
sandbox = "bwrap"
`

func TestJail(t *testing.T) {
	p := newProject(t, jailPolicy, map[string]string{
		"src/a.txt":     "alpha\n",
		"secrets/token": secretValue,
		"out/.keep":     "",
		"zone/.keep":    "",
	})
	if _, err := effect.BwrapPath(); err != nil {
		// Where bwrap cannot run, the run fails before the script starts.
		res := p.run(`print("never")`)
		want(t, res, IOError, "bwrap")
		if res.Stdout != "" {
			t.Fatalf("ran unjailed: %q", res.Stdout)
		}
		return
	}
	// A command that names a local-only file runs with labelled output.
	res := p.run(`print(subprocess.exec(["cat", "secrets/token"]))`)
	want(t, res, OK)
	if res.Stdout != "[REDACTED]\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	// A command with public output does not see local-only files at all,
	// even when the path is hidden from the argv gate inside a shell line.
	res = p.run(`print(subprocess.exec(["sh", "-c", "cat secrets/token || echo hidden"]))`)
	want(t, res, OK)
	if !strings.Contains(res.Stdout, "hidden") {
		t.Fatalf("stdout %q", res.Stdout)
	}
	// It can still write where the policy allows.
	res = p.run(`subprocess.exec(["sh", "-c", "echo made > out/made.txt"])`)
	want(t, res, OK)
	if b, _ := os.ReadFile(filepath.Join(p.root, "out", "made.txt")); string(b) != "made\n" {
		t.Fatalf("public write in the jail: %q", b)
	}
	// A command reading local-only files may write only into the zone.
	res = p.run(`subprocess.exec(["cp", "secrets/token", "src/leak"])`)
	if res.ExitCode == 0 {
		t.Fatal("cp of a local-only file into a read-only tree succeeded")
	}
	if _, err := os.Stat(filepath.Join(p.root, "src", "leak")); err == nil {
		t.Fatal("a local-only file was copied out of the zone")
	}
	res = p.run(`subprocess.exec(["cp", "secrets/token", "zone/copy"])
print(fs.read("zone/copy"))`)
	want(t, res, OK)
	if res.Stdout != "[REDACTED]\n" {
		t.Fatalf("zone copy: %q", res.Stdout)
	}
	// Nothing outside the policy's paths is visible.
	res = p.run(`print(subprocess.exec(["sh", "-c", "ls /root /home 2>&1; cat /etc/shadow 2>&1 | head -c 20"]))`)
	if strings.Contains(res.Stdout, "root:") {
		t.Fatalf("the jail shows /etc/shadow: %q", res.Stdout)
	}
}

func TestStaticPrefix(t *testing.T) {
	cases := map[string]string{
		"src/**":        "/r/src",
		"src/*.go":      "/r/src",
		"*.json":        "/r",
		".env":          "/r",
		"/etc/ssl/**":   "/etc/ssl",
		"~/.cache/x/**": "/h/.cache/x",
		"**/secrets/**": "/r",
		"/**":           "/",
		"a/b{c,d}/e":    "/r/a",
	}
	for pat, want := range cases {
		if got := staticPrefix(pat, "/r", "/h"); got != want {
			t.Errorf("%s: %s, want %s", pat, got, want)
		}
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/builtins/effect"
)

// The reproduction of issue 10: with a default template and a local-only
// file, a script writes a program that reads the file and runs it through
// an allowed toolchain. The sandbox the template turns on must keep the
// secret from the program; the program itself must run.
func TestTemplateSandboxKeepsLocalOnlyFilesFromPrograms(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang, marker, program, script string
	}{
		{"go", "go.mod", "go", `fs.write("tool.go", 'package main\nimport ("fmt"; "os")\nfunc main() { b, err := os.ReadFile("private/token"); fmt.Println("tool ran:", string(b), err) }\n')
print(subprocess.exec(["go", "run", "tool.go"]))`},
		{"python", "pyproject.toml", "python3", `fs.write("src/helper.py", 'try:\n    print("tool ran:", open("private/token").read())\nexcept OSError as e:\n    print("tool ran:", e)\n')
print(subprocess.exec(["python3", "src/helper.py"]))`},
	} {
		t.Run(c.lang, func(t *testing.T) {
			if _, err := exec.LookPath(c.program); err != nil {
				t.Fatalf("%s is needed for this test: %v", c.program, err)
			}
			dir := project(t, map[string]string{
				c.marker:        "module example.com/x\n\ngo 1.22\n",
				"private/token": e2eSecret,
				"task.star":     c.script,
			})
			if c.marker != "go.mod" {
				os.WriteFile(filepath.Join(dir, c.marker), []byte("[project]\nname = \"x\"\n"), 0o644)
			}
			if code, _, stderr := aegis(t, dir, "init", "--lang", c.lang); code != 0 {
				t.Fatalf("init: %s", stderr)
			}
			b, err := os.ReadFile(filepath.Join(dir, "aegis.toml"))
			if err != nil {
				t.Fatal(err)
			}
			pol := string(b)
			if !strings.Contains(pol, "\nsandbox = \"auto\"\n") {
				t.Fatalf("the template does not turn the sandbox on:\n%s", pol)
			}
			pol = strings.Replace(pol, `# local_only_read = ["fixtures/private/**"]`, `local_only_read = ["private/**"]`, 1)
			pol = strings.Replace(pol, `# requires_approval = ["!subprocess.exec"]`, `requires_approval = ["!subprocess.exec"]`, 1)
			env := []string{"HOME=" + home} // the toolchain's real caches
			if gc, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && c.lang == "go" {
				env = append(env, "GOCACHE="+strings.TrimSpace(string(gc)))
			}
			// The default (bwrap here) makes the file absent; Landlock,
			// the fallback, makes it unreadable.
			for mode, refusal := range map[string]string{"auto": "no such file", "landlock": "permission denied"} {
				p := strings.Replace(pol, "\nsandbox = \"auto\"\n", "\nsandbox = \""+mode+"\"\n", 1)
				if err := os.WriteFile(filepath.Join(dir, "aegis.toml"), []byte(p), 0o644); err != nil {
					t.Fatal(err)
				}
				r := e2e(t, dir, "", env, "run", "--policy", "aegis.toml", "task.star")
				noSecret(t, dir, r)
				if r.code != 0 || !strings.Contains(r.stdout, "tool ran:") {
					t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", mode, r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(strings.ToLower(r.stdout), refusal) {
					t.Errorf("%s: the local-only file was not refused: %s", mode, r.stdout)
				}
				if strings.Contains(r.stderr, "warning") {
					t.Errorf("%s: a sandboxed run warns: %s", mode, r.stderr)
				}
			}
		})
	}
}

func TestUnjailedPolicyWarns(t *testing.T) {
	dir := project(t, map[string]string{
		"aegis.toml": "[subprocess]\nallow_commands = [\"echo\"]\nsandbox = \"none\"\n",
		"task.star":  "print(subprocess.exec(['echo', 'hi']))\n",
	})
	code, stdout, stderr := aegis(t, dir, "policy", "validate", "aegis.toml")
	if code != 0 || !strings.Contains(stderr, "warning: "+effect.UnjailedWarning) {
		t.Fatalf("validate: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = aegis(t, dir, "policy", "validate", "--json", "aegis.toml")
	if code != 0 || !strings.Contains(stdout, `"warnings"`) {
		t.Fatalf("validate --json: %s", stdout)
	}
	r := e2e(t, dir, "", nil, "run", "--policy", "aegis.toml", "task.star")
	if r.code != 0 || r.stdout != "hi\n\n" || !strings.Contains(r.stderr, "warning: "+effect.UnjailedWarning) {
		t.Fatalf("run: %+v", r)
	}
	// The sandbox on: no warning (inherits = "none" says the missing
	// preset is deliberate, which silences that other warning).
	os.WriteFile(filepath.Join(dir, "aegis.toml"), []byte("inherits = \"none\"\n[subprocess]\nallow_commands = [\"echo\"]\n"), 0o644)
	if _, _, stderr := aegis(t, dir, "policy", "validate", "aegis.toml"); strings.Contains(stderr, "warning") {
		t.Fatalf("validate warns with the sandbox on: %s", stderr)
	}
}

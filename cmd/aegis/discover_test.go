package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The first hour: after `aegis init`, every command finds ./aegis.toml
// (or the nearest one above, up to the repository root) without --policy,
// and says which file it used.
func TestCommandsDiscoverThePolicy(t *testing.T) {
	dir := project(t, map[string]string{"pyproject.toml": "", "main.py": "print('hi')\n", "sub/deeper/.keep": "",
		"t.star": `print(fs.read("main.py").strip())`})
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir)
	if code, _, errOut := aegis(t, dir, "init", "--lang", "python"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	policyFile := filepath.Join(dir, "aegis.toml")
	for _, where := range []string{dir, filepath.Join(dir, "sub", "deeper")} {
		code, out, errOut := aegis(t, where, "run", filepath.Join(dir, "t.star"))
		if code != 0 || out != "print('hi')\n" {
			t.Fatalf("run from %s: exit %d, stdout %q, stderr %s", where, code, out, errOut)
		}
		if !strings.Contains(errOut, "using the policy "+policyFile) {
			t.Errorf("run from %s does not say which policy it used: %s", where, errOut)
		}
		code, out, errOut = aegis(t, where, "policy", "validate")
		if code != 0 || !strings.Contains(out, "OK: "+policyFile+" is valid") || !strings.Contains(out, "subprocess.exec") {
			t.Errorf("validate from %s: %d\n%s\n%s", where, code, out, errOut)
		}
		code, out, _ = aegis(t, where, "policy", "explain", "fs.read", filepath.Join(dir, "main.py"))
		if code != 0 || !strings.HasPrefix(out, "ALLOWED") {
			t.Errorf("explain from %s: %d %s", where, code, out)
		}
		if code, out, _ = aegis(t, where, "policy", "show"); code != 0 || !strings.Contains(out, policyFile) {
			t.Errorf("show from %s: %d %s", where, code, out)
		}
	}
	// --policy still wins.
	other := filepath.Join(dir, "sub", "other.toml")
	if err := os.WriteFile(other, []byte("inherits = \"secure-defaults\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := aegis(t, dir, "policy", "explain", "--policy", other, "fs.read", "main.py")
	if code != exitDenied || strings.Contains(errOut, "using the policy") || !strings.HasPrefix(out, "DENIED") {
		t.Errorf("--policy did not win: %d\n%s\n%s", code, out, errOut)
	}
}

// The search stops at the repository root: a policy above it belongs to
// another project.
func TestDiscoveryStopsAtTheRepositoryRoot(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": "inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"**\"]\n", "repo/src/a.txt": "a"})
	if err := os.Mkdir(filepath.Join(dir, "repo", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir)
	code, out, errOut := aegis(t, filepath.Join(dir, "repo", "src"), "policy", "validate")
	if code != 0 || !strings.Contains(out, "secure-defaults preset") || !strings.Contains(errOut, "up to the repository root") {
		t.Errorf("crossed the repository root: %d\n%s\n%s", code, out, errOut)
	}
}

// A policy another user could have planted is not used.
func TestDiscoveryRefusesAWorldWritablePolicy(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": "inherits = \"none\"\n[filesystem]\nread_allow = [\"/**\"]\n", "work/x": ""})
	if err := os.Chmod(filepath.Join(dir, "aegis.toml"), 0o666); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir)
	code, out, errOut := aegis(t, filepath.Join(dir, "work"), "run", "--json", "-")
	if code != exitConfig || !strings.Contains(errOut, "writable by everyone") || !strings.Contains(out, `"exit_kind": "io_error"`) {
		t.Errorf("a planted policy was not refused: %d\n%s\n%s", code, out, errOut)
	}
}

func TestWarningForAPolicyWithoutInherits(t *testing.T) {
	dir := project(t, map[string]string{
		"bare.toml": "[filesystem]\nread_allow = [\"~/**\"]\n",
		"none.toml": "inherits = \"none\"\n[filesystem]\nread_allow = [\"src/**\"]\n",
		"good.toml": "inherits = \"secure-defaults\"\n",
		"t.star":    "print('x')\n",
	})
	t.Setenv("HOME", t.TempDir())
	for _, args := range [][]string{{"policy", "validate", "bare.toml"}, {"run", "--policy", "bare.toml", "t.star"}} {
		_, _, errOut := aegis(t, dir, args...)
		if !strings.Contains(errOut, "inherits no preset") || !strings.Contains(errOut, `inherits = "secure-defaults"`) || !strings.Contains(errOut, `inherits = "none"`) {
			t.Errorf("%v: no warning: %s", args, errOut)
		}
	}
	_, out, _ := aegis(t, dir, "policy", "validate", "--json", "bare.toml")
	if !strings.Contains(out, `"warnings"`) {
		t.Errorf("validate --json lacks the warning: %s", out)
	}
	for _, f := range []string{"none.toml", "good.toml"} {
		if _, _, errOut := aegis(t, dir, "policy", "validate", f); strings.Contains(errOut, "warning") {
			t.Errorf("%s: unexpected warning %s", f, errOut)
		}
	}
}

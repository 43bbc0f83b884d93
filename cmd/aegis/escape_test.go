package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// An error that quotes what a script chose reaches the terminal with its
// control characters shown, not sent (the policy's reason quotes the
// resolved path as it is).
func TestRunErrorsShowEscapes(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy, "t.star": "fs.read(\"a\\x1b[2J\\x1b]0;x\\x07b\")\n"})
	t.Setenv("HOME", t.TempDir())
	code, _, errOut := aegis(t, dir, "run", "t.star")
	if code != exitDenied || strings.ContainsAny(errOut, "\x1b\x07") || !strings.Contains(errOut, `a\x1b[2J\x1b]0;x\ab`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// --json carries the message as data: JSON escapes it, unchanged.
	_, out, _ := aegis(t, dir, "run", "--json", "t.star")
	if !strings.Contains(out, `a\u001b[2J`) {
		t.Errorf("--json: %s", out)
	}
}

// explain prints the policy's reason, which names the target as typed or
// as it resolves: a target with control characters (pasted from a script)
// reaches the terminal escaped, on stdout and in the usage errors on
// stderr.
func TestExplainShowsEscapes(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": samplePolicy})
	t.Setenv("HOME", t.TempDir())
	for _, args := range [][]string{
		{"policy", "explain", "fs.read", "/tmp/a\x1b[2Jb"},               // denied: the reason names the real path
		{"policy", "explain", "fs.read", "README.md\x1b]0;x\x07"},        // the resolved path differs from the spelling
		{"policy", "explain", "fs.read", "a\x1b[2J", "b"},                // usage error naming the words
		{"policy", "explain", "subprocess.exec", "\x1b[2Jgit", "status"}, // the program in the reason
	} {
		code, out, errOut := aegis(t, dir, args...)
		if strings.ContainsAny(out+errOut, "\x1b\x07") || !strings.Contains(out+errOut, `\x1b`) {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q", args, code, out, errOut)
		}
	}
}

// policy show prints what the policy file says; a description (or a
// directory name) holding control characters is shown escaped.
func TestPolicyShowShowsEscapes(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": "description = \"a\\u001b]0;x\\u0007b\"\n" + samplePolicy})
	t.Setenv("HOME", t.TempDir())
	code, out, errOut := aegis(t, dir, "policy", "show")
	if code != exitOK || strings.ContainsAny(out+errOut, "\x1b\x07") || !strings.Contains(out, `a\x1b]0;x\ab`) {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}

// A project whose directory name holds control characters: validate's
// report and an invalid policy's problems name it, escaped.
func TestValidateShowsEscapes(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	evil := "p\x1b]0;x\x07"
	dir := project(t, map[string]string{evil + "/aegis.toml": samplePolicy, evil + "/bad/aegis.toml": "[filesystem]\nread_allow = 3\n"})
	for _, sub := range []string{evil, evil + "/bad"} {
		code, out, errOut := aegis(t, filepath.Join(dir, sub), "policy", "validate")
		if strings.ContainsAny(out+errOut, "\x1b\x07") || !strings.Contains(out+errOut, `p\x1b]0;x\a`) {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q", sub, code, out, errOut)
		}
	}
}

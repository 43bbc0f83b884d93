package main

import (
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

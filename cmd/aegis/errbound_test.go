package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fail("x" * 30_000_000) writes its error to stderr (and into --json)
// capped by [runtime].max_output_bytes, saying it was cut; and a 1 MB path
// does not stop the next run.
func TestCLIErrorTextAndAuditStayBounded(t *testing.T) {
	dir := e2eProject(t, "\n[runtime]\nmax_output_bytes = 65536\n")
	if err := os.WriteFile(filepath.Join(dir, "big.star"), []byte(`fail("x" * 30000000)`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "--policy", "aegis.toml", "big.star"}, {"run", "--policy", "aegis.toml", "--json", "big.star"}} {
		r := e2e(t, dir, "", e2eEnv, args...)
		if r.code != 1 {
			t.Fatalf("%v: exit %d, stderr %.300s", args, r.code, r.stderr)
		}
		if n := len(r.stdout) + len(r.stderr); n > 65536+1024 {
			t.Fatalf("%v: %d bytes of output for a 64 KiB budget", args, n)
		}
		if !strings.Contains(r.stdout+r.stderr, "truncated") {
			t.Fatalf("%v: no truncation note", args)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "long.star"), []byte(`fs.read("src/" + "a" * 1048576)`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := e2e(t, dir, "", e2eEnv, "run", "--policy", "aegis.toml", "long.star"); r.code != 2 {
		t.Fatalf("long path: exit %d, stderr %.300s", r.code, r.stderr)
	}
	if r := e2e(t, dir, "", e2eEnv, "run", "--policy", "aegis.toml", "task.star"); r.code != 0 || r.stdout != "hello from a file\n" {
		t.Fatalf("the run after a 1 MB path: exit %d, stdout %q, stderr %.300s", r.code, r.stdout, r.stderr)
	}
	if r := e2e(t, dir, "", e2eEnv, "audit", "verify", ".aegis/audit.jsonl"); r.code != 0 {
		t.Fatalf("audit verify: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

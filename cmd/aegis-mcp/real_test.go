package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildReal builds the actual aegis-mcp and a project whose policy marks
// secrets/key local-only; it returns the binary and the project directory.
func buildReal(tb testing.TB) (bin, proj string) {
	tb.Helper()
	dir := tb.TempDir()
	bin = filepath.Join(dir, "aegis-mcp")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	proj = filepath.Join(dir, "proj")
	for name, content := range map[string]string{
		"aegis.toml":  "version = \"1\"\nname = \"real\"\n[filesystem]\nread_allow = [\"README.md\"]\nlocal_only_read = [\"secrets/**\"]\n",
		"README.md":   "public text\n",
		"secrets/key": "sk-live-real-binary-0042\n",
	} {
		p := filepath.Join(proj, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return bin, proj
}

func realServer(b *testing.B) *benchServer {
	bin, proj := buildReal(b)
	cmd := exec.Command(bin, "--policy", filepath.Join(proj, "aegis.toml"), "--audit-log", filepath.Join(b.TempDir(), "audit.jsonl"))
	cmd.Dir = proj
	return startBenchCommand(b, cmd)
}

// BenchmarkRoundTripReal and BenchmarkConcurrent4Real measure the same as
// their fake-backend twins with the real runner behind the server.
func BenchmarkRoundTripReal(b *testing.B)   { benchRoundTrip(b, realServer(b)) }
func BenchmarkConcurrent4Real(b *testing.B) { benchConcurrent4(b, realServer(b)) }

// TestRealBinary builds the actual aegis-mcp (policy engine and runner, no
// fake) and drives it over stdio under a policy with a local-only file.
func TestRealBinary(t *testing.T) {
	bin, proj := buildReal(t)
	dir := t.TempDir()
	p := startProcIn(t, proj, bin, "--policy", filepath.Join(proj, "aegis.toml"), "--audit-log", filepath.Join(dir, "audit.jsonl"))
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}`)
	if r := p.next(); r.Error != nil {
		t.Fatalf("initialize: %s", r.Raw)
	}
	calls := []struct{ req, want, notWant string }{
		{`{"name":"aegis_fs_read","arguments":{"path":"README.md"}}`, `"text":"public text\n"`, ""},
		{`{"name":"aegis_fs_read","arguments":{"path":"secrets/key"}}`, "[REDACTED]", "sk-live"},
		{`{"name":"aegis_run","arguments":{"script":"s = fs.read(\"secrets/key\")\nprint(\"len\", len(s), s)"}}`, "[REDACTED]", "sk-live"},
		{`{"name":"aegis_run","arguments":{"script":"print(fs.read(\"/etc/passwd\"))"}}`, `"exit_kind":"policy_denied"`, "root:"},
		{`{"name":"aegis_run","arguments":{"script":"x = 1 +"}}`, `"isError":true`, ""},
	}
	for i, c := range calls {
		p.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}`, i+2, c.req))
		r := p.next()
		if !bytes.Contains(r.Raw, []byte(c.want)) || (c.notWant != "" && bytes.Contains(r.Raw, []byte(c.notWant))) {
			t.Errorf("%s: want %q (and not %q), got %s", c.req, c.want, c.notWant, r.Raw)
		}
	}
	_ = p.stdin.Close()
	if code, _ := p.wait(); code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, p.stderrText())
	}
	if strings.Contains(p.stderrText(), "sk-live") {
		t.Errorf("the local-only value reached the log")
	}
	if audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl")); err != nil || len(audit) == 0 || bytes.Contains(audit, []byte("sk-live")) {
		t.Errorf("audit log: %v, %d bytes, secret present: %v", err, len(audit), bytes.Contains(audit, []byte("sk-live")))
	}
}

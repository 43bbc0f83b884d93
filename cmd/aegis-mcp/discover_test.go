package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/internal/version"
)

func TestVersionFlag(t *testing.T) {
	p := startProc(t, os.Args[0], "--version")
	_ = p.stdin.Close()
	code, _ := p.wait()
	want := "aegis-mcp " + version.Get().String() + "\n"
	if code != 0 || p.stderrText() != want || len(p.all) != 0 {
		t.Errorf("exit %d, stderr %q (want %q), stdout %q", code, p.stderrText(), want, p.all)
	}
}

// Without --policy the server finds aegis.toml as aegis does, says which
// one on stderr, and reports its build as serverInfo.version.
func TestDiscoversThePolicy(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(base, "proj", "sub")
	for _, d := range []string{sub, filepath.Join(base, "proj", ".git")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	policyFile := filepath.Join(base, "proj", "aegis.toml")
	if err := os.WriteFile(policyFile, []byte("inherits = \"secure-defaults\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProcIn(t, sub, os.Args[0])
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	r := p.next()
	var res struct {
		ServerInfo struct {
			Version string `json:"version"`
		} `json:"serverInfo"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || res.ServerInfo.Version != version.Get().Short() {
		t.Errorf("serverInfo.version %q, want %q (%s)", res.ServerInfo.Version, version.Get().Short(), r.Raw)
	}
	_ = p.stdin.Close()
	p.wait()
	if !strings.Contains(p.stderrText(), "using the policy") || !strings.Contains(p.stderrText(), "policy="+policyFile) {
		t.Errorf("stderr does not name the policy: %s", p.stderrText())
	}

	// A policy anyone may write is not used.
	if err := os.Chmod(policyFile, 0o666); err != nil {
		t.Fatal(err)
	}
	p = startProcIn(t, sub, os.Args[0])
	_ = p.stdin.Close()
	if code, _ := p.wait(); code != 5 || !strings.Contains(p.stderrText(), "writable by everyone") || len(p.all) != 0 {
		t.Errorf("exit %d, stderr %s", code, p.stderrText())
	}
}

package mcppolicy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testPolicy = `version = "1"
name = "interop"
description = "test policy for the MCP adapter"
requires_approval = ["fs.delete"]

[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**"]
write_allow = ["out/**"]
delete_allow = ["out/**"]
deny = ["**/.env"]

[tools.Read]
capabilities = ["fs.read"]

[tools.WebSearch]
capabilities = ["net.http_get"]
backend_url = "https://search.example/?q="
description = "web search"
`

func loadTestPolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"src", "secrets", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "aegis.toml")
	if err := os.WriteFile(path, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSummary(t *testing.T) {
	p, err := LoadPolicy(loadTestPolicy(t), "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := Summary(p)
	if s.Name != "interop" || s.Description != "test policy for the MCP adapter" || !strings.HasSuffix(s.Source, "aegis.toml") {
		t.Errorf("summary header: %+v", s)
	}
	for _, c := range []string{"fs.read", "fs.write", "fs.delete"} {
		if !slices.Contains(s.Capabilities, c) {
			t.Errorf("capabilities %v lack %s", s.Capabilities, c)
		}
	}
	if slices.Contains(s.Capabilities, "net.http_get") || slices.Contains(s.Capabilities, "subprocess.exec") {
		t.Errorf("capabilities %v include one the policy does not grant", s.Capabilities)
	}
	if !slices.Equal(s.RequiresApproval, []string{"fs.delete"}) {
		t.Errorf("requires_approval = %v", s.RequiresApproval)
	}
	if s.Effective == nil {
		t.Errorf("no effective policy")
	}
}

func TestRouting(t *testing.T) {
	p, err := LoadPolicy(loadTestPolicy(t), "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	recs := Routing(p)
	if len(recs) != 2 || recs[0].Name != "Read" || recs[1].Name != "WebSearch" {
		t.Fatalf("routing: %+v", recs)
	}
	if !recs[0].Allowed || recs[0].Reason != "" {
		t.Errorf("Read needs only fs.read, which is enabled: %+v", recs[0])
	}
	if recs[1].Allowed || !strings.Contains(recs[1].Reason, "net.http_get") || recs[1].BackendURL == "" {
		t.Errorf("WebSearch needs net.http_get, which is not enabled: %+v", recs[1])
	}
}

func TestExplain(t *testing.T) {
	path := loadTestPolicy(t)
	p, err := LoadPolicy(path, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	root := filepath.Dir(path)
	ok, err := Explain(ctx, p, "fs.read", []string{filepath.Join(root, "src/main.go")})
	if err != nil || !ok.Allowed || ok.Reason == "" {
		t.Errorf("read under src: %+v %v", ok, err)
	}
	denied, err := Explain(ctx, p, "fs.read", []string{filepath.Join(root, "src/.env")})
	if err != nil || denied.Allowed || denied.Reason == "" || !strings.Contains(denied.Rule, ".env") {
		t.Errorf("read of .env: %+v %v", denied, err)
	}
	if _, err := Explain(ctx, p, "fs.raed", []string{"x"}); err == nil || !strings.Contains(err.Error(), "fs.read") {
		t.Errorf("unknown capability: %v", err)
	}
}

func TestLoadPolicyFallsBackToSecureDefaults(t *testing.T) {
	var stderr bytes.Buffer
	p, err := LoadPolicy("", "", slog.New(slog.NewTextHandler(&stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "level=WARN") || !strings.Contains(stderr.String(), "secure-defaults") {
		t.Errorf("no banner on stderr: %q", stderr.String())
	}
	if s := Summary(p); s.Source != "secure-defaults" || len(s.Capabilities) != 0 {
		t.Errorf("secure-defaults must enable nothing: %+v", s)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.toml"), "", slog.New(slog.NewTextHandler(&stderr, nil))); err == nil {
		t.Errorf("a missing policy file must be an error")
	}
}

// aegis_explain answers the agent, unlabelled and uncharged: an answer that
// depends on what local-only paths hold (whether secrets/a is a directory,
// where a link in secrets/ leads) must be the same whatever they hold.
// Questions the spelling alone decides are still answered.
func TestExplainWithholdsWhatLocalOnlyPathsDecide(t *testing.T) {
	worlds := [2]string{loadTestPolicy(t), loadTestPolicy(t)}
	mk := func(root string, dirs []string, link string) {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(link, filepath.Join(root, "secrets/l")); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Dir(worlds[0]), []string{"secrets/a"}, "../src")
	mk(filepath.Dir(worlds[1]), []string{"etc"}, "../etc")
	questions := [][]string{
		{"fs.read", "secrets/a/../../src/main.go"},
		{"fs.read", "secrets/l/main.go"},
		{"fs.exists", "secrets/a/.."},
		{"fs.write", "secrets/l/../out/x"},
	}
	var answers [2][]string
	for i, path := range worlds {
		p, err := LoadPolicy(path, "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range questions {
			ex, err := Explain(context.Background(), p, q[0], q[1:])
			a := fmt.Sprintf("%+v %v", ex, err)
			answers[i] = append(answers[i], strings.ReplaceAll(a, filepath.Dir(path), "ROOT"))
		}
		// The spelling alone decides: answered, local-only or not.
		if ex, err := Explain(context.Background(), p, "fs.read", []string{"secrets/a/x"}); err != nil || !ex.Allowed {
			t.Errorf("secrets/a/x: %+v %v", ex, err)
		}
	}
	for i, q := range questions {
		if answers[0][i] != answers[1][i] {
			t.Errorf("%q: the answer depends on local-only data:\n  %s\n  %s", q, answers[0][i], answers[1][i])
		}
	}
}

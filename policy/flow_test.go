package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestFlowAllowedOnlyIntoTheLocalOnlyZone(t *testing.T) {
	w := newWorld(t)
	w.program("", "pass")
	w.program("", "git")
	w.file("vault/a")
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
local_only_read = ["vault/**", "keys/*.txt"]
write_allow = ["vault/**", "src/**"]
delete_allow = ["src/**"]
deny = ["vault/locked/**"]
[network]
http_post_allow = ["api.example.com"]
local_only_hosts = ["vault.internal", "*.corp.example"]
[environment]
local_only_vars = ["DEMO_SECRET"]
[subprocess]
allow_commands = ["git"]
local_only_commands = ["pass"]
`)
	cases := []struct {
		c      Capability
		target []string
		allow  bool
		want   string
	}{
		{FSWrite, []string{"vault/new"}, true, "inside the local-only zone"},
		{FSWrite, []string{"src/x"}, false, "outside the local-only zone"},
		{FSWrite, []string{"keys/a.txt"}, false, "outside the local-only zone"}, // local-only but not writable
		{FSWrite, []string{"vault/locked/x"}, false, "deny"},
		{FSDelete, []string{"vault/a"}, false, "delete_allow"},
		{HTTPPost, []string{"https://vault.internal/v1"}, true, "local_only_hosts"},
		{HTTPPut, []string{"https://db.corp.example/"}, true, "local_only_hosts"},
		{HTTPPost, []string{"https://api.example.com/"}, false, "only [network].local_only_hosts"},
		{HTTPGet, []string{"not a url"}, false, "http and https"},
		{SubprocessExec, []string{"pass", "insert", "x"}, true, "local_only_commands"},
		{SubprocessExec, []string{"git", "commit"}, false, "only [subprocess].local_only_commands"},
		{SubprocessExec, []string{"nosuch"}, false, "not found"},
		{FSRead, []string{"anything"}, true, "no outbound effect"},
		{EnvRead, []string{"X"}, true, "no outbound effect"},
		{Capability("fs.reed"), []string{"x"}, false, "unknown capability"},
		{FSWrite, nil, false, "no target"},
	}
	for _, tc := range cases {
		d := p.FlowAllowed(tc.c, tc.target...)
		if d.Allowed != tc.allow || !strings.Contains(d.Reason, tc.want) {
			t.Errorf("FlowAllowed(%s, %q) = %v %q; want %v containing %q", tc.c, tc.target, d.Allowed, d.Reason, tc.allow, tc.want)
		}
	}
	if d := p.FlowAllowed(FSWrite, "src/x"); !strings.Contains(d.Hint, `add "src/x" to both [filesystem].local_only_read and [filesystem].write_allow`) {
		t.Errorf("hint = %q", d.Hint)
	}
	want := []string{"env:DEMO_SECRET", "file:vault/**", "file:keys/*.txt", "host:vault.internal", "host:*.corp.example", "cmd:pass"}
	if got := p.Principals(); !reflect.DeepEqual(got, want) {
		t.Errorf("Principals = %v, want %v", got, want)
	}
	reg := p.NewRegistry()
	if reg.Len() != len(want) {
		t.Errorf("registry has %d principals", reg.Len())
	}
	for _, name := range want {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("registry lacks %s", name)
		}
	}
	// The label a decision reports is one the registry already knows.
	d := p.Decide(FSRead, "vault/a")
	if _, ok := reg.Lookup(d.Principal); !ok || !d.LocalOnly {
		t.Errorf("decision principal %q not interned", d.Principal)
	}
}

func TestConcurrentDecisions(t *testing.T) {
	// A *Policy is shared by every builtin of a run and by concurrent MCP
	// requests; decisions must not race (run with -race).
	_, p := execWorld(t)
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := 0; j < 50; j++ {
				p.Decide(FSRead, "src/a.go")
				p.Decide(SubprocessExec, "git", "push", "--force")
				p.FlowAllowed(FSWrite, "secrets-local/cache/x")
				_ = p.Describe()
			}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}

// A flow check of a capability that takes one target refuses two, as
// Decide does: the second would otherwise go unchecked.
func TestFlowAllowedTargetCount(t *testing.T) {
	w := newWorld(t)
	w.file("zone/x")
	w.file("public/y")
	p := w.mustLoad(`
[filesystem]
read_allow = ["public/**"]
local_only_read = ["zone/**"]
write_allow = ["zone/**", "public/**"]
`)
	if d := p.FlowAllowed(FSWrite, "zone/x"); !d.Allowed {
		t.Fatalf("into the zone: %s", d.Reason)
	}
	if d := p.FlowAllowed(FSWrite, "zone/x", "public/y"); d.Allowed || !strings.Contains(d.Reason, "takes one target, got 2") {
		t.Errorf("two targets: allowed %v, %s", d.Allowed, d.Reason)
	}
}

package builtins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// The secret every test tries to leak. It is long and unusual enough that
// finding it (or a transform of it) anywhere is never a coincidence.
const secretValue = "sk-test-Zq8vW2xLp0-MNOP4321"

// fixture is a policy root on disk with a policy over it.
type fixture struct {
	t        *testing.T
	root     string
	policy   *policy.Policy
	resolver *fakeResolver
	confirm  func(ctx context.Context, capability, target string) (bool, error)
	environ  []string
	mutate   func(*Host)
	maxAlloc int64 // the thread's allocation budget, when set
}

// newFixture writes files (relative path -> content) under a fresh root and
// loads policyTOML there. {{ROOT}} in the policy expands to the root.
func newFixture(t *testing.T, policyTOML string, files map[string]string) *fixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, root: root, resolver: &fakeResolver{hosts: map[string][]netip.Addr{}}}
	f.environ = []string{"PATH=" + os.Getenv("PATH"), "AEGIS_TEST_SECRET=" + secretValue, "AEGIS_TEST_PUBLIC=hello-public", "HOME=/nonexistent"}
	f.load(policyTOML)
	return f
}

func (f *fixture) load(policyTOML string) {
	f.t.Helper()
	src := strings.ReplaceAll(policyTOML, "{{ROOT}}", f.root)
	p, err := policy.LoadBytes("aegis.toml", []byte(src), f.root, policy.WithResolver(f.resolver))
	if err != nil {
		f.t.Fatalf("policy: %v", err)
	}
	f.policy = p
}

// outcome is what one script run produced.
type outcome struct {
	stdout string
	err    error
	events []audit.Event
	host   *Host
}

// run executes src with the fixture's modules. A predeclared `secret` holds
// secretValue labelled with the principal env:AEGIS_TEST_SECRET.
func (f *fixture) run(src string) outcome {
	f.t.Helper()
	mem := &audit.Memory{}
	h := &Host{
		Ctx:      context.Background(),
		Policy:   f.policy,
		Registry: f.policy.NewRegistry(),
		Audit:    mem,
		TaskID:   "test",
		Confirm:  f.confirm,
		Environ:  f.environ,
	}
	if f.mutate != nil {
		f.mutate(h)
	}
	var out strings.Builder
	var mu sync.Mutex
	thread := &starlark.Thread{Name: "test", Print: func(_ *starlark.Thread, msg string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(msg + "\n")
	}}
	thread.PrintRedaction = "[REDACTED]"
	if f.maxAlloc > 0 {
		thread.SetMaxAllocBytes(f.maxAlloc)
	}
	predeclared := h.Modules()
	predeclared["secret"] = starlark.Labeled{V: starlark.String(secretValue), L: h.Registry.Principal(labels.Env("AEGIS_TEST_SECRET"))}
	predeclared["ROOT"] = starlark.String(f.root)
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	_, err := starlark.ExecFileOptions(opts, thread, "task.star", src, predeclared)
	o := outcome{stdout: out.String(), err: err, events: mem.Events(), host: h}
	f.assertNoLeak(o)
	return o
}

// assertNoLeak fails the test if the secret (or a simple transform of it)
// appears in any public observable: stdout, the error message, the audit
// events.
func (f *fixture) assertNoLeak(o outcome) {
	f.t.Helper()
	evs, _ := json.Marshal(o.events)
	msg := ""
	if o.err != nil {
		if starlark.ErrorLabel(o.err) == labels.Public {
			msg = o.err.Error()
		}
	}
	for what, text := range map[string]string{"stdout": o.stdout, "error": msg, "audit": string(evs)} {
		for _, form := range leakForms(secretValue) {
			if strings.Contains(text, form) {
				f.t.Fatalf("the secret leaked into %s (as %q): %s", what, form, text)
			}
		}
	}
}

// leakForms are the secret and the obvious encodings of it.
func leakForms(s string) []string {
	rev := []rune(s)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return []string{s, string(rev), fmt.Sprintf("%x", s), s[3:15]}
}

// fakeResolver answers DNS from a map and counts lookups.
type fakeResolver struct {
	mu     sync.Mutex
	hosts  map[string][]netip.Addr
	after  map[string][]netip.Addr // answers from the second lookup on (rebinding)
	counts map[string]int
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[host]++
	if r.counts[host] > 1 && r.after[host] != nil {
		return r.after[host], nil
	}
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[host]
}

// eventsFor returns the events of one capability.
func eventsFor(o outcome, capability string) []audit.Event {
	var out []audit.Event
	for _, e := range o.events {
		if e.Capability == capability {
			out = append(out, e)
		}
	}
	return out
}

func mustFail[E error](t *testing.T, o outcome) E {
	t.Helper()
	var target E
	if o.err == nil {
		t.Fatalf("script succeeded; want %T (stdout %q)", target, o.stdout)
	}
	if !errors.As(o.err, &target) {
		t.Fatalf("got error %v; want %T", o.err, target)
	}
	return target
}

func mustSucceed(t *testing.T, o outcome) {
	t.Helper()
	if o.err != nil {
		t.Fatalf("script failed: %v\nstdout: %s", o.err, o.stdout)
	}
}

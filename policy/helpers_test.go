package policy

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDNS answers from a table; any other name fails, as an unreachable
// resolver would.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// world is a temporary project: a root holding the policy, a home
// directory, a bin directory standing in for PATH, and the fakes.
type world struct {
	t    *testing.T
	base string // canonical temp dir
	root string
	home string
	bin  string
	dns  fakeDNS
}

func newWorld(t *testing.T) *world {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, base: base, root: filepath.Join(base, "proj"), home: filepath.Join(base, "home"),
		bin: filepath.Join(base, "bin"), dns: fakeDNS{}}
	for _, d := range []string{w.root, w.home, w.bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// file creates a file (and its parents) under base; relative names are
// under the root.
func (w *world) file(name string) string {
	w.t.Helper()
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.root, name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) symlink(target, name string) string {
	w.t.Helper()
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.root, name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// program creates a fake executable in dir (w.bin when "").
func (w *world) program(dir, name string) string {
	w.t.Helper()
	if dir == "" {
		dir = w.bin
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/true\n"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// lookPath finds names in w.bin only.
func (w *world) lookPath(name string) (string, error) {
	p := filepath.Join(w.bin, name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p, nil
	}
	return "", errors.New("executable file not found in $PATH")
}

func (w *world) opts(extra ...Option) []Option {
	return append([]Option{WithHome(w.home), WithResolver(w.dns), WithLookPath(w.lookPath)}, extra...)
}

// load writes the policy to <root>/aegis.toml and loads it.
func (w *world) load(src string, extra ...Option) (*Policy, error) {
	w.t.Helper()
	path := filepath.Join(w.root, "aegis.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return Load(path, w.opts(extra...)...)
}

func (w *world) mustLoad(src string, extra ...Option) *Policy {
	w.t.Helper()
	p, err := w.load(src, extra...)
	if err != nil {
		w.t.Fatalf("load: %v", err)
	}
	return p
}

// check is one decision expectation: the capability, the target, whether
// it is allowed, and substrings the reason must contain.
type check struct {
	c      Capability
	target []string
	allow  bool
	reason []string
}

func runChecks(t *testing.T, p *Policy, checks []check) {
	t.Helper()
	for _, c := range checks {
		d := p.Decide(c.c, c.target...)
		name := string(c.c) + " " + strings.Join(c.target, " ")
		if d.Allowed != c.allow {
			t.Errorf("%s: allowed=%v, want %v\n  reason: %s\n  hint: %s", name, d.Allowed, c.allow, d.Reason, d.Hint)
			continue
		}
		for _, want := range c.reason {
			if !strings.Contains(d.Reason, want) {
				t.Errorf("%s: reason %q lacks %q", name, d.Reason, want)
			}
		}
		if !d.Allowed && d.Hint == "" {
			t.Errorf("%s: a denial must carry a hint (reason: %s)", name, d.Reason)
		}
		if strings.Contains(d.Reason, internalErrorReason) {
			t.Errorf("%s: internal error: %s", name, d.Reason)
		}
	}
}

func ck(c Capability, allow bool, target string, reason ...string) check {
	return check{c: c, target: []string{target}, allow: allow, reason: reason}
}

func ex(allow bool, argv string, reason ...string) check {
	return check{c: SubprocessExec, target: strings.Fields(argv), allow: allow, reason: reason}
}

package matrix

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	exfilprobes "github.com/aegisdev/aegis/exfil-probes"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// policyText is the policy of the fixture: pub/ is the public side
// (readable, writable, deletable with approval), zone/ the local-only zone,
// secrets/ local-only, denied/ denied; the loopback server takes every verb,
// as a public host (127.0.0.1) and as the local-only host vault.test;
// echo, false and true run. [declassify] lets K, secrets/ and vault.test
// release everything, the zone only is_set.
const policyText = `name = "boundary matrix"
requires_approval = ["fs.delete"]

[filesystem]
read_allow = ["pub", "pub/**"]
local_only_read = ["zone", "zone/**", "secrets/**"]
write_allow = ["pub/**", "zone/**"]
delete_allow = ["pub/**", "zone/**"]

[network]
http_get_allow = ["127.0.0.1"]
http_post_allow = ["127.0.0.1"]
http_put_allow = ["127.0.0.1"]
http_patch_allow = ["127.0.0.1"]
http_delete_allow = ["127.0.0.1"]
local_only_hosts = ["vault.test"]
timeout_seconds = 5

[environment]
allow_vars = ["MATRIX_PUB"]
local_only_vars = ["K"]

[subprocess]
allow_commands = ["echo", "false", "true"]
sandbox = "none"

[runtime]
max_seconds = 20
max_leak_bits = 1000000
max_secret_dependent_aborts = 1000000

[declassify]
"env:K" = ["is_set", "equals_sha256", "contains", "has_keys", "count", "status_ok", "status"]
"file:secrets/**" = ["is_set", "equals_sha256", "contains", "has_keys", "count"]
"file:zone/**" = ["is_set"]
"host:vault.test" = ["status_ok", "status"]
`

// localHost is the fixture's local-only host: it resolves to the loopback
// server, and what it receives is not a public observable.
const localHost = "vault.test"

// resolver resolves localHost to the loopback server and nothing else
// (every other name fails, as in a sandbox without DNS).
type resolver struct{}

func (resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == localHost {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// files are the fixture's files, restored before every run.
var files = map[string]string{
	"pub/a.txt":      "alpha\n",
	"pub/b.txt":      "beta beta\n",
	"pub/d.txt":      "delete me\n",
	"pub/sub/c.txt":  "gamma\n",
	"zone/z.txt":     "zone data\n",
	"secrets/k.txt":  "local-only file\n",
	"secrets/c.json": `{"a": 1, "b": [2]}`,
	"denied/x.txt":   "denied\n",
	"denied/d.txt":   "denied\n",
}

// Fixture is one work tree with its policy and its public server. Runs on
// one fixture must not overlap.
type Fixture struct {
	Root   string
	policy *policy.Policy
	server *http.Server
	url    string

	mu       sync.Mutex
	requests []string
	prompts  []string
}

// NewFixture makes a fixture under dir.
func NewFixture(dir string) (*Fixture, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "aegis.toml"), []byte(policyText), 0o644); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	p, err := policy.Load(filepath.Join(root, "aegis.toml"), policy.WithResolver(resolver{}))
	if err != nil {
		return nil, fmt.Errorf("fixture policy: %w", err)
	}
	f := &Fixture{Root: root, policy: p}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fixture server: %w", err)
	}
	f.url = "http://" + ln.Addr().String()
	f.server = &http.Server{Handler: http.HandlerFunc(f.serve)}
	go f.server.Serve(ln)
	return f, nil
}

// localURL is the server's address as the local-only host.
func (f *Fixture) localURL() string {
	return strings.Replace(f.url, "127.0.0.1", localHost, 1)
}

// Close stops the server.
func (f *Fixture) Close() error { return f.server.Close() }

// serve records every request to the public host (method, path, the test's
// headers, body) and answers "ok <path>", or the status named by
// /status/N. What the local-only host receives is local-only: it is not
// recorded.
func (f *Fixture) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if host, _, _ := net.SplitHostPort(r.Host); host != localHost {
		var hs []string
		for k, v := range r.Header {
			if len(k) <= 2 { // the test's headers: X, Y, Z
				hs = append(hs, k+"="+strings.Join(v, ","))
			}
		}
		sort.Strings(hs)
		f.mu.Lock()
		f.requests = append(f.requests, fmt.Sprintf("%s %s %v %q", r.Method, r.URL.RequestURI(), hs, body))
		f.mu.Unlock()
	}
	w.Header()["Date"] = nil // deterministic responses: the runs are compared
	var status int
	if _, err := fmt.Sscanf(r.URL.Path, "/status/%d", &status); err == nil && status >= 100 && status < 600 {
		w.WriteHeader(status)
	}
	fmt.Fprintf(w, "ok %s", r.URL.Path)
}

// Obs is what the public sees of one run.
type Obs struct {
	Exit     string
	Stdout   string
	Error    string
	Calls    int
	Charged  bool
	Files    string
	Requests string
	Prompts  string
}

// diff names the first observable that differs, "" if none.
func (a Obs) diff(b Obs) string {
	switch {
	case a.Exit != b.Exit:
		return "exit"
	case a.Stdout != b.Stdout:
		return "stdout"
	case a.Error != b.Error:
		return "error"
	case a.Calls != b.Calls:
		return "calls"
	case a.Files != b.Files:
		return "files"
	case a.Requests != b.Requests:
		return "requests"
	case a.Prompts != b.Prompts:
		return "prompts"
	}
	return ""
}

// reset restores the work tree and clears the records.
func (f *Fixture) reset() error {
	for _, d := range []string{"pub", "zone", "secrets", "denied", ".aegis"} {
		if err := os.RemoveAll(filepath.Join(f.Root, d)); err != nil {
			return err
		}
	}
	for name, content := range files {
		path := filepath.Join(f.Root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := exfilprobes.PinTimes(f.Root); err != nil {
		return err
	}
	f.mu.Lock()
	f.requests, f.prompts = nil, nil
	f.mu.Unlock()
	return nil
}

// Run runs the case with the secret and observes it.
func (f *Fixture) Run(c Case, secret string) (Obs, error) {
	if err := f.reset(); err != nil {
		return Obs{}, fmt.Errorf("reset fixture: %w", err)
	}
	confirm := func(_ context.Context, capability, target string) (bool, error) {
		f.mu.Lock()
		f.prompts = append(f.prompts, capability+" "+target)
		f.mu.Unlock()
		return true, nil
	}
	res := runner.Run(context.Background(), runner.Options{
		Policy:  f.policy,
		Environ: []string{"PATH=" + os.Getenv("PATH"), "K=" + secret, "MATRIX_PUB=public-value"},
		Confirm: confirm,
	}, runner.Request{
		Script:   []byte(c.Program()),
		Filename: "matrix.star",
		Inputs:   map[string]string{"URL": f.url, "LURL": f.localURL(), "PUB": "MATRIX_PUB"},
	})
	o := Obs{Exit: res.ExitKind, Stdout: res.Stdout, Error: res.Error, Calls: res.Calls, Charged: res.Charged != nil}
	var fl []string
	err := filepath.WalkDir(filepath.Join(f.Root, "pub"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.Root, path)
		if d.IsDir() {
			fl = append(fl, rel+"/")
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fl = append(fl, fmt.Sprintf("%s=%q", rel, data))
		return nil
	})
	if err != nil {
		return Obs{}, fmt.Errorf("observe files: %w", err)
	}
	o.Files = strings.Join(fl, "\n")
	f.mu.Lock()
	o.Requests = strings.Join(f.requests, "\n")
	o.Prompts = strings.Join(f.prompts, "\n")
	f.mu.Unlock()
	return o, nil
}

// Result is the judgement of one case.
type Result struct {
	Case    Case
	Leak    string // "" when sound; else what differed
	Errored bool   // some run ended with an error
	Charged bool   // some run was charged
	A, B    Obs
}

// Judge compares the runs of a case with the two secrets. They must agree,
// or every run that stopped must have been charged; two runs that both
// finished must agree in any case. Neither may show a secret.
func Judge(c Case, a, b Obs) Result {
	r := Result{Case: c, A: a, B: b,
		Errored: a.Exit != "ok" || b.Exit != "ok", Charged: a.Charged || b.Charged}
	for _, o := range []Obs{a, b} {
		all := o.Stdout + o.Error + o.Files + o.Requests + o.Prompts
		for _, s := range []string{Secret1, Secret2} {
			if strings.Contains(all, s) {
				r.Leak = "an observable holds the secret"
				return r
			}
		}
	}
	d := a.diff(b)
	if d == "" {
		return r
	}
	switch {
	case a.Exit == "ok" && b.Exit == "ok":
		r.Leak = d + " differs between two runs that finished"
	case a.Exit != "ok" && !a.Charged, b.Exit != "ok" && !b.Charged:
		r.Leak = d + " differs, and a run that stopped was not charged"
	}
	return r
}

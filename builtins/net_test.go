package builtins

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// recorder is a loopback HTTP server that remembers every request.
type recorder struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query body headers"
	srv  *httptest.Server
	addr netip.AddrPort
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.RequestURI()+" "+string(body)+" "+req.Header.Get("X-Token"))
		r.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.addr = netip.MustParseAddrPort(r.srv.Listener.Addr().String())
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

func (r *recorder) port() string { return strings.TrimPrefix(r.addr.String(), "127.0.0.1:") }

const netPolicy = `
[network]
http_get_allow = ["api.test", "redirect.test", "rebind.test"]
http_post_allow = ["api.test"]
local_only_hosts = ["vault.test"]
deny_ips = ["10.0.0.0/8"]
timeout_seconds = 5
`

// netFixture serves the same handler as api.test, vault.test, redirect.test
// and rebind.test, all resolving to the loopback server.
func netFixture(t *testing.T, h http.HandlerFunc) (*fixture, *recorder) {
	rec := newRecorder(t, h)
	f := newFixture(t, netPolicy, nil)
	for _, host := range []string{"api.test", "vault.test", "redirect.test", "rebind.test"} {
		f.resolver.hosts[host] = []netip.Addr{rec.addr.Addr()}
	}
	return f, rec
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/missing":
		http.Error(w, "no such thing", 404)
	case "/redirect":
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", 302)
	case "/big":
		io.WriteString(w, strings.Repeat("x", 5000))
	case "/secret":
		io.WriteString(w, secretValue)
	default:
		io.WriteString(w, "pong "+r.Method)
	}
}

func TestNetAllowedVerbs(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	u := "http://api.test:" + rec.port()
	o := f.run(`print(net.http_get("` + u + `/ping", headers={"X-Token": "abc"}))
print(net.http_post("` + u + `/ping", "data"))
r = net.request("GET", "` + u + `/missing")
print(r.status, r.body.strip())`)
	mustSucceed(t, o)
	if o.stdout != "pong GET\npong POST\n404 no such thing\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	if got := rec.requests(); len(got) != 3 || got[0] != "GET /ping  abc" || got[1] != "POST /ping data " {
		t.Fatalf("requests %q", got)
	}
	if evs := eventsFor(o, "net.http_get"); len(evs) != 2 || evs[0].Status != audit.Allowed || evs[0].Rule != "api.test" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestNetDenials(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	for _, src := range []string{
		`net.http_get("http://evil.test:` + rec.port() + `/")`,
		`net.http_put("http://api.test:` + rec.port() + `/", "x")`,
		`net.http_get("http://10.1.2.3/")`,
		`net.http_get("file:///etc/passwd")`,
	} {
		o := f.run(src)
		mustFail[*policy.DeniedError](t, o)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("a denied request reached the server: %q", got)
	}
}

func TestNetHTTPErrorsAndRedirects(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	u := "http://api.test:" + rec.port()
	o := f.run(`net.http_get("` + u + `/missing")`)
	if o.err == nil || !strings.Contains(o.err.Error(), "HTTP 404") || !strings.Contains(o.err.Error(), "no such thing") {
		t.Fatalf("404: %v", o.err)
	}
	if evs := eventsFor(o, "net.http_get"); len(evs) != 2 || evs[1].Status != audit.Errored {
		t.Fatalf("audit %+v", evs)
	}
	o = f.run(`net.http_get("http://redirect.test:` + rec.port() + `/redirect")`)
	if o.err == nil || !strings.Contains(o.err.Error(), "169.254.169.254") || !strings.Contains(o.err.Error(), "not followed") {
		t.Fatalf("redirect: %v", o.err)
	}
	f.mutate = func(h *Host) { h.MaxResponseBytes = 1000 }
	o = f.run(`net.http_get("` + u + `/big")`)
	if o.err == nil || !strings.Contains(o.err.Error(), "1000-byte limit") {
		t.Fatalf("cap: %v", o.err)
	}
}

func TestNetDialsTheVettedAddress(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	// The first answer is the loopback server; every later one is a denied
	// private address. The request must dial what the policy vetted.
	f.resolver.after = map[string][]netip.Addr{"rebind.test": {netip.MustParseAddr("10.0.0.7")}}
	o := f.run(`print(net.http_get("http://rebind.test:` + rec.port() + `/"))`)
	mustSucceed(t, o)
	if o.stdout != "pong GET\n" || f.resolver.count("rebind.test") != 1 {
		t.Fatalf("stdout %q after %d lookups", o.stdout, f.resolver.count("rebind.test"))
	}
}

func TestNetSinks(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	u := "http://api.test:" + rec.port()
	leaks := map[string]string{
		"query string":    `net.http_get("` + u + `/q?k=" + secret)`,
		"path":            `net.http_get("` + u + `/" + hex.encode(secret))`,
		"header":          `net.http_get("` + u + `/", headers={"X-Token": secret})`,
		"header name":     `net.http_get("` + u + `/", headers={secret[:5]: "v"})`,
		"body":            `net.http_post("` + u + `/", secret[::-1])`,
		"under a branch":  "if len(secret) > 3:\n    net.http_get(\"" + u + "/bit\")",
		"request method":  `net.request("GET", "` + u + `/", headers={"a": secret})`,
		"sha256 of it":    `net.http_post("` + u + `/", sha256(secret))`,
		"vault response":  `net.http_post("` + u + `/", net.http_get("http://vault.test:` + rec.port() + `/secret"))`,
		"labelled method": `net.request(("GET" if secret else "POST"), "` + u + `/")`,
	}
	for name, src := range leaks {
		t.Run(name, func(t *testing.T) {
			before := len(rec.requests())
			o := f.run(src)
			mustFail[*starlark.FlowError](t, o)
			after := rec.requests()
			for _, r := range after[before:] {
				if !strings.HasPrefix(r, "GET /secret") {
					t.Fatalf("a request left: %q", r)
				}
			}
		})
	}
}

func TestNetLocalOnlyHost(t *testing.T) {
	f, rec := netFixture(t, echoHandler)
	v := "http://vault.test:" + rec.port()
	o := f.run(`r = net.http_post("` + v + `/store", secret, headers={"X-Token": secret})
print("vault says", r)
s = net.http_get("` + v + `/secret")
print(s, len(s))`)
	mustSucceed(t, o)
	if o.stdout != "vault says [REDACTED]\n[REDACTED] [REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	if got := rec.requests(); len(got) != 2 || got[0] != "POST /store "+secretValue+" "+secretValue {
		t.Fatalf("the local-only host did not get the data: %q", got)
	}
}

// An error body quoted in a message is cut at a character boundary, so the
// message stays valid UTF-8 (a byte cut left half of "é" at the end).
func TestSnippetCutsAtARune(t *testing.T) {
	body := []byte(strings.Repeat("a", 199) + "é and more")
	got := snippet(body)
	if !utf8.ValidString(got) || got != strings.Repeat("a", 199)+"..." {
		t.Errorf("snippet = %q", got)
	}
}

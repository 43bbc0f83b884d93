package policy

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

func netPolicy(t *testing.T, inherit bool) *Policy {
	w := newWorld(t)
	w.dns["api.github.com"] = []string{"140.82.112.6"}
	w.dns["registry.npmjs.org"] = []string{"104.16.1.34", "2606:4700::6810:122"}
	w.dns["rebind.example.com"] = []string{"93.184.216.34", "169.254.169.254"}
	w.dns["mapped.example.com"] = []string{"::ffff:169.254.169.254"}
	w.dns["nat64.example.com"] = []string{"64:ff9b::a9fe:a9fe"}
	w.dns["zero.example.com"] = []string{"0.0.0.0"}
	w.dns["localhost"] = []string{"127.0.0.1", "::1"}
	w.dns["cgnat.example.com"] = []string{"100.100.100.200"}
	w.dns["ok.example.com"] = []string{"93.184.216.34"}
	w.dns["vault.internal"] = []string{"93.184.216.35"}
	w.dns["empty.example.com"] = []string{}
	src := `
[network]
http_get_allow = ["*.github.com", "registry.npmjs.org", "*.example.com", "localhost", "*.evil.test", "127.0.0.1", "::1", "0.0.0.0", "::", "169.254.169.254", "::ffff:169.254.169.254", "[fd00::1]", "100.100.100.200", "2002:a9fe:a9fe::1"]
http_post_allow = ["api.github.com"]
local_only_hosts = ["vault.internal"]
deny_hosts = ["bad.example.com", "*.evil.test"]
`
	if inherit {
		src = "inherits = \"secure-defaults\"\n" + src
	}
	return w.mustLoad(src)
}

func TestNetworkRules(t *testing.T) {
	p := netPolicy(t, true)
	runChecks(t, p, []check{
		ck(HTTPGet, true, "https://api.github.com/repos", `"*.github.com"`, "dial 140.82.112.6:443"),
		ck(HTTPGet, true, "http://API.GitHub.com./x", "dial 140.82.112.6:80"), // case and trailing dot
		ck(HTTPGet, false, "https://github.com/", "no [network].http_get_allow"),
		ck(HTTPPost, true, "https://api.github.com/graphql"),
		ck(HTTPPost, false, "https://registry.npmjs.org/", "[network].http_post_allow"),
		ck(HTTPDelete, false, "https://api.github.com/", "[network].http_delete_allow"),
		ck(HTTPGet, false, "https://bad.example.com/", `deny_hosts "bad.example.com"`),
		ck(HTTPGet, false, "https://x.evil.test/", `deny_hosts "*.evil.test"`), // deny wins over the same allow
		// Every resolved address must pass deny_ips.
		ck(HTTPGet, false, "https://rebind.example.com/", "169.254.169.254", `"169.254.0.0/16"`),
		ck(HTTPGet, false, "https://mapped.example.com/", "169.254.169.254"),
		ck(HTTPGet, false, "https://nat64.example.com/", "carries 169.254.169.254"),
		ck(HTTPGet, false, "https://zero.example.com/", "unspecified"),
		ck(HTTPGet, false, "http://localhost:8099/", `"127.0.0.0/8"`),
		ck(HTTPGet, false, "http://cgnat.example.com/", `"100.64.0.0/10"`),
		ck(HTTPGet, false, "https://unresolvable.example.com/", "cannot resolve"),
		ck(HTTPGet, false, "https://empty.example.com/", "no address"),
		// IP literals, in every spelling.
		ck(HTTPGet, false, "http://169.254.169.254/latest/meta-data/", `"169.254.0.0/16"`),
		ck(HTTPGet, false, "http://[::ffff:169.254.169.254]/", `"169.254.0.0/16"`),
		ck(HTTPGet, false, "http://[::ffff:a9fe:a9fe]/", `"169.254.0.0/16"`),
		ck(HTTPGet, false, "http://127.0.0.1:8080/", `"127.0.0.0/8"`),
		ck(HTTPGet, false, "http://[::1]:8080/", `"::1/128"`),
		ck(HTTPGet, false, "http://[0:0:0:0:0:0:0:1]/", `"::1/128"`),
		ck(HTTPGet, false, "http://0.0.0.0:8080/", "unspecified"),
		ck(HTTPGet, false, "http://[::]/", "unspecified"),
		ck(HTTPGet, false, "http://[fd00::1]/", `"fc00::/7"`),
		ck(HTTPGet, false, "http://[fe80::1%25eth0]/", "no [network].http_get_allow"),
		ck(HTTPGet, false, "http://100.100.100.200/", `"100.64.0.0/10"`),
		ck(HTTPGet, false, "http://[2002:a9fe:a9fe::1]/", "carries 169.254.169.254"),
		// URL shape.
		ck(HTTPGet, false, "ftp://api.github.com/", "only http and https"),
		ck(HTTPGet, false, "file:///etc/passwd", "only http and https"),
		ck(HTTPGet, false, "api.github.com", "only http and https"),
		ck(HTTPGet, false, "https:///path", "no host"),
		ck(HTTPGet, false, "https://api.github.com:0/", "invalid port"),
		ck(HTTPGet, false, "https://api.github.com:99999/", "invalid port"),
		ck(HTTPGet, false, "https://bücher.example.com/", "punycode"),
		ck(HTTPGet, false, "http://a b/", "URL"),
		ck(HTTPGet, false, "https://"+strings.Repeat("a", 9000)+".com/", "limit"),
		// Userinfo and fragments do not change the host.
		ck(HTTPGet, false, "https://api.github.com@bad.example.com/", "bad.example.com"),
		ck(HTTPGet, true, "https://api.github.com#@bad.example.com/"),
		ck(HTTPGet, true, "https://user:pw@api.github.com/"),
		// Local-only hosts: every verb, labelled.
		ck(HTTPPut, true, "https://vault.internal/v1/x", "local-only"),
	})
}

func TestNetworkWithoutPresetStillVetsAddresses(t *testing.T) {
	p := netPolicy(t, false)
	runChecks(t, p, []check{
		// No deny_ips at all: loopback is whatever the file says...
		ck(HTTPGet, true, "http://127.0.0.1/"),
		// ...but the unspecified address is never a destination.
		ck(HTTPGet, false, "http://0.0.0.0/", "unspecified"),
		ck(HTTPGet, false, "https://zero.example.com/", "unspecified"),
		ck(HTTPGet, false, "https://unresolvable.example.com/", "cannot resolve"),
	})
}

func TestNetworkDecisionDetails(t *testing.T) {
	p := netPolicy(t, true)
	d := p.Decide(HTTPGet, "https://registry.npmjs.org:8443/pkg")
	if !d.Allowed || d.Addr != netip.MustParseAddrPort("104.16.1.34:8443") {
		t.Errorf("vetted address = %v (%s)", d.Addr, d.Reason)
	}
	d = p.Decide(HTTPPatch, "https://vault.internal/")
	if !d.Allowed || !d.LocalOnly || d.Principal != "host:vault.internal" {
		t.Errorf("local-only host: %+v", d)
	}
	d = p.Decide(HTTPGet, "http://[::ffff:169.254.169.254]/")
	if d.Rule != "169.254.0.0/16" || d.Section != "[network].deny_ips" || !strings.Contains(d.Hint, `"!169.254.0.0/16"`) {
		t.Errorf("deny_ips decision: %+v", d)
	}
	// A cancelled context fails resolution, and so denies.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := newWorld(t)
	p2 := w.mustLoad("[network]\nhttp_get_allow = [\"*\"]\n", WithResolver(ctxResolver{}))
	if d := p2.DecideContext(ctx, HTTPGet, "https://example.org/"); d.Allowed {
		t.Errorf("resolution under a cancelled context must deny: %+v", d)
	}
}

type ctxResolver struct{}

func (ctxResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

func TestDenyIPsNormalisation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1/32"},
		{"::1", "::1/128"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"::ffff:169.254.0.0/112", "169.254.0.0/16"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
	} {
		got, err := parseIPEntry(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("parseIPEntry(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"fe80::1%eth0", "1.2.3", "10.0.0.0/40", "host"} {
		if _, err := parseIPEntry(bad); err == nil {
			t.Errorf("parseIPEntry(%q) accepted", bad)
		}
	}
}

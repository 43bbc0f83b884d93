package policy

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/labels"
)

// Network decisions. Order: URL shape (http or https, a host, a valid
// port), [network].deny_hosts, then local_only_hosts (every verb, result
// labelled) or the verb's http_*_allow list, then addresses: an IP-literal
// host, or every address DNS returns for the name, must be outside deny_ips.
// A resolution failure denies. The first vetted address is returned in
// Decision.Addr for the HTTP layer to dial.
//
// Host globs: '*' matches any run of characters, dots included
// ("*.github.com" matches "api.github.com" and "a.b.github.com", not
// "github.com"); '?' one character; matching ignores case and a trailing
// dot. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4
// address they carry, and so are NAT64 (64:ff9b::/96), IPv4-compatible
// (::a.b.c.d) and 6to4 (2002::/16) addresses. The unspecified addresses
// 0.0.0.0 and :: are always denied.

type hostRule struct {
	entry   Entry
	key     string
	pattern string // normalized
}

type ipRule struct {
	entry  Entry
	prefix netip.Prefix
}

func firstHostMatch(rules []hostRule, host string) *hostRule {
	for i := range rules {
		if wildMatch(rules[i].pattern, host) {
			return &rules[i]
		}
	}
	return nil
}

// maxURLLen bounds a URL before parsing.
const maxURLLen = 8192

// parseTarget extracts and normalizes the host and port of a URL target.
func parseTarget(raw string) (host string, port uint16, err error) {
	if len(raw) > maxURLLen {
		return "", 0, fmt.Errorf("URL is %d bytes long, over the %d-byte limit", len(raw), maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, fmt.Errorf("not a valid URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", 0, fmt.Errorf("only http and https URLs are allowed, got scheme %q", u.Scheme)
	}
	if u.Opaque != "" {
		return "", 0, fmt.Errorf("URL has no host")
	}
	host = strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", 0, fmt.Errorf("URL has no host")
	}
	if a, perr := netip.ParseAddr(host); perr == nil {
		// The mapped form names the IPv4 host: judge it by that name.
		host = a.WithZone("").Unmap().String()
	} else {
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
				if c >= 0x80 {
					return "", 0, fmt.Errorf("host %q is not ASCII; write its punycode (xn--) form", host)
				}
				return "", 0, fmt.Errorf("host %q contains %q", host, c)
			}
		}
	}
	port = 443
	if scheme == "http" {
		port = 80
	}
	if ps := u.Port(); ps != "" {
		n, perr := strconv.ParseUint(ps, 10, 16)
		if perr != nil || n == 0 {
			return "", 0, fmt.Errorf("invalid port %q", ps)
		}
		port = uint16(n)
	}
	return host, port, nil
}

func (p *Policy) decideNet(ctx context.Context, c Capability, raw string) Decision {
	d := Decision{Capability: c, Target: raw}
	host, port, err := parseTarget(raw)
	if err != nil {
		d.Reason = fmt.Sprintf("%s of %s denied: %v", c, shown(raw), err)
		d.Hint = "give a full URL such as https://api.github.com/"
		return d
	}
	listKey := "[network]." + strings.TrimPrefix(string(c), "net.") + "_allow"
	if r := firstHostMatch(p.netDeny, host); r != nil {
		d.by(r.entry, r.key)
		d.Reason = fmt.Sprintf("%s to %s denied by %s %q (%s)", c, host, r.key, r.entry.Value, d.Source)
		d.Hint = denyHint(r.entry, r.key)
		return d
	}
	allowed := firstHostMatch(p.netLocal, host)
	local := allowed != nil
	if allowed == nil {
		allowed = firstHostMatch(p.netAllow[c], host)
	}
	if allowed == nil {
		d.Reason = fmt.Sprintf("%s to %s denied: no %s or [network].local_only_hosts pattern matches it", c, host, listKey)
		d.Hint = fmt.Sprintf("to allow it, add %q to %s", host, listKey)
		if a, err := netip.ParseAddr(host); err == nil {
			// An IP literal in a denied range stays denied after the
			// allow entry is added: say so instead of promising it works.
			if r, why := p.deniedIP(a.WithZone("").Unmap()); why != "" {
				if r != nil {
					d.Hint += fmt.Sprintf(", and lift [network].deny_ips %q (%s), which denies it as well: %s", r.entry.Value, r.entry.From, denyHint(r.entry, "[network].deny_ips"))
				} else {
					d.Hint = "the unspecified address reaches the local machine; no policy can allow it"
				}
			}
		}
		return d
	}
	addrs, err := p.addresses(ctx, host)
	if err != nil {
		d.Reason = fmt.Sprintf("%s to %s denied: %v", c, host, err)
		d.Hint = "a host that does not resolve cannot be vetted; check the name and the network"
		return d
	}
	for _, a := range addrs {
		if r, why := p.deniedIP(a); why != "" {
			if r != nil {
				d.by(r.entry, "[network].deny_ips")
				d.Reason = fmt.Sprintf("%s to %s denied: %s [network].deny_ips %q (%s)", c, host, why, r.entry.Value, d.Source)
				d.Hint = denyHint(r.entry, "[network].deny_ips")
			} else {
				d.Reason = fmt.Sprintf("%s to %s denied: %s", c, host, why)
				d.Hint = "the unspecified address reaches the local machine; no policy can allow it"
			}
			return d
		}
	}
	d.Allowed = true
	d.by(allowed.entry, allowed.key)
	d.Addr = netip.AddrPortFrom(addrs[0], port)
	d.Reason = fmt.Sprintf("%s to %s allowed by %s %q (%s); dial %s", c, host, allowed.key, allowed.entry.Value, d.Source, d.Addr)
	if local {
		d.addPrincipal(labels.Host(allowed.entry.Value))
		d.Reason += "; the response is local-only"
	}
	return d
}

// addresses returns the IP-literal host, or the resolved addresses.
func (p *Policy) addresses(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.WithZone("").Unmap()}, nil
	}
	addrs, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if a.IsValid() {
			out = append(out, a.WithZone("").Unmap())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s resolves to no address", host)
	}
	return out, nil
}

// nat64, v4compat and sixToFour carry an IPv4 address inside IPv6.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	v4compat  = netip.MustParsePrefix("::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// deniedIP reports why a is not a permitted destination: the deny_ips rule
// covering it (or the IPv4 address it embeds), or nil with a reason for
// the always-denied unspecified addresses. why is "" when a is permitted.
func (p *Policy) deniedIP(a netip.Addr) (rule *ipRule, why string) {
	a = a.WithZone("").Unmap()
	if a.IsUnspecified() {
		return nil, fmt.Sprintf("address %s is unspecified", a)
	}
	cands := []netip.Addr{a}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a), v4compat.Contains(a) && !a.IsLoopback():
			cands = append(cands, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			cands = append(cands, netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, x := range cands {
		if x.IsUnspecified() && x != a {
			return nil, fmt.Sprintf("address %s carries the unspecified address", a)
		}
		for i := range p.denyIPs {
			if p.denyIPs[i].prefix.Contains(x) {
				if x != a {
					return &p.denyIPs[i], fmt.Sprintf("address %s carries %s, which is inside", a, x)
				}
				return &p.denyIPs[i], fmt.Sprintf("address %s is inside", a)
			}
		}
	}
	return nil, ""
}

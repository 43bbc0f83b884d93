package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// validateEntry checks one list element against its kind and returns a
// message and a hint when it is unusable. A leading "!" (negation) is
// checked as the entry it names.
func validateEntry(kind valueKind, s string) (msg, hint string) {
	if strings.HasPrefix(s, "!") {
		s = s[1:]
		if s == "" {
			return "a lone \"!\" negates nothing", `write "!<entry>" to remove an inherited entry`
		}
	}
	if s == "" {
		return "empty entry", "remove it"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL byte", "remove it"
	}
	switch kind {
	case kindPath:
		return validatePathPattern(s)
	case kindHost:
		_, msg, hint := normalizeHostPattern(s)
		return msg, hint
	case kindIP:
		if _, err := parseIPEntry(s); err != nil {
			return err.Error(), `write an address ("169.254.169.254", "::1") or a CIDR ("10.0.0.0/8", "fc00::/7")`
		}
	case kindEnv:
		return validateEnvName(s)
	case kindCommand:
		return validateCommand(s)
	case kindCapability:
		if !Capability(s).Known() {
			return "unknown capability", capabilityHint(s)
		}
	case kindApprovePrefix:
		return validateApprovePrefix(s)
	case kindRelease:
		if !ReleaseKind(s).Known() {
			return "unknown release kind", releaseKindHint(s)
		}
	}
	return "", ""
}

func validatePathPattern(s string) (msg, hint string) {
	if strings.HasPrefix(s, "~") && s != "~" && !strings.HasPrefix(s, "~/") {
		return "only \"~\" and \"~/...\" are expanded", "write the home directory's absolute path"
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return "patterns may not contain \"..\"", "write the absolute path, or a path relative to the policy's directory without \"..\""
		}
	}
	if !doublestar.ValidatePattern(s) {
		return "not a valid glob", `check that [ ] and { } are balanced; write \* for a literal *`
	}
	return "", ""
}

// normalizeHostPattern lower-cases a host glob and strips IPv6 brackets and
// a trailing dot, the forms a URL host can take that name the same host.
func normalizeHostPattern(s string) (norm, msg, hint string) {
	h := strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(h, "://") {
		return "", "a host pattern has no scheme", "write the host only, e.g. api.github.com"
	}
	if strings.ContainsAny(h, "/@") {
		return "", "a host pattern has no path or user", "write the host only, e.g. api.github.com"
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", "empty host", "remove it"
	}
	if strings.Contains(h, ":") {
		if _, err := netip.ParseAddr(h); err != nil || strings.Contains(h, "%") {
			return "", "a host pattern has no port", "write the host only; any port on an allowed host is allowed"
		}
		return h, "", ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '*', c == '?':
		case c >= 0x80:
			return "", "non-ASCII host", "write the punycode (xn--) form of the name"
		default:
			return "", fmt.Sprintf("character %q is not allowed in a host pattern", c), "hosts are letters, digits, '.', '-', '_' and the wildcards * and ?"
		}
	}
	return h, "", ""
}

// parseIPEntry reads a deny_ips entry: an address (a /32 or /128) or a CIDR.
// IPv4-mapped IPv6 entries are unmapped so that they cover what they say.
func parseIPEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("zoned addresses are not allowed")
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR: %w", err)
		}
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address: %w", err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func validateEnvName(s string) (msg, hint string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-', c == '*', c == '?':
		default:
			return fmt.Sprintf("character %q is not allowed in a variable name", c), "write a name such as HOME, or a glob such as LC_*"
		}
	}
	return "", ""
}

func validateCommand(s string) (msg, hint string) {
	if s == "" {
		return "empty command", "remove it"
	}
	if strings.ContainsAny(s, " \t\n") {
		return "a command entry is one program name or path, without arguments", "put argument patterns in [subprocess.deny_args]"
	}
	if strings.ContainsAny(s, "*?[") {
		return "command entries are exact names or paths, not globs", "list each program by name"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL byte", "remove it"
	}
	return "", ""
}

func validateArgPattern(s string) (msg, hint string) {
	if len(strings.Fields(s)) == 0 {
		return "empty pattern", "remove it"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL byte", "remove it"
	}
	return "", ""
}

// entryKey is the form two entries are compared in for de-duplication and
// negation: exact text, except for hosts (case, brackets, trailing dot) and
// IPs (one canonical CIDR), where different spellings name the same thing.
func entryKey(kind valueKind, s string) string {
	switch kind {
	case kindHost:
		if n, msg, _ := normalizeHostPattern(s); msg == "" {
			return n
		}
	case kindIP:
		if p, err := parseIPEntry(s); err == nil {
			return p.String()
		}
	case kindApprovePrefix:
		return strings.Join(strings.Fields(s), " ")
	}
	return s
}

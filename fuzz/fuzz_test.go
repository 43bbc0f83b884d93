package fuzz

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/policy"
)

// internalError is the reason prefix of a decision that recovered from a
// panic inside the engine; the fuzzers treat it as a crash.
const internalError = "internal error in the policy engine"

// publicDNS resolves every name to one public address, so network
// decisions get as far as the address check without a network.
type publicDNS struct{}

func (publicDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if strings.HasPrefix(host, "fail") {
		return nil, errors.New("no such host")
	}
	if strings.HasPrefix(host, "meta") {
		return []netip.Addr{netip.MustParseAddr("::ffff:169.254.169.254")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

// sandbox is a scratch root and home for one fuzz target.
func sandbox(f *testing.F) (root string, opts []policy.Option) {
	base, err := filepath.EvalSymlinks(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	root = filepath.Join(base, "root")
	home := filepath.Join(base, "home")
	for _, d := range []string{root + "/src/sub", root + "/.git", home + "/.ssh"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{root + "/src/a.go", root + "/.env", home + "/.ssh/id_rsa"} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Symlink(root+"/.env", root+"/src/link"); err != nil {
		f.Fatal(err)
	}
	lookPath := func(name string) (string, error) {
		if strings.ContainsAny(name, "/\x00") || name == "" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + name, nil
	}
	return root, []policy.Option{
		policy.WithHome(home), policy.WithResolver(publicDNS{}), policy.WithLookPath(lookPath),
		policy.WithAuditLog(filepath.Join(base, "audit.jsonl")),
	}
}

func checkDecision(t *testing.T, d policy.Decision) {
	t.Helper()
	if strings.Contains(d.Reason, internalError) {
		t.Fatalf("engine panicked: %s", d.Reason)
	}
	if d.Reason == "" {
		t.Fatalf("decision without a reason: %+v", d)
	}
	if !d.Allowed && d.Hint == "" {
		t.Fatalf("denial without a hint: %s", d.Reason)
	}
}

func FuzzPolicyLoad(f *testing.F) {
	root, opts := sandbox(f)
	for _, s := range []string{
		"",
		"inherits = \"secure-defaults\"\n[filesystem]\nread_allow = [\"src/**\"]\n",
		"[filesystem]\ndenny = [\"x\"]\n",
		"[network]\ndeny_ips = [\"10.0.0.0/33\"]\n",
		"[subprocess.deny_args]\ngit = [\"push --force\"]\n",
		"[tools]\nRead = [\"fs.read\"]\n[tools.W]\ncapabilities = [\"net.http_get\"]\n",
		"version = \"2\"\n",
		"a = [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		p, err := policy.LoadBytes("fuzz.toml", data, root, opts...)
		if err != nil {
			var le *policy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("a load failure must be a *LoadError, got %T: %v", err, err)
			}
			if len(le.Problems) == 0 {
				t.Fatal("a *LoadError with no problems")
			}
			for _, pr := range le.Problems {
				if pr.File == "" || pr.Msg == "" {
					t.Fatalf("problem without file or message: %+v", pr)
				}
			}
			return
		}
		_ = p.Describe()
		_ = p.Principals()
		for _, q := range [][]string{
			{"fs.read", "src/a.go"}, {"fs.write", ".env"}, {"net.http_get", "https://api.example.com/"},
			{"env.read", "HOME"}, {"subprocess.exec", "git", "status"},
		} {
			checkDecision(t, p.Decide(policy.Capability(q[0]), q[1:]...))
			_ = p.FlowAllowed(policy.Capability(q[0]), q[1:]...)
		}
		if p.Decide(policy.FSRead, ".env").Allowed && strings.Contains(string(data), "secure-defaults") &&
			!strings.Contains(string(data), "!") {
			t.Fatal(".env readable under an inherited secure-defaults with no negation")
		}
	})
}

func FuzzPathMatch(f *testing.F) {
	root, opts := sandbox(f)
	for _, s := range [][2]string{
		{"src/**", "src/a.go"}, {"*.go", "src/sub/../a.go"}, {"./src/*", "src//a.go"}, {"~/notes/**", "~/notes/x"},
		{"/etc/**", "/etc/passwd"}, {"src/[a-z]*.go", "src/link"}, {"{src,lib}/**", "lib/../../x"},
		{"**", ".env"}, {"src/", "src"}, {"a\\*b", "a*b"}, {"**/x/**", "\xff\xfe/x/y"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, target string) {
		if len(pattern) > 512 || len(target) > 8192 || strings.ContainsAny(pattern, "\"\\\n\r") {
			return
		}
		src := "[filesystem]\nread_allow = [\"" + pattern + "\", \"**\"]\nwrite_allow = [\"" + pattern + "\"]\n" +
			"deny = [\".env\", \"" + pattern + "/never\"]\n"
		p, err := policy.LoadBytes("fuzz.toml", []byte(src), root, opts...)
		if err != nil {
			return
		}
		for _, c := range []policy.Capability{policy.FSRead, policy.FSWrite, policy.FSExists, policy.FSList, policy.FSDelete} {
			d := p.Decide(c, target)
			checkDecision(t, d)
			if d.Allowed && path.Base(d.ResolvedPath) == ".env" {
				t.Fatalf("%s %q reached %s although .env is denied", c, target, d.ResolvedPath)
			}
			if d.Allowed && !filepath.IsAbs(d.ResolvedPath) {
				t.Fatalf("allowed with a relative resolved path %q", d.ResolvedPath)
			}
		}
	})
}

func FuzzHostMatch(f *testing.F) {
	root, opts := sandbox(f)
	for _, s := range [][2]string{
		{"*.github.com", "https://api.github.com/x"}, {"*", "http://[::ffff:169.254.169.254]/"}, {"*", "http://0.0.0.0:80/"},
		{"*", "http://metadata.example/"}, {"*", "https://fail.example/"}, {"a?c", "http://abc:8080"},
		{"[::1]", "http://[::1]/"}, {"*", "https://x@y.com#@z.com"}, {"*.", "http://EXAMPLE.com./"}, {"*", "http://[fe80::1%25eth0]/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, rawURL string) {
		if len(pattern) > 256 || len(rawURL) > 4096 || strings.ContainsAny(pattern, "\"\\\n\r") {
			return
		}
		src := "inherits = \"secure-defaults\"\n[network]\nhttp_get_allow = [\"" + pattern + "\"]\nlocal_only_hosts = [\"" + pattern + ".local\"]\n"
		p, err := policy.LoadBytes("fuzz.toml", []byte(src), root, opts...)
		if err != nil {
			return
		}
		for _, c := range []policy.Capability{policy.HTTPGet, policy.HTTPPost} {
			d := p.Decide(c, rawURL)
			checkDecision(t, d)
			if d.Allowed {
				a := d.Addr.Addr()
				if !d.Addr.IsValid() || d.Addr.Port() == 0 {
					t.Fatalf("allowed %s without a vetted address", rawURL)
				}
				if a.Unmap().IsLoopback() || a.Unmap().IsPrivate() || a.Unmap().IsLinkLocalUnicast() || a.IsUnspecified() {
					t.Fatalf("allowed %s to %s, inside the preset's deny_ips", rawURL, a)
				}
			}
			fd := p.FlowAllowed(c, rawURL)
			if strings.Contains(fd.Reason, internalError) {
				t.Fatalf("flow check panicked: %s", fd.Reason)
			}
		}
	})
}

func FuzzArgvMatch(f *testing.F) {
	root, opts := sandbox(f)
	for _, s := range [][2]string{
		{"push --force", "push\x00origin\x00--forc"}, {"clean -fd", "clean\x00-xdf"}, {"-c", "-Ic\x00code"},
		{"push +*", "push\x00origin\x00+main"}, {"--force-with-lease", "push\x00--force-with-lease=main:abc"},
		{"-exec", "src\x00-exec\x00cat\x00{}\x00;"}, {"db:drop", "--flag=/etc/passwd\x00-f/etc/shadow\x00if=/dev/zero"},
		{"x", "~/.ssh/id_rsa\x00src/link\x00a.jar:/etc/passwd"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, args string) {
		if len(pattern) > 256 || len(args) > 8192 || strings.ContainsAny(pattern, "\"\\\n\r") {
			return
		}
		src := "[filesystem]\nread_allow = [\"src/**\"]\n[subprocess]\nallow_commands = [\"git\"]\n[subprocess.deny_args]\ngit = [\"" + pattern + "\"]\n"
		p, err := policy.LoadBytes("fuzz.toml", []byte(src), root, opts...)
		if err != nil {
			return
		}
		argv := append([]string{"git"}, strings.Split(args, "\x00")...)
		checkDecision(t, p.Decide(policy.SubprocessExec, argv...))
		// A command line made of the pattern's own words must match it.
		own := append([]string{"git"}, strings.Fields(pattern)...)
		if len(own) > 1 {
			if d := p.Decide(policy.SubprocessExec, own...); d.Allowed {
				t.Fatalf("%q allowed although it spells deny_args pattern %q: %s", own, pattern, d.Reason)
			}
		}
	})
}

package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// Property tests: the rules the whole design leans on, checked over
// generated policies and targets rather than hand-picked ones.

var segments = []string{"a", "b", "src", ".env", "x.go", "deep"}

func genRelPath(t *rapid.T, label string) string {
	n := rapid.IntRange(1, 4).Draw(t, label+"-len")
	parts := make([]string, n)
	for i := range parts {
		parts[i] = rapid.SampledFrom(segments).Draw(t, label+"-seg")
	}
	return strings.Join(parts, "/")
}

func genPattern(t *rapid.T, label string) string {
	n := rapid.IntRange(1, 3).Draw(t, label+"-len")
	parts := make([]string, n)
	for i := range parts {
		parts[i] = rapid.SampledFrom(append([]string{"*", "**", "*.go"}, segments...)).Draw(t, label+"-tok")
	}
	p := strings.Join(parts, "/")
	if rapid.Bool().Draw(t, label+"-anchored") {
		p = "./" + p
	}
	return p
}

func tomlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// propWorld is a root with a few real directories, shared by iterations.
func propWorld(t *testing.T) (root string, opts []Option) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(base, "root")
	for _, d := range []string{"a/b", "src/deep", "b/src"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, []Option{WithHome(filepath.Join(base, "home")), WithAuditLog(filepath.Join(base, "audit.jsonl")), WithResolver(fakeDNS{})}
}

func TestPropertyDenyAlwaysWins(t *testing.T) {
	root, opts := propWorld(t)
	rapid.Check(t, func(t *rapid.T) {
		allow := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genPattern(t, "allow") }), 0, 4).Draw(t, "allow")
		allow = append(allow, rapid.SampledFrom([]string{"**", "*", "./**"}).Draw(t, "broad"))
		deny := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genPattern(t, "deny") }), 0, 3).Draw(t, "deny")
		target := genRelPath(t, "target")
		mk := func(deny []string) *Policy {
			src := fmt.Sprintf("[filesystem]\nread_allow = %s\nlocal_only_read = %s\nwrite_allow = %s\ndelete_allow = %s\ndeny = %s\n",
				tomlList(allow), tomlList(allow), tomlList(allow), tomlList(allow), tomlList(deny))
			p, err := LoadBytes("prop.toml", []byte(src), root, opts...)
			if err != nil {
				t.Fatalf("load: %v\n%s", err, src)
			}
			return p
		}
		base := mk(deny)
		withTarget := mk(append(append([]string{}, deny...), "./"+target))
		for _, c := range []Capability{FSRead, FSWrite, FSDelete, FSList, FSExists} {
			if d := withTarget.Decide(c, target); d.Allowed {
				t.Fatalf("%s %s allowed although it is in deny: %s", c, target, d.Reason)
			}
			// Monotonic: adding deny entries never allows more.
			extra := genPattern(t, "extra")
			more := mk(append(append([]string{}, deny...), extra))
			if more.Decide(c, target).Allowed && !base.Decide(c, target).Allowed {
				t.Fatalf("adding deny %q allowed %s %s", extra, c, target)
			}
		}
	})
}

func TestPropertyDenyWinsForNamesHostsCommands(t *testing.T) {
	root, opts := propWorld(t)
	names := []string{"HOME", "TOKEN", "LC_ALL", "git", "cat", "api.example.com", "x.example.com"}
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom(names).Draw(t, "name")
		globs := []string{"*", name, strings.ToUpper(name[:1]) + "*", "*" + name[len(name)-1:]}
		allow := rapid.SliceOfN(rapid.SampledFrom(globs), 1, 3).Draw(t, "allow")
		envSrc := fmt.Sprintf("[environment]\nallow_vars = %s\nlocal_only_vars = %s\ndeny_vars = [%q]\n", tomlList(allow), tomlList(allow), name)
		p, err := LoadBytes("env.toml", []byte(envSrc), root, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Decide(EnvRead, name); d.Allowed {
			t.Fatalf("env %s allowed despite deny_vars: %s", name, d.Reason)
		}
		host := "h" + strings.ToLower(strings.ReplaceAll(name, "_", "")) + ".test"
		netSrc := fmt.Sprintf("[network]\nhttp_get_allow = [\"*\", %q]\nlocal_only_hosts = [\"*\"]\ndeny_hosts = [%q]\n", host, host)
		p, err = LoadBytes("net.toml", []byte(netSrc), root, append(opts, WithResolver(fakeDNS{host: {"93.184.216.34"}}))...)
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Decide(HTTPGet, "https://"+host+"/"); d.Allowed {
			t.Fatalf("host %s allowed despite deny_hosts: %s", host, d.Reason)
		}
		cmdSrc := fmt.Sprintf("[subprocess]\nallow_commands = [%q]\nlocal_only_commands = [%q]\ndeny_commands = [%q]\n", "true", "true", "true")
		p, err = LoadBytes("cmd.toml", []byte(cmdSrc), root, append(opts, WithLookPath(func(string) (string, error) { return "/bin/true", nil }))...)
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Decide(SubprocessExec, "true", name); d.Allowed {
			t.Fatalf("command allowed despite deny_commands: %s", d.Reason)
		}
	})
}

func TestPropertyNegationRemovesExactlyTheEntry(t *testing.T) {
	root, opts := propWorld(t)
	type listCase struct {
		section, key string
		preset       []string
	}
	lists := []listCase{
		{"subprocess", "deny_commands", secureDenyCommands[:]},
		{"environment", "deny_vars", secureDenyVars[:]},
		{"filesystem", "deny", secureFSDeny[:]},
		{"network", "deny_ips", secureDenyIPs[:]},
		{"network", "deny_hosts", secureDenyHosts[:]},
	}
	rapid.Check(t, func(t *rapid.T) {
		lc := rapid.SampledFrom(lists).Draw(t, "list")
		k := rapid.IntRange(1, 3).Draw(t, "count")
		victims := map[string]bool{}
		var negs []string
		for i := 0; i < k; i++ {
			v := rapid.SampledFrom(lc.preset).Draw(t, "victim")
			if !victims[v] {
				victims[v] = true
				negs = append(negs, "!"+v)
			}
		}
		src := fmt.Sprintf("inherits = \"secure-defaults\"\n[%s]\n%s = %s\n", lc.section, lc.key, tomlList(negs))
		p, err := LoadBytes("neg.toml", []byte(src), root, opts...)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		var got []string
		for _, l := range p.Describe().Lists {
			if l.Key == "["+lc.section+"]."+lc.key {
				for _, e := range l.Entries {
					got = append(got, e.Value)
				}
			}
		}
		var want []string
		for _, v := range lc.preset {
			if !victims[v] {
				want = append(want, v)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("negating %v from %s:\n got  %v\n want %v", negs, lc.key, got, want)
		}
	})
}

func TestPropertyMergeListNegation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(t, "n")
		var base []Entry
		for i := 0; i < n; i++ {
			base = append(base, Entry{Value: fmt.Sprintf("e%d", i), From: Source{Preset: "p"}})
		}
		victim := rapid.IntRange(0, n-1).Draw(t, "victim")
		added := rapid.SliceOfN(rapid.SampledFrom([]string{"e0", "new1", "new2", "e3"}), 0, 3).Draw(t, "added")
		over := []Entry{{Value: "!" + base[victim].Value}}
		for _, a := range added {
			if a != base[victim].Value {
				over = append(over, Entry{Value: a})
			}
		}
		var probs problems
		got := mergeList(kindCommand, "k", base, over, "f", &probs)
		if len(probs.list) != 0 {
			t.Fatalf("problems: %v", probs.list)
		}
		seen := map[string]bool{}
		for _, e := range got {
			if e.Value == base[victim].Value {
				t.Fatalf("negated %s still present: %v", e.Value, got)
			}
			if seen[e.Value] {
				t.Fatalf("duplicate %s: %v", e.Value, got)
			}
			seen[e.Value] = true
		}
		for i, e := range base {
			if i != victim && !seen[e.Value] {
				t.Fatalf("negating %s also removed %s", base[victim].Value, e.Value)
			}
		}
	})
}

func TestPropertyDecisionsStableUnderSpelling(t *testing.T) {
	root, opts := propWorld(t)
	rapid.Check(t, func(t *rapid.T) {
		allow := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genPattern(t, "allow") }), 1, 4).Draw(t, "allow")
		deny := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genPattern(t, "deny") }), 0, 2).Draw(t, "deny")
		src := fmt.Sprintf("[filesystem]\nread_allow = %s\nwrite_allow = %s\ndeny = %s\n", tomlList(allow), tomlList(allow), tomlList(deny))
		p, err := LoadBytes("spell.toml", []byte(src), root, opts...)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		target := genRelPath(t, "target")
		parts := strings.Split(target, "/")
		// Respell: "./" and "//" between segments, and "x/../" detours.
		var b strings.Builder
		if rapid.Bool().Draw(t, "abs") {
			b.WriteString(root + "/")
		}
		for i, seg := range parts {
			if i > 0 {
				b.WriteString(rapid.SampledFrom([]string{"/", "//", "/./", "/.//"}).Draw(t, "sep"))
			}
			if rapid.Bool().Draw(t, "detour") {
				b.WriteString(rapid.SampledFrom([]string{"deep", "zz", "b"}).Draw(t, "via") + "/../")
			}
			b.WriteString(seg)
		}
		respelled := b.String()
		if _, _, err := p.resolveTarget(respelled); err != nil {
			// A detour through a place that is not a directory names
			// nothing, as in the kernel ("zz/../a" fails with ENOENT when
			// there is no zz): such a spelling is denied, never allowed.
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("%q: %v", respelled, err)
			}
			for _, c := range []Capability{FSRead, FSWrite} {
				if d := p.Decide(c, respelled); d.Allowed {
					t.Fatalf("%s %q allowed, but it names nothing: %s", c, respelled, d.Reason)
				}
			}
			return
		}
		for _, c := range []Capability{FSRead, FSWrite} {
			d1, d2 := p.Decide(c, target), p.Decide(c, respelled)
			if d1.Allowed != d2.Allowed || d1.Rule != d2.Rule || d1.ResolvedPath != d2.ResolvedPath {
				t.Fatalf("%s %q vs %q:\n %v %q %s\n %v %q %s", c, target, respelled, d1.Allowed, d1.Rule, d1.ResolvedPath, d2.Allowed, d2.Rule, d2.ResolvedPath)
			}
		}
	})
}

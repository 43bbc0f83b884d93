package policy

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func fsWorld(t *testing.T) (*world, *Policy) {
	w := newWorld(t)
	out := filepath.Join(w.base, "outside")
	for _, f := range []string{"src/a.go", "src/sub/b.go", ".env", "src/.env", "docs/x.md", "README.md", "top/x", "top/.hidden", "top/d/y",
		"src/generated/x/y.go", "src/vendor/z.go", "private/k", "out/x", "local.cfg", "src/local.cfg",
		out + "/secret.txt", out + "/pub/doc.txt", out + "/pub/.env", out + "/pub/x.bak", out + "/x.md", out + "/dir/f",
		w.home + "/notes/a", w.home + "/.ssh/id_rsa", w.home + "/.env"} {
		w.file(f)
	}
	w.symlink(out+"/secret.txt", "src/link")
	w.symlink(filepath.Join(w.root, ".env"), "src/envlink")
	w.symlink(out, "src/dirlink")
	w.symlink(out+"/dir", "src/deeplink")
	w.symlink(w.home+"/.bashrc", "src/dangling")
	w.symlink("../src", "srclink")
	src := strings.ReplaceAll(`
inherits = "secure-defaults"

[filesystem]
read_allow = ["src/**", "*.md", "top/*", "OUT/pub/**", "~/notes/**", "srclink/**"]
local_only_read = ["private/**"]
write_allow = ["src/**", "out/", "private/**"]
delete_allow = ["out/**"]
deny = ["src/generated/**", "src/vendor", "*.bak", "./local.cfg"]
`, "OUT", out)
	return w, w.mustLoad(src)
}

func TestFilesystemRules(t *testing.T) {
	w, p := fsWorld(t)
	out := filepath.Join(w.base, "outside")
	runChecks(t, p, []check{
		// Anchoring and glob semantics.
		ck(FSRead, true, "src/a.go", `read_allow "src/**"`),
		ck(FSRead, true, "src/sub/b.go", `"src/**"`),
		ck(FSRead, true, w.root+"/src/a.go"),
		ck(FSRead, true, "top/x", `"top/*"`),
		ck(FSRead, true, "top/.hidden", `"top/*"`), // * matches a leading dot
		ck(FSRead, false, "top/d/y", "no [filesystem].read_allow"),
		ck(FSRead, true, "docs/x.md", `"*.md"`), // bare name: any depth under the root
		ck(FSRead, true, "README.md"),
		ck(FSRead, false, out+"/x.md"), // ...but only under the root
		ck(FSRead, true, "~/notes/a", `"~/notes/**"`),
		ck(FSRead, false, "~", "no [filesystem].read_allow"),
		// Deny wins, anywhere, and covers what is below.
		ck(FSRead, false, ".env", `[filesystem].deny ".env"`, "preset secure-defaults"),
		ck(FSRead, false, "src/.env", `deny ".env"`),
		ck(FSRead, false, out+"/pub/.env", `deny ".env"`), // outside the root too
		ck(FSRead, false, "~/.env", `deny ".env"`),
		ck(FSRead, false, out+"/pub/x.bak", `deny "*.bak"`),
		ck(FSRead, true, out+"/pub/doc.txt"),
		ck(FSRead, false, "src/generated/x/y.go", `deny "src/generated/**"`),
		ck(FSRead, false, "src/vendor/z.go", `deny "src/vendor"`), // a literal directory denies its tree
		ck(FSRead, false, "local.cfg", `deny "./local.cfg"`),
		ck(FSRead, true, "src/local.cfg"), // "./x" anchors at the root only
		ck(FSRead, false, "~/.ssh/id_rsa", `"~/.ssh/**"`),
		ck(FSRead, false, "/etc/shadow", `"/etc/shadow"`),
		ck(FSRead, false, "/proc/self/environ", `"/proc/**"`),
		ck(FSRead, false, "/sys/kernel", `"/sys/**"`),
		// .. is applied, and cannot climb out of an allow.
		ck(FSRead, false, "src/../.env", `deny ".env"`),
		ck(FSRead, false, "src/../../outside/secret.txt", "no [filesystem].read_allow"),
		ck(FSRead, true, "src/sub/../a.go"),
		// Symlinks are judged by where they lead.
		ck(FSRead, false, "src/link", "outside/secret.txt"),
		ck(FSRead, false, "src/envlink", `deny ".env"`),
		ck(FSRead, false, "src/dirlink/secret.txt", "no [filesystem].read_allow"),
		ck(FSRead, true, "src/dirlink/pub/doc.txt"),
		ck(FSRead, false, "src/deeplink/../secret.txt", "outside/secret.txt"), // the kernel's "..": after the link
		ck(FSWrite, false, "src/dangling", "home/.bashrc"),                    // a write through a dangling link lands outside
		ck(FSRead, true, "srclink/a.go"),                                      // a relative link into an allowed tree
		// Per-capability lists.
		ck(FSWrite, true, "src/new/dir/file.go", `write_allow "src/**"`),
		ck(FSWrite, true, "out/x", `write_allow "out/"`),
		ck(FSWrite, true, "out", `"out/"`),
		ck(FSWrite, false, "docs/x.md", "no [filesystem].write_allow"),
		ck(FSWrite, false, ".env", `deny ".env"`),
		ck(FSDelete, true, "out/x", `delete_allow "out/**"`),
		ck(FSDelete, false, "src/a.go", "no [filesystem].delete_allow"),
		ck(FSList, true, "src", `"src/**"`),
		ck(FSList, false, ".", "no [filesystem].read_allow"),
		ck(FSExists, true, "out/x", `"out/"`),
		ck(FSExists, false, ".env", "deny"),
		ck(FSWrite, false, "aegis.toml", "no [filesystem].write_allow"),
		// Malformed targets.
		ck(FSRead, false, "", "empty path"),
		ck(FSRead, false, "src/a\x00.go", "NUL"),
		ck(FSRead, false, "src/"+strings.Repeat("a", 5000), "limit"),
		ck(FSRead, true, "src/\xff\xfe.go"),
	})
}

func TestFilesystemDecisionDetails(t *testing.T) {
	w, p := fsWorld(t)
	d := p.Decide(FSRead, "private/k")
	if !d.Allowed || !d.LocalOnly || d.Principal != "file:private/**" || d.Section != "[filesystem].local_only_read" {
		t.Errorf("local-only read: %+v", d)
	}
	// local_only_read wins over a plain allow of the same file.
	if d := p.Decide(FSWrite, "private/k"); !d.Allowed || d.LocalOnly {
		t.Errorf("write of a local-only path is a plain write_allow decision: %+v", d)
	}
	d = p.Decide(FSRead, "src/sub/../a.go")
	if d.ResolvedPath != filepath.Join(w.root, "src/a.go") {
		t.Errorf("ResolvedPath = %q", d.ResolvedPath)
	}
	d = p.Decide(FSWrite, "src/dangling")
	if d.ResolvedPath != filepath.Join(w.home, ".bashrc") {
		t.Errorf("dangling link ResolvedPath = %q", d.ResolvedPath)
	}
	d = p.Decide(FSRead, "docs/y.txt")
	if d.Hint != `to allow it, add "docs/y.txt" (or a glob covering it) to [filesystem].read_allow` {
		t.Errorf("hint = %q", d.Hint)
	}
	d = p.Decide(FSRead, ".env")
	if d.Rule != ".env" || d.Section != "[filesystem].deny" || d.Source != "preset secure-defaults" ||
		!strings.Contains(d.Hint, `add "!.env" to [filesystem].deny`) {
		t.Errorf("deny decision: %+v", d)
	}
	d = p.Decide(FSRead, "src/generated/x/y.go")
	if !strings.Contains(d.Hint, "aegis.toml:9") || !strings.Contains(d.Hint, `remove "src/generated/**"`) {
		t.Errorf("a file's deny entry must point at its line: %q", d.Hint)
	}
	if d := p.Decide(FSWrite, "aegis.toml"); !strings.Contains(d.Hint, "policy file") {
		t.Errorf("hint for the policy file: %q", d.Hint)
	}
	if err := p.Decide(FSRead, ".env").Err(); err == nil || !strings.Contains(err.Error(), `deny ".env"`) {
		t.Errorf("Err() = %v", err)
	}
	if err := p.Decide(FSRead, "src/a.go").Err(); err != nil {
		t.Errorf("Err() of an allowed decision = %v", err)
	}
}

func TestSymlinkLoopIsDenied(t *testing.T) {
	w := newWorld(t)
	w.symlink("loop2", "src/loop1")
	w.symlink("loop1", "src/loop2")
	p := w.mustLoad("[filesystem]\nread_allow = [\"src/**\"]\n")
	runChecks(t, p, []check{ck(FSRead, false, "src/loop1", "too many levels of symbolic links")})
}

func TestPatternPrefixIsCanonicalised(t *testing.T) {
	// A pattern written through a symlinked directory matches the real
	// files, which is how targets are judged.
	w := newWorld(t)
	w.file(filepath.Join(w.base, "real/data/f"))
	w.symlink(filepath.Join(w.base, "real"), filepath.Join(w.base, "alias"))
	p := w.mustLoad("[filesystem]\nread_allow = [\"" + w.base + "/alias/data/**\"]\ndeny = [\"" + w.base + "/alias/data/f\"]\n")
	runChecks(t, p, []check{
		ck(FSRead, false, w.base+"/real/data/f", "deny"),
		ck(FSRead, false, w.base+"/alias/data/f", "deny"),
		ck(FSRead, true, w.base+"/real/data/g"),
	})
}

func TestCanonicalizerResolvesAsFromTheRoot(t *testing.T) {
	// The compile-time canonicalizer resolves each directory once and what
	// lies under it from there; whatever order paths come in, each must
	// resolve as realPath resolves it from "/": through symlinked,
	// relative, chained, dangling and looping links, files used as
	// directories, and directories that do not exist.
	w := newWorld(t)
	b := w.base
	w.file(filepath.Join(b, "real/data/f"))
	w.file(filepath.Join(b, "real/file"))
	w.symlink(filepath.Join(b, "real"), filepath.Join(b, "alias"))         // absolute
	w.symlink("../real/data", filepath.Join(b, "home/rel"))                // relative
	w.symlink(filepath.Join(b, "alias"), filepath.Join(b, "chain"))        // to a link
	w.symlink(filepath.Join(b, "nowhere/x"), filepath.Join(b, "dangling")) // to nothing
	w.symlink("loopB", filepath.Join(b, "loopA"))
	w.symlink("loopA", filepath.Join(b, "loopB"))
	paths := []string{
		b + "/alias/data/f", b + "/alias/data", b + "/alias", b + "/chain/data/g", b + "/chain/file/x",
		b + "/home/rel/f", b + "/home/rel/missing/deeper", b + "/home/rel", b + "/dangling/y", b + "/dangling",
		b + "/real/file", b + "/real/file/under", b + "/missing/a/b", b + "/missing/a", b + "/loopA/z", b + "/loopB",
		"/", b,
	}
	reversed := make([]string, len(paths))
	for i, p := range paths {
		reversed[len(paths)-1-i] = p
	}
	for _, order := range [][]string{paths, reversed} {
		c := newCanonicalizer(b+"/proj", b+"/home")
		for _, p := range order {
			want, wantErr := realPath(p, "")
			got, err := c.real(p)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Errorf("real(%s) = %q, %v; realPath gives %q, %v", p, got, err, want, wantErr)
			}
		}
	}
}

// A long target is cut for messages at a rune boundary: the reason shows
// the runes it keeps, never the bytes of half of one.
func TestLongTargetCutAtRuneBoundary(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
`)
	target := strings.Repeat("€", 100) // 300 bytes: 200 is inside a rune
	d := p.Decide(FSRead, target)
	if d.Allowed || !strings.Contains(d.Reason, "€€€...") || strings.Contains(d.Reason, `\x`) || !utf8.ValidString(d.Reason) {
		t.Errorf("reason %q", d.Reason)
	}
}

// The pattern a denial's hint suggests, once added, allows the target and
// not the same name elsewhere: a bare name would match at any depth, so a
// file at the root is suggested as "./name"; a file under home as "~/...".
func TestSuggestedPatternAllowsTheTargetOnly(t *testing.T) {
	w := newWorld(t)
	for _, f := range []string{"secret.txt", "sub/secret.txt", "sub/deeper/secret.txt", filepath.Join(w.home, "notes/secret.txt"), filepath.Join(w.home, "secret.txt")} {
		w.file(f)
	}
	p := w.mustLoad("[filesystem]\nread_allow = [\"nothing/**\"]\n")
	for _, target := range []string{"secret.txt", "sub/secret.txt", "~/notes/secret.txt", "~/secret.txt"} {
		d := p.Decide(FSRead, target)
		_, rest, ok := strings.Cut(d.Hint, "add ")
		pattern, err := strconv.Unquote(strings.SplitN(rest, " (", 2)[0])
		if d.Allowed || !ok || err != nil {
			t.Fatalf("%s: allowed %v, hint %q", target, d.Allowed, d.Hint)
		}
		q := w.mustLoad("[filesystem]\nread_allow = [" + strconv.Quote(pattern) + "]\n")
		if !q.Decide(FSRead, target).Allowed {
			t.Errorf("%s: the suggested %q does not allow it", target, pattern)
		}
		for _, other := range []string{"sub/deeper/secret.txt", "sub/secret.txt", "secret.txt", "~/secret.txt", "~/notes/secret.txt"} {
			if other != target && q.Decide(FSRead, other).Allowed {
				t.Errorf("%s: the suggested %q allows %s too", target, pattern, other)
			}
		}
	}
}

// A default denial names every list that would allow the call.
func TestDefaultDenialNamesEveryGrantingList(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad("[filesystem]\nread_allow = [\"nothing/**\"]\n")
	for c, want := range map[Capability]string{
		FSRead:   "no [filesystem].read_allow or local_only_read pattern",
		FSList:   "no [filesystem].read_allow or local_only_read pattern",
		FSExists: "no [filesystem].read_allow, local_only_read, write_allow or delete_allow pattern",
		FSWrite:  "no [filesystem].write_allow pattern",
		FSDelete: "no [filesystem].delete_allow pattern",
	} {
		if d := p.Decide(c, "x"); d.Allowed || !strings.Contains(d.Reason, want) {
			t.Errorf("%s: %q lacks %q", c, d.Reason, want)
		}
	}
}

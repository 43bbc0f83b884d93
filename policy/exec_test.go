package policy

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func execWorld(t *testing.T) (*world, *Policy) {
	w := newWorld(t)
	for _, n := range []string{"git", "cat", "ls", "grep", "tar", "sort", "find", "npm", "cp", "python3", "bash", "pass", "tool-full", "lcp", "lgrep"} {
		w.program("", n)
	}
	evil := filepath.Join(w.base, "evil_bin")
	w.program(evil, "cat")
	w.symlink(filepath.Join(w.bin, "bash"), filepath.Join(evil, "innocent"))
	w.program(filepath.Join(w.root, "tools"), "run.sh")
	for _, f := range []string{"src/a.go", "README.md", ".env", "docs/x", "secrets-local/k", "secrets-local/cache/k", "out/keep", w.home + "/.ssh/id_rsa", w.home + "/notes"} {
		w.file(f)
	}
	w.symlink(filepath.Join(w.base, "outside.txt"), "src/escape")
	w.file(filepath.Join(w.base, "outside.txt"))
	src := strings.NewReplacer("BIN", w.bin).Replace(`
inherits = "secure-defaults"
requires_approval = ["!subprocess.exec"]

[filesystem]
read_allow = ["src/**", "README.md", "aegis.toml"]
local_only_read = ["secrets-local/**"]
write_allow = ["src/**", "out/**", "secrets-local/cache/**"]

[subprocess]
allow_commands = ["git", "cat", "ls", "grep", "tar", "sort", "find", "npm", "cp", "python3", "BIN/tool-full", "./tools/run.sh"]
local_only_commands = ["pass", "lcp", "lgrep"]
deny_commands = ["!python3"]

[subprocess.deny_args]
git = ["push --force", "push -f", "clean -f", "clean --force"]
python3 = ["-c"]
npm = ["publish"]
`)
	return w, w.mustLoad(src)
}

func TestSubprocessRules(t *testing.T) {
	w, p := execWorld(t)
	evil := filepath.Join(w.base, "evil_bin")
	runChecks(t, p, []check{
		ex(true, "git status", `allow_commands "git"`, "runs "+w.bin+"/git"),
		ex(true, w.bin+"/git status"), // the same file, spelled in full
		ex(true, "ls -la"),
		ex(true, "git log origin/main"), // "origin" is not a path under the root
		ex(true, "git clone https://github.com/a/b.git"),
		ex(false, "git clone file:///etc/ssh/x", `"/etc/ssh/**"`),
		ex(true, "tool-full"), // a full-path entry allows its file found on PATH
		ex(true, "./tools/run.sh", `"./tools/run.sh"`),
		ex(true, "tools/run.sh"),
		// argv[0] is judged by the file it runs.
		ex(false, evil+"/cat src/a.go", "is a different file", w.bin+"/cat"),
		ex(false, evil+"/innocent -c id", `deny_commands "bash"`, "is "+w.bin+"/bash"),
		ex(false, "bash -c id", `deny_commands "bash"`),
		ex(false, "nosuch", "not found on PATH"),
		ex(false, "rm -rf src", `deny_commands "rm"`),
		ex(false, "make", "not found on PATH"),
		// deny_args.
		ex(false, "git push --forc origin", `deny_args].git "push --force"`),
		ex(false, "git push origin main --force"),
		ex(false, "git push -uf origin main", `"push --force"`), // -f is --force to git (argsyntax.go): the first entry decides
		ex(false, "git clean -d -f", `"clean -f"`),
		ex(false, "git clean -xdf"),
		ex(false, "git clean --force"),
		ex(true, "git push origin main"),
		ex(false, "python3 -Ic code", `deny_args].python3 "-c"`),
		ex(false, "npm publish", `"publish"`),
		ex(false, "find src -exec cat {} ;", `deny_args].find "-exec"`, "preset secure-defaults"),
		// Path arguments, in every form.
		ex(true, "cat src/a.go"),
		ex(true, "cat README.md"),
		ex(false, "cat /etc/passwd", `deny "/etc/passwd"`),
		ex(false, "cat .env", `deny ".env"`),
		ex(false, "cat docs/x", "no [filesystem] allow list covers"),
		ex(false, "grep -r x --exclude-from=/etc/shadow src", `"/etc/shadow"`),
		ex(false, "grep -f/etc/shadow src/a.go", `"/etc/shadow"`),
		ex(false, "tar -xzf/etc/passwd", `"/etc/passwd"`),
		ex(false, "cat if=/etc/passwd", `"/etc/passwd"`),
		ex(false, "tar -czf/tmp/out.tgz src", "no [filesystem] allow list covers"),
		ex(false, "cat ~/.ssh/id_rsa", `"~/.ssh/**"`),
		ex(false, "cat ~/notes", "no [filesystem] allow list covers"),
		ex(false, "cat src/escape", "outside.txt", "no [filesystem] allow list covers"), // symlink inside an allowed tree
		ex(false, "git status .", "no [filesystem] allow list covers"),
		ex(false, "cat src/../.env", `deny ".env"`),
		ex(false, "cat aegis.toml", "Aegis protects"),
		ex(false, "cp out/keep aegis.toml", "Aegis protects"),
		ex(false, "cat .aegis/audit.jsonl", "Aegis protects"),
		ex(false, "cp out/keep .aegis/other", `"**/.aegis/**"`), // not there yet, but it could be created
		ex(false, "cp out/keep newdir/.env", `deny ".env"`),
		// Local-only data: only local-only commands may be handed it...
		ex(false, "cat secrets-local/k", `to cat, which is not a [subprocess].local_only_commands entry, and without a guaranteed sandbox`),
		ex(false, "git add secrets-local/k", "can copy what it reads"),
		ex(false, "git show HEAD:secrets-local/k", "local_only_commands"), // a path inside a colon list
		ex(true, "lgrep -n token secrets-local/k", "the output is local-only"),
		ex(true, "lcp secrets-local/k secrets-local/cache/k"), // inside the zone
		ex(true, "lcp secrets-local/k fresh"),                 // a name no script can reach
		// ...and never together with a place scripts can reach.
		ex(false, "lcp secrets-local/k out/k", "could copy the data there"),
		ex(false, "lcp secrets-local/k src/k", "could copy the data there"),       // a read-only tree is no refuge
		ex(false, "lcp secrets-local/k src/new.txt", "could copy the data there"), // nor a file about to be created
		ex(true, "pass show x", `local_only_commands "pass"`),
		// A directory that holds local-only files hands them over too.
		ex(false, "grep -r token secrets-local", "local_only_commands"),
		ex(false, "grep -r token secrets-local/cache/..", "local_only_commands"),
		ex(true, "lgrep -r token secrets-local", "the output is local-only"),
		ex(true, "grep -r token src"),
		ex(false, "lcp secrets-local/k src", "could copy the data there"),
		// Malformed argv.
		{c: SubprocessExec, target: nil, allow: false, reason: []string{"no program given"}},
		{c: SubprocessExec, target: []string{""}, allow: false, reason: []string{"no program given"}},
		{c: SubprocessExec, target: []string{"cat", "src/a\x00.go"}, allow: false, reason: []string{"NUL"}},
		{c: SubprocessExec, target: []string{"cat", strings.Repeat("a", maxArgvSize)}, allow: false, reason: []string{"limit"}},
	})
}

func TestSubprocessDecisionDetails(t *testing.T) {
	w, p := execWorld(t)
	d := p.Decide(SubprocessExec, "lgrep", "x", "secrets-local/k")
	if !d.LocalOnly || !reflect.DeepEqual(d.Principals, []string{"cmd:lgrep", "file:secrets-local/**"}) || !d.IsLocalOnlyCommand() {
		t.Errorf("local-only argument: %+v", d)
	}
	d = p.Decide(SubprocessExec, "pass", "show")
	if !d.LocalOnly || d.Principal != "cmd:pass" || !d.IsLocalOnlyCommand() {
		t.Errorf("local-only command: %+v", d)
	}
	d = p.Decide(SubprocessExec, "git", "status")
	if d.ResolvedPath != filepath.Join(w.bin, "git") || d.RequiresApproval {
		t.Errorf("git status: %+v", d)
	}
	d = p.Decide(SubprocessExec, filepath.Join(w.base, "evil_bin", "cat"))
	if !strings.Contains(d.Hint, `add "`+filepath.Join(w.base, "evil_bin", "cat")+`" to [subprocess].allow_commands`) {
		t.Errorf("planted binary hint: %q", d.Hint)
	}
}

func TestLocalOnlyFilesUnderTheJail(t *testing.T) {
	// With the bwrap jail confining a reader's writes to the local-only
	// zone, any allowed program may read a local-only file; its output is
	// labelled. The argv rule against reachable places still holds.
	w := newWorld(t)
	for _, n := range []string{"cat", "cp"} {
		w.program("", n)
	}
	w.file("secrets/k")
	w.file("src/a")
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**"]
[subprocess]
allow_commands = ["cat", "cp"]
sandbox = "bwrap"
`)
	runChecks(t, p, []check{
		ex(true, "cat secrets/k", "the output is local-only"),
		ex(false, "cp secrets/k src/k", "could copy the data there"),
	})
	if d := p.Decide(SubprocessExec, "cat", "secrets/k"); d.Principal != "file:secrets/**" || d.IsLocalOnlyCommand() {
		t.Errorf("jailed reader: %+v", d)
	}
	// "auto" (the default) may fall back to no jail: the reader is denied.
	for _, mode := range []string{"auto", "none", ""} {
		q := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**"]
[subprocess]
allow_commands = ["cat", "cp"]
` + map[bool]string{true: "", false: "sandbox = \"" + mode + "\"\n"}[mode == ""])
		if d := q.Decide(SubprocessExec, "cat", "secrets/k"); d.Allowed || !strings.Contains(d.Hint, `"auto" may run unjailed`) {
			t.Errorf("sandbox %q: %+v", mode, d)
		}
	}
}

func TestDenyEntryAsFullPathAndBareName(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"cat", "ls", "git"} {
		w.program("", n)
	}
	w.file("src/a")
	p := w.mustLoad(strings.ReplaceAll(`
[filesystem]
read_allow = ["src/**"]
[subprocess]
allow_commands = ["cat", "ls", "git"]
deny_commands = ["BIN/cat", "ls"]
[subprocess.deny_args]
"BIN/git" = ["push --force"]
`, "BIN", w.bin))
	runChecks(t, p, []check{
		ex(false, "cat src/a", `deny_commands "`+w.bin+`/cat"`),   // a full-path deny stops the bare name
		ex(false, w.bin+"/ls", `deny_commands "ls"`),              // a bare deny stops the full path
		ex(false, "git push --force", `deny_args].`+w.bin+`/git`), // a full-path deny_args key applies to the bare name
		ex(true, "git push"),
	})
}

func TestSubprocessFlagsOverPaths(t *testing.T) {
	// A value attached to a flag is judged like a separate argument, so
	// the same path is allowed or denied in either spelling.
	w, p := execWorld(t)
	_ = w
	for _, path := range []string{"src/a.go", "/etc/passwd", "docs/x"} {
		want := p.Decide(SubprocessExec, "grep", "x", path).Allowed
		for _, argv := range [][]string{
			{"grep", "x", "--file=" + path},
			{"grep", "x", "-f" + path},
		} {
			if got := p.Decide(SubprocessExec, argv...).Allowed; got != want && !(got == false && strings.HasPrefix(path, "src/")) {
				t.Errorf("%q: allowed=%v, but the bare path gives %v", argv, got, want)
			}
		}
	}
}

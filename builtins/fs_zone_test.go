//go:build unix

package builtins

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// Issue 9, class 5: what a script made inside the local-only zone must not
// show through a public observable. A path that passes through the zone
// (zone/x/../../public.txt, a symlink in the zone, a dangling link there)
// resolves, or not, depending on what the zone holds; every outcome of such
// an operation (its result, its error and the error's text, the existence
// answer, whether a public file was written) is labelled with the zone's
// principal, or identical whatever the zone holds.

const zonePolicy = `
[filesystem]
read_allow = ["public/**"]
local_only_read = ["zone/**"]
write_allow = ["public/**", "zone/**"]
delete_allow = ["public/**", "zone/**"]
`

// zoneStates are two different contents of the zone (what a script could
// have made there depending on a secret). The public tree is the same.
var zoneStates = map[string]func(t *testing.T, root string){
	"A": func(t *testing.T, root string) {
		mkfile(t, root, "zone/a/x.txt", "ax")
		mkfile(t, root, "zone/f", "f")
		mklink(t, root, "zone/l", "../public")
		mklink(t, root, "zone/d", "nowhere")
	},
	"B": func(t *testing.T, root string) {
		mkfile(t, root, "zone/a", "a is a file here")
		mkfile(t, root, "zone/g/y.txt", "gy")
		mklink(t, root, "zone/l", "a")
		mklink(t, root, "zone/d", "../public/readme.txt")
	},
}

func mkfile(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mklink(t *testing.T, root, name, target string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// zonePaths are the path shapes: public ones (which must stay public and
// work), plain zone paths, paths through the zone and back out with "..",
// through a symlink in the zone, through a dangling one, and a public
// symlink into the zone.
var zonePaths = []string{
	"public/readme.txt",
	"public/sub/../readme.txt",
	"public/new.txt",
	"zone",
	"zone/a/x.txt",
	"zone/new/file.txt",
	"zone/a/../f",
	"zone/a/../../public/readme.txt",
	"zone/a/../../public/new.txt",
	"zone/a/./x.txt",
	"zone/l/readme.txt",
	"zone/l/../public/readme.txt",
	"zone/d",
	"zone/d/../x",
	"zone/missing/../../public/readme.txt",
	"public/tozone/../readme.txt",
	"public/tozone/x.txt",
}

// zoneObservation is everything a script's author sees of one run.
type zoneObservation struct {
	stdout   string
	errText  string // "" on success; "<labelled>" for a labelled error
	labelled bool
	public   string // the public tree afterwards
}

func (o zoneObservation) String() string {
	return fmt.Sprintf("stdout %q, error %q, public tree %s", o.stdout, o.errText, o.public)
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+"->"+target)
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		default:
			out = append(out, rel+"/")
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, ",")
}

func observeZone(t *testing.T, state, script string) zoneObservation {
	t.Helper()
	f := newFixture(t, zonePolicy, map[string]string{
		"public/readme.txt": "hello",
		"public/sub/keep":   "k",
	})
	mklink(t, f.root, "public/tozone", "../zone/a")
	zoneStates[state](t, f.root)
	o := f.run(script)
	// The two runs have different temporary roots; nothing else may differ.
	obs := zoneObservation{stdout: strings.ReplaceAll(o.stdout, f.root, "ROOT"), public: snapshot(t, filepath.Join(f.root, "public"))}
	if o.err != nil {
		if starlark.ErrorLabel(o.err) != labels.Public {
			obs.labelled, obs.errText = true, "<labelled>"
		} else {
			obs.errText = strings.ReplaceAll(o.err.Error(), f.root, "ROOT")
		}
	}
	return obs
}

func TestZonePathsShowNothingOfTheZone(t *testing.T) {
	calls := map[string]string{
		"fs.read":    `print(fs.read(%q))`,
		"fs.exists":  `print(fs.exists(%q))`,
		"fs.list":    `print(fs.list(%q))`,
		"fs.stat":    "st = fs.stat(%q)\nprint(st and (st.kind, st.size))",
		"fs.is_dir":  `print(fs.is_dir(%q))`,
		"fs.is_file": `print(fs.is_file(%q))`,
		"fs.walk":    `print(fs.walk(%q, dirs=True))`,
		"fs.glob":    `print(fs.glob(%q + "/**"))`,
		"fs.write":   `fs.write(%q, "w")` + "\nprint(\"written\")",
		"fs.delete":  `fs.delete(%q)` + "\nprint(\"deleted\")",
	}
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	table := map[string]int{}
	for _, name := range names {
		for _, p := range zonePaths {
			script := fmt.Sprintf(calls[name], p)
			a, b := observeZone(t, "A", script), observeZone(t, "B", script)
			if a.public != b.public {
				t.Errorf("%s(%q): the public tree depends on the zone:\n A: %s\n B: %s", name, p, a.public, b.public)
			}
			switch {
			case a.labelled || b.labelled:
				// An ending decided by the zone: labelled, so withheld
				// and charged as a secret-dependent abort.
				table["labelled error"]++
			case a.stdout != b.stdout || a.errText != b.errText:
				t.Errorf("%s(%q) shows the zone's contents:\n A: %s\n B: %s", name, p, a, b)
			case strings.Contains(a.stdout, "[REDACTED]"):
				table["labelled result"]++
			default:
				table["public, identical"]++
			}
			if strings.HasPrefix(p, "public/") && !strings.Contains(p, "tozone") {
				// Paths that never touch the zone stay public and work.
				if a.labelled || strings.Contains(a.stdout, "[REDACTED]") {
					t.Errorf("%s(%q) touches no local-only path but came back labelled: %s", name, p, a)
				}
			}
		}
	}
	t.Logf("outcomes over %d calls x 2 zone states: %v", len(names)*len(zonePaths), table)
	// Utility: a public read is public.
	if o := observeZone(t, "A", `print(fs.read("public/readme.txt"))`); o.stdout != "hello\n" {
		t.Fatalf("public read: %s", o)
	}
}

// fs.write and fs.delete errors inside the zone are labelled: whether the
// zone holds a directory or a file where the script writes decides them.
func TestZoneWriteAndDeleteErrorsAreLabelled(t *testing.T) {
	f := newFixture(t, zonePolicy, map[string]string{"zone/a": "a file", "zone/dir/x": "x"})
	for _, src := range []string{
		`fs.write("zone/a/b", "x")`, // zone/a is a file: ENOTDIR
		`fs.write("zone/dir", "x")`, // a directory
		`fs.delete("zone/nothing")`, // missing
		`fs.delete("zone/dir")`,     // not empty
	} {
		o := f.run(src)
		if o.err == nil {
			t.Fatalf("%s succeeded", src)
		}
		if starlark.ErrorLabel(o.err) == labels.Public {
			t.Errorf("%s: the error is public: %v", src, o.err)
		}
		for _, e := range o.events {
			if e.Status == "errored" && !strings.Contains(e.Reason, "withheld") {
				t.Errorf("%s: the audit reason quotes the zone's state: %q", src, e.Reason)
			}
		}
	}
}

// A denial decided by the spelling alone stays public (and says how to
// allow the call), even inside a local-only directory; one decided by what
// a local-only directory holds (a symlink there) is labelled.
func TestZoneDenialsAreLabelledOnlyWhenTheZoneDecides(t *testing.T) {
	f := newFixture(t, `
[filesystem]
read_allow = ["public/**"]
local_only_read = ["zone/**"]
write_allow = ["zone/**"]
deny = ["zone/private/**", "outside/**"]
`, map[string]string{"zone/private/k": "k", "outside/x": "x"})
	mklink(t, f.root, "zone/out", "../outside")
	o := f.run(`fs.read("zone/private/k")`)
	mustFail[*policy.DeniedError](t, o)
	if starlark.ErrorLabel(o.err) != labels.Public || !strings.Contains(o.err.Error(), "zone/private/**") {
		t.Errorf("a denial by the spelling alone: label %v, %v", starlark.ErrorLabel(o.err), o.err)
	}
	o = f.run(`fs.read("zone/out/x")`)
	mustFail[*policy.DeniedError](t, o)
	if starlark.ErrorLabel(o.err) == labels.Public {
		t.Errorf("a denial decided by a symlink in the zone is public: %v", o.err)
	}
}

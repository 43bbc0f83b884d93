//go:build unix

package builtins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

const walkPolicy = `
[filesystem]
read_allow = [".", "**"]
deny = ["private/**", ".aegis/**"]
local_only_read = ["zone/**"]
write_allow = ["out.txt"]
`

func walkFixture(t *testing.T) *fixture {
	f := newFixture(t, walkPolicy, map[string]string{
		"a.txt":             "a",
		"src/b.py":          "b",
		"src/pkg/c.py":      "c",
		"src/pkg/d.txt":     "d",
		"zone/secret-1.txt": "s",
		"zone/in/deep.txt":  "z",
		"private/p.txt":     "p",
	})
	if err := os.Symlink("../zone", filepath.Join(f.root, "src/tozone")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b.py", filepath.Join(f.root, "src/link")); err != nil {
		t.Fatal(err)
	}
	return f
}

// A walk from a public root lists the public tree and none of the zone
// (neither below it nor through a symlink), denied places included, and
// its result is public; a walk of the zone is labelled.
func TestWalkFromAPublicRootSkipsTheZone(t *testing.T) {
	f := walkFixture(t)
	o := f.run(`print(fs.walk("."))` + "\n" + `print(fs.walk("src", dirs=True))`)
	if o.err != nil {
		t.Fatal(o.err)
	}
	want := `["a.txt", "src/b.py", "src/pkg/c.py", "src/pkg/d.txt"]` + "\n" + `["src/b.py", "src/pkg", "src/pkg/c.py", "src/pkg/d.txt"]` + "\n"
	if o.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", o.stdout, want)
	}
	o = f.run(`w = fs.walk("zone")` + "\n" + `print(len(w))` + "\n" + `fs.write("out.txt", str(w))`)
	if !strings.Contains(o.stdout, "[REDACTED]") {
		t.Fatalf("the zone's walk printed publicly: %q", o.stdout)
	}
	if o.err == nil || !strings.Contains(o.err.Error(), "local-only") {
		t.Fatalf("writing the zone's walk to a public file: %v", o.err)
	}
}

func TestGlobAndStat(t *testing.T) {
	f := walkFixture(t)
	o := f.run(strings.Join([]string{
		`print(fs.glob("src/**/*.py"))`,
		`print(fs.glob("*.txt"), fs.glob("src/b.py"), fs.glob("nothing/*"))`,
		`st = fs.stat("src/pkg/c.py")`,
		`print(st.kind, st.size, fs.stat("src/pkg").kind, fs.stat("src/link").kind, fs.stat("nope"))`,
		`print(fs.is_dir("src"), fs.is_dir("a.txt"), fs.is_dir("nope"), fs.is_file("a.txt"), fs.is_file("src/link"), fs.is_dir("src/tozone"))`,
	}, "\n"))
	if o.err != nil {
		t.Fatal(o.err)
	}
	want := `["src/b.py", "src/pkg/c.py"]
["a.txt"] ["src/b.py"] []
file 1 dir file None
True False False True True [REDACTED]
`
	// A symlink is described by what it leads to (the policy resolves it,
	// as for fs.read); one into the zone is local-only (labelled).
	if o.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", o.stdout, want)
	}
	if o := f.run(`fs.glob("src/[x")`); o.err == nil || !strings.Contains(o.err.Error(), "not a valid pattern") {
		t.Fatalf("bad pattern: %v", o.err)
	}
	if o := f.run(`fs.walk("a.txt")`); o.err == nil || !strings.Contains(o.err.Error(), "not a directory") {
		t.Fatalf("walk of a file: %v", o.err)
	}
}

// What a walk returns is charged to the run's memory budget: each path as
// returned (spelled from dir, so a deep tree's paths are far longer than
// the names the listings were charged for), not only the names read.
func TestWalkChargesThePathsItReturns(t *testing.T) {
	// 8 levels of 200-byte names, then 1000 files with short names: the
	// names come to about 30 kB, the paths to 1.6 MB.
	deep := ""
	for i := 0; i < 8; i++ {
		deep += strings.Repeat(string(rune('a'+i)), 200) + "/"
	}
	files := map[string]string{}
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("d/%s%03d", deep, i)] = ""
	}
	f := newFixture(t, walkPolicy, files)
	f.maxAlloc = 1 << 20
	o := f.run(`print(len(fs.walk("d")))`)
	if o.err == nil || !strings.Contains(o.err.Error(), "max_memory_mb") {
		t.Fatalf("a 1.6 MB walk under a 1 MB budget: %v (stdout %q)", o.err, o.stdout)
	}
	f.maxAlloc = 4 << 20
	mustSucceed(t, f.run(`print(len(fs.walk("d")))`))
}

// A glob without "**" lists only as deep as its pattern reaches: "*.txt"
// at the root of a project does not list the whole tree (it was charged
// for all of it, and took as long).
func TestGlobGoesOnlyAsDeepAsItsPattern(t *testing.T) {
	files := map[string]string{"top.txt": "", "d/x/y.txt": "", "d/x/z/w.txt": ""}
	long := strings.Repeat("n", 200)
	for i := 0; i < 1500; i++ {
		// 330 kB of names to list, two levels down.
		files[fmt.Sprintf("d/x/big/%s%04d", long, i)] = ""
	}
	f := newFixture(t, walkPolicy, files)
	f.maxAlloc = 256 << 10
	o := f.run(`print(fs.glob("*.txt"), fs.glob("d/*/*.txt"), fs.glob("d/{x,q}/*.txt"))`)
	mustSucceed(t, o)
	if want := `["top.txt"] ["d/x/y.txt"] ["d/x/y.txt"]` + "\n"; o.stdout != want {
		t.Fatalf("got %q, want %q", o.stdout, want)
	}
	// A "/" inside braces lets a match go that much deeper.
	f.maxAlloc = 0
	o = f.run(`print(fs.glob("d/{x/z,q}/*.txt"), fs.glob("d/x/{z/*,*}.txt"))`)
	mustSucceed(t, o)
	if want := `["d/x/z/w.txt"] ["d/x/y.txt", "d/x/z/w.txt"]` + "\n"; o.stdout != want {
		t.Fatalf("got %q, want %q", o.stdout, want)
	}
	f.maxAlloc = 256 << 10
	if o := f.run(`fs.glob("d/**/*.txt")`); o.err == nil || !strings.Contains(o.err.Error(), "max_memory_mb") {
		t.Fatalf(`fs.glob("d/**/*.txt") lists the big directory: want the memory limit, got %v`, o.err)
	}
}

// The metadata and walk builtins label what their arguments chose: a path,
// a directory, a pattern or the dirs flag computed from local-only data
// gives a labelled result, and a labelled error (whose text may quote it).
func TestStatWalkGlobLabelTheirArguments(t *testing.T) {
	f := walkFixture(t)
	for _, call := range []string{
		`fs.stat("a.txt" if bit else "nope")`,
		`fs.is_dir("src" if bit else "a.txt")`,
		`fs.is_file("a.txt" if bit else "src")`,
		`fs.walk("src" if bit else "src/pkg")`,
		`fs.walk("src", dirs=bit)`,
		`fs.walk("src", bit)`,
		`fs.glob("src/*.py" if bit else "*.txt")`,
	} {
		o := f.run("bit = len(secret) > 3\nprint(" + call + ")")
		mustSucceed(t, o)
		if o.stdout != "[REDACTED]\n" {
			t.Errorf("%s: printed %q, want it labelled", call, o.stdout)
		}
	}
	for _, call := range []string{
		`fs.glob(secret + "[")`,
		`fs.walk(secret)`,
		`fs.stat(secret + "/\x00")`,
	} {
		o := f.run(call)
		if o.err == nil || starlark.ErrorLabel(o.err) == labels.Public {
			t.Errorf("%s: error %v is not labelled", call, o.err)
		}
	}
}

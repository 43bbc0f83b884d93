//go:build unix

package builtins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The names in a directory whose listing is public (fs.list, fs.walk,
// fs.glob, and its mtime in fs.stat) are public data. A write or delete
// that local-only data chooses (under a labelled pc, or with a labelled
// path) may reach a file in the local-only zone, but must not add, remove
// or rename an entry of such a directory: not the zone's own directory
// when it does not exist yet, not a "*.sec" file in a public directory
// (a zone given by a pattern).

const entriesPolicy = `
[filesystem]
read_allow = [".", "**"]
deny = [".aegis/**"]
local_only_read = ["zone/**", "**/*.sec"]
write_allow = ["zone/**", "**/*.sec"]
delete_allow = ["zone/**", "**/*.sec"]
`

// publicNames lists the entries of the public directories of root.
func publicNames(t *testing.T, root string) string {
	t.Helper()
	var out []string
	for _, dir := range []string{".", "pub"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return strings.Join(out, ",")
}

func TestLabelledWritesLeavePublicListingsAlone(t *testing.T) {
	files := map[string]string{"pub/a.txt": "a", "pub/old.sec": "o"}
	for _, tc := range []struct{ name, script string }{
		{"create the zone", `if c: fs.write("zone/x", "1")`},
		{"create the zone and below", `if c: fs.write("zone/a/b", "1")`},
		{"new file of a pattern zone", `if c: fs.write("pub/n.sec", "1")`},
		{"replace a file of a pattern zone", `if c: fs.write("pub/old.sec", "2")`},
		{"delete a file of a pattern zone", `if c: fs.delete("pub/old.sec")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]string{}
			for _, bit := range []string{">", "<"} {
				f := newFixture(t, entriesPolicy, files)
				o := f.run(fmt.Sprintf("c = len(secret) %s 3\n%s\n", bit, tc.script))
				seen[bit] = publicNames(t, f.root)
				if bit == ">" && o.err == nil {
					t.Errorf("the write under a labelled pc succeeded; want a flow error")
				}
			}
			if seen[">"] != seen["<"] {
				t.Errorf("the public listings depend on the secret:\n true:  %s\n false: %s", seen[">"], seen["<"])
			}
		})
	}
	t.Run("through a symlink in the zone", func(t *testing.T) {
		// zone/l is a symlink to ../pub, or a directory: which directory
		// the write lands in is the zone's data.
		seen := map[bool]string{}
		for _, link := range []bool{true, false} {
			f := newFixture(t, entriesPolicy, map[string]string{"pub/a.txt": "a", "zone/keep": "k"})
			if link {
				mklink(t, f.root, "zone/l", "../pub")
			} else {
				mkfile(t, f.root, "zone/l/keep", "k")
			}
			f.run("fs.read(\"zone/keep\")\nfs.write(\"zone/l/n.sec\", \"1\")")
			seen[link] = publicNames(t, f.root)
		}
		if seen[true] != seen[false] {
			t.Errorf("the public listings depend on the zone:\n link: %s\n dir:  %s", seen[true], seen[false])
		}
	})
	t.Run("labelled name in a public directory", func(t *testing.T) {
		f := newFixture(t, entriesPolicy, files)
		o := f.run(`fs.write("pub/" + secret + ".sec", "x")`)
		if names := publicNames(t, f.root); strings.Contains(names, secretValue) {
			t.Fatalf("the secret is a file name in a public directory: %s", names)
		}
		if o.err == nil {
			t.Fatal("want a flow error")
		}
	})
}

// What the zone is for keeps working: writes chosen by local-only data
// inside an existing zone directory (new subdirectories included), and
// local-only content written by public control anywhere in the zone.
func TestLabelledWritesInsideTheZone(t *testing.T) {
	f := newFixture(t, entriesPolicy, map[string]string{"zone/keep": "k", "pub/old.sec": "o"})
	mustSucceed(t, f.run(strings.Join([]string{
		`if len(secret) > 3:`,
		`    fs.write("zone/x", "1")`,
		`    fs.write("zone/new/deep/y", "1")`,
		`    fs.delete("zone/keep")`,
		`fs.write("zone/" + secret, "2")`,
		`fs.write("pub/n.sec", secret)`,
		`fs.write("pub/old.sec", secret)`,
	}, "\n")))
	for _, p := range []string{"zone/x", "zone/new/deep/y", "zone/" + secretValue, "pub/n.sec"} {
		if _, err := os.Stat(filepath.Join(f.root, p)); err != nil {
			t.Errorf("%s was not written: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, "zone/keep")); err == nil {
		t.Error("zone/keep was not deleted")
	}
}

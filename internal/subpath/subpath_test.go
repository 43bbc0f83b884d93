package subpath

import "testing"

func TestRel(t *testing.T) {
	for _, c := range []struct {
		p, dir string
		rel    string
		ok     bool
	}{
		{"/a/b", "/a/b", ".", true},
		{"/a/b/c", "/a/b", "c", true},
		{"/a/b/c/d", "/a/b", "c/d", true},
		{"/a/bc", "/a/b", "", false}, // a sibling sharing a prefix
		{"/a/b", "/a/bc", "", false},
		{"/a", "/a/b", "", false}, // the parent
		{"/a/b", "/", "a/b", true},
		{"/", "/", ".", true},
		{"/a/b/", "/a/b", ".", true}, // trailing slashes
		{"/a/b/c", "/a/b/", "c", true},
		{"/a/b//c", "/a/b", "c", true},
		{"/a/b/./c/.", "/a/b", "c", true}, // . is harmless
		{"/a/b/c", "/./a/b", "c", true},
		// .. depends on symlinks ("link/.." is the parent of the link's
		// target): such a path is inside nothing and contains nothing.
		{"/a/b/../c", "/a/b", "", false},
		{"/a/b/../../etc/passwd", "/a/b", "", false},
		{"/a/b/c/..", "/a/b", "", false}, // even where it would stay inside
		{"/a/b/c", "/a/b/c/..", "", false},
		{"/..", "/", "", false},
		{"/a/..b", "/a", "..b", true}, // a name that starts with .. is a name
		{"/a/b..", "/a", "b..", true},
		{"a/b", "a", "", false}, // relative paths are inside nothing
		{"/a/b", "a", "", false},
		{"a", "/", "", false},
		{"", "/", "", false},
		{"/a", "", "", false},
		{"/a/b\x00c", "/a/b", "", false}, // a NUL is no separator
		{"/a/b\nc", "/a/b", "", false},
		{"/a/b/\x1b[2J", "/a/b", "\x1b[2J", true},
		{"/a/b/\xff", "/a/b", "\xff", true},
		{"/A/b", "/a/b", "", false}, // case matters
	} {
		rel, ok := Rel(c.p, c.dir)
		if rel != c.rel || ok != c.ok {
			t.Errorf("Rel(%q, %q) = %q, %v; want %q, %v", c.p, c.dir, rel, ok, c.rel, c.ok)
		}
		if Within(c.p, c.dir) != c.ok {
			t.Errorf("Within(%q, %q) = %v, want %v", c.p, c.dir, !c.ok, c.ok)
		}
	}
}

func TestRelAllocatesNothingForCleanPaths(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, ok := Rel("/home/u/project/src/main.go", "/home/u/project"); !ok {
			t.Fatal("not within")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}

package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

// grants builds a Grant from the granted capabilities.
func grants(caps ...string) Grant {
	return func(alts []policy.Capability) (bool, string) {
		for _, g := range caps {
			for _, c := range alts {
				if g == string(c) {
					return true, ""
				}
			}
		}
		return false, policy.GrantText(alts...)
	}
}

var dialect = &syntax.FileOptions{While: true, TopLevelControl: true, Set: true, GlobalReassign: true, Recursion: true}

func check(t *testing.T, src string, g Grant) error {
	t.Helper()
	predeclared := map[string]bool{"fs": true, "net": true, "env": true, "subprocess": true, "json": true, "path": true}
	universe := map[string]bool{"getattr": true, "hasattr": true, "dir": true, "type": true, "print": true, "len": true, "str": true, "struct": true}
	_, err := Check("task.star", []byte(src), Options{
		File:          dialect,
		IsPredeclared: func(s string) bool { return predeclared[s] },
		IsUniversal:   func(s string) bool { return universe[s] },
		Grant:         g,
	})
	return err
}

func rejected(t *testing.T, err error) *Rejection {
	t.Helper()
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("want a rejection, got %v", err)
	}
	return rej
}

func capsOf(r *Rejection) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Capability)
	}
	return out
}

func TestRejectsUngrantedCapabilities(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // capabilities reported, in order
		pos       string   // position of the first finding
	}{
		{"direct call", "x = fs.read('a')\nfs.write('b', x)\n", []string{"fs.write"}, "task.star:2:1"},
		{"alias", "w = fs.write\nw('b', 'c')\n", []string{"fs.write"}, "task.star:1:5"},
		{"inside def, lambda and comprehension", "def f():\n  return [lambda: fs.delete(p) for p in []]\n", []string{"fs.delete"}, "task.star:2:19"},
		{"getattr constant", "getattr(fs, 'wr' + ('it' + 'e'))('x', 'y')\n", []string{"fs.write"}, "task.star:1:9"},
		{"getattr computed", "n = 'write'\ngetattr(fs, n)('x', 'y')\n", []string{"fs.write", "fs.delete"}, "task.star:2:9"},
		{"module as a value", "m = fs\nm.read('a')\n", []string{"fs.write", "fs.delete"}, "task.star:1:5"},
		{"module passed to a function", "def f(m):\n  return m\nf(subprocess)\n", []string{"subprocess.exec"}, "task.star:3:3"},
		{"module in parens", "(env).read('HOME')\n", []string{"env.read"}, "task.star:1:2"},
		{"net.request without any verb", "net.request('GET', 'http://x/')\n", []string{"net.request"}, "task.star:1:1"},
		{"two modules", "env.read('A')\nsubprocess.exec(['ls'])\n", []string{"env.read", "subprocess.exec"}, "task.star:1:1"},
		{"top-level while", "while 1:\n  fs.delete('x')\n", []string{"fs.delete"}, "task.star:2:3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rej := rejected(t, check(t, tc.src, grants("fs.read", "fs.list", "fs.exists")))
			if got := capsOf(rej); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("reported %v, want %v", got, tc.want)
			}
			if got := rej.Findings[0].Pos.String(); got != tc.pos {
				t.Errorf("position %s, want %s", got, tc.pos)
			}
		})
	}
}

func TestRejectionNamesTheSection(t *testing.T) {
	err := check(t, "fs.write('out.txt', 'x')\n", grants())
	msg := err.Error()
	for _, want := range []string{"task.star:1:1", "fs.write", "[filesystem].write_allow", "before running"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}

func TestAccepts(t *testing.T) {
	cases := map[string]string{
		"granted":                 "print(fs.read('a'))\nprint(fs.list('.'), fs.exists('b'))\n",
		"only inspected":          "print(hasattr(fs, 'write'), dir(fs), type(subprocess), str(env))\n",
		"shadowed by a parameter": "def f(fs):\n  return fs.write\n",
		"shadowed by a global":    "fs = struct(write = len)\nfs.write('x')\n",
		"shadowed by a local":     "def g():\n  env = {}\n  return env.read\n",
		"names in strings":        "print('fs.write subprocess.exec env.read')\n# fs.delete('x')\n",
		"net.request with a verb": "net.request('GET', 'http://x/')\n",
		"unrelated modules":       "print(json.encode({}), path)\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			if err := check(t, src, grants("fs.read", "fs.list", "fs.exists", "net.http_get")); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestUnknownMember(t *testing.T) {
	for _, src := range []string{"fs.reed('x')\n", "getattr(fs, 'nope')\n"} {
		rej := rejected(t, check(t, src, grants("fs.read", "fs.write", "fs.delete")))
		if !strings.Contains(rej.Error(), "has no member") || !strings.Contains(rej.Error(), "read, write, delete, list, walk, glob, exists, stat, is_dir, is_file") {
			t.Errorf("%q: %v", src, rej)
		}
	}
}

func TestScriptErrorsCarryPositions(t *testing.T) {
	cases := map[string]string{
		"def f(:\n":                       "task.star:1:8",
		"print(undefined_name)\n":         "task.star:1:7",
		"load('x.star', 'y')\nprint(1)\n": "task.star:1:1",
	}
	for src, pos := range cases {
		err := check(t, src, grants())
		var se *ScriptError
		if !errors.As(err, &se) {
			t.Fatalf("%q: want a script error, got %v", src, err)
		}
		if !strings.HasPrefix(err.Error(), pos) {
			t.Errorf("%q: %v does not start at %s", src, err, pos)
		}
	}
}

// The verifier's members are the policy's capability table: one member per
// capability, in its module, plus net.request for every HTTP verb.
func TestTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	covered := map[policy.Capability]bool{}
	for _, m := range Members() {
		key := m.Module + "." + m.Name
		if seen[key] {
			t.Errorf("duplicate member %s", key)
		}
		seen[key] = true
		if len(m.Capabilities) == 0 {
			t.Errorf("%s exercises no capability", key)
		}
		for _, c := range m.Capabilities {
			if !c.Known() || c.Module() != m.Module {
				t.Errorf("%s exercises %s, outside its module or unknown", key, c)
			}
			covered[c] = true
		}
	}
	for _, c := range policy.AllCapabilities() {
		if !seen[string(c)] {
			t.Errorf("capability %s has no member %s", c, c)
		}
	}
	if m, ok := Lookup("net", "request"); !ok || len(m.Capabilities) != len(policy.HTTPMethods()) {
		t.Errorf("net.request: %+v, want every HTTP capability", m)
	}
}

func FuzzCheckNeverPanics(f *testing.F) {
	for _, s := range []string{"fs.read('a')", "getattr(fs, 'a'+'b')", "m = fs\n", "def f(:", "load('a','b')", "(((fs)))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		Check("f.star", []byte(src), Options{File: dialect, IsPredeclared: IsModule, Grant: grants()})
	})
}

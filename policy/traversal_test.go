package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
)

// What a decision records of the local-only paths its resolution looked at
// (issue 9, class 5): all of them, those reached only because of what one
// held, and those whose contents turned the resolution.
func TestDecisionTraversal(t *testing.T) {
	w := newWorld(t)
	w.file("public/readme")
	w.file("zone/a/x")
	w.file("zone/f")
	w.file("secrets/k")
	w.symlink("../public", "zone/l")
	w.symlink("../secrets", "zone/s")
	w.symlink("../zone/a", "public/tozone")
	p := w.mustLoad(`
[filesystem]
read_allow = ["public/**"]
local_only_read = ["zone/**", "secrets/**"]
write_allow = ["zone/**"]
`)
	zone, secrets := labels.File("zone/**"), labels.File("secrets/**")
	cases := []struct {
		target                 string
		all, steered, decisive []string
		resolveErr             bool
	}{
		{"public/readme", nil, nil, nil, false},
		{"public/../public/readme", nil, nil, nil, false},
		{"zone/a/x", []string{zone}, nil, nil, false},                          // the spelling decides
		{"public/tozone/x", []string{zone}, nil, nil, false},                   // a public link into the zone
		{"zone/a/../f", []string{zone}, []string{zone}, []string{zone}, false}, // ".." needs zone/a to be a directory
		{"zone/a/../../public/readme", []string{zone}, nil, []string{zone}, false},
		{"zone/l/readme", []string{zone}, nil, []string{zone}, false}, // the link in the zone decides
		{"zone/s/k", []string{zone, secrets}, []string{secrets}, []string{zone}, false},
		{"zone/f/../x", []string{zone}, nil, []string{zone}, true}, // zone/f is a file: names nothing
		{"zone/none/../../public/readme", []string{zone}, nil, []string{zone}, true},
	}
	for _, tc := range cases {
		d := p.Decide(FSRead, tc.target)
		if !reflect.DeepEqual(d.Traversed, tc.all) || !reflect.DeepEqual(d.Steered, tc.steered) || !reflect.DeepEqual(d.Decisive, tc.decisive) {
			t.Errorf("%s: traversed %v, steered %v, decisive %v; want %v, %v, %v", tc.target, d.Traversed, d.Steered, d.Decisive, tc.all, tc.steered, tc.decisive)
		}
		_, _, _, err := p.resolveTargetVia(tc.target, true)
		var re *ResolveError
		if errors.As(err, &re) != tc.resolveErr {
			t.Errorf("%s: resolve error %v, want one: %v", tc.target, err, tc.resolveErr)
		}
	}
}

// A subprocess.exec decision resolves the path arguments too: where what a
// local-only path holds turned the resolution, the decision records it as
// an fs decision does, so that the caller labels the outcome. Without it,
// whether "zone/<guess>/../../public/readme" is allowed (zone/<guess> a
// directory or not) and the real path a link in the zone leads to (named by
// a denial) would be public.
func TestExecDecisionTraversal(t *testing.T) {
	w := newWorld(t)
	w.program("", "cat")
	w.file("public/readme")
	w.file("zone/a/x")
	w.file("zone/f")
	w.symlink("../public", "zone/l")
	w.symlink("/etc", "zone/out")
	p := w.mustLoad(`
[filesystem]
read_allow = ["public/**"]
local_only_read = ["zone/**"]
write_allow = ["zone/**"]
[subprocess]
sandbox = "bwrap"
local_only_commands = ["cat"]
`)
	zone := labels.File("zone/**")
	cases := []struct {
		arg                    string
		allowed                bool
		all, steered, decisive []string
	}{
		{"public/readme", true, nil, nil, nil},
		{"zone/a/x", true, nil, nil, nil}, // the spelling decides; the output is labelled by the file principal
		{"zone/a/../../public/readme", true, []string{zone}, nil, []string{zone}},
		{"zone/none/../../public/readme", false, []string{zone}, nil, []string{zone}},
		{"zone/f/../../public/readme", false, []string{zone}, nil, []string{zone}},
		{"zone/l/readme", true, []string{zone}, nil, []string{zone}},
		{"zone/out/passwd", false, []string{zone}, nil, []string{zone}},
	}
	for _, tc := range cases {
		d := p.Decide(SubprocessExec, "cat", tc.arg)
		if d.Allowed != tc.allowed {
			t.Errorf("cat %s: allowed %v, want %v (%s)", tc.arg, d.Allowed, tc.allowed, d.Reason)
		}
		if !reflect.DeepEqual(d.Traversed, tc.all) || !reflect.DeepEqual(d.Steered, tc.steered) || !reflect.DeepEqual(d.Decisive, tc.decisive) {
			t.Errorf("cat %s: traversed %v, steered %v, decisive %v; want %v, %v, %v", tc.arg, d.Traversed, d.Steered, d.Decisive, tc.all, tc.steered, tc.decisive)
		}
	}
}

// Whether a command-line word names a local-only file must not decide the
// call by whether that file exists: that is what fs.exists would tell,
// labelled. "a.key" is read as a path when root/a.key exists; when the
// word's first component is local-only, it is read as one either way.
func TestExecWordDoesNotTellWhetherALocalOnlyFileExists(t *testing.T) {
	decide := func(exists bool) (Decision, string) {
		w := newWorld(t)
		w.program("", "cat")
		w.file("src/x")
		if exists {
			w.file("a.key")
		}
		p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
local_only_read = ["*.key"]
[subprocess]
sandbox = "none"
allow_commands = ["cat"]
`)
		d := p.Decide(SubprocessExec, "cat", "a.key")
		return d, strings.ReplaceAll(d.Reason, w.base, "BASE")
	}
	with, withReason := decide(true)
	without, withoutReason := decide(false)
	if with.Allowed != without.Allowed || withReason != withoutReason {
		t.Errorf("the decision tells whether a.key exists:\n  exists:  %v %s\n  missing: %v %s", with.Allowed, withReason, without.Allowed, withoutReason)
	}
	if with.Allowed {
		t.Errorf("a local-only file handed to a command that is not local-only, unjailed: %s", with.Reason)
	}
}

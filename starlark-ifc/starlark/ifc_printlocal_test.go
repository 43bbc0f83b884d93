// Aegis: tests of Thread.PrintLocal (the local-only transcript hook).

package starlark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// printRun runs src with a labelled key (two values) and returns what Print
// and PrintLocal received.
func printRun(t *testing.T, src, key string, local bool) (public, private string, err error) {
	t.Helper()
	var pub, loc strings.Builder
	thread := &starlark.Thread{Print: func(_ *starlark.Thread, msg string) { pub.WriteString(msg + "\n") }}
	thread.PrintRedaction = "[REDACTED]"
	if local {
		thread.PrintLocal = func(_ *starlark.Thread, msg string) { loc.WriteString(msg + "\n") }
	}
	_, _, err = execLabeled(t, thread, src, starlark.StringDict{"key": starlark.Labeled{V: starlark.String(key), L: labA}})
	return pub.String(), loc.String(), err
}

func TestPrintLocal(t *testing.T) {
	const src = `
print("public", 1)
print("key:", key, sep="=")
print(*([key] if key.startswith("s") else [key, key]))
if key.startswith("s"):
    print("starts with s:", key)
else:
    print("other")
print("end")
`
	for _, key := range []string{"sk-1", "pk-22"} {
		pub, loc, err := printRun(t, src, key, true)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		// Public output is the same for both keys.
		if want := "public 1\nkey:=[REDACTED]\n[REDACTED]\nend\n"; pub != want {
			t.Errorf("%s: public output %q, want %q", key, pub, want)
		}
		// The local output has the real lines, in order.
		want := "public 1\nkey:=" + key + "\n" + key + "\n" + "starts with s: " + key + "\nend\n"
		if key[0] != 's' {
			want = "public 1\nkey:=" + key + "\n" + key + " " + key + "\nother\nend\n"
		}
		if loc != want {
			t.Errorf("%s: local output %q, want %q", key, loc, want)
		}
	}
	// Without PrintLocal, a print under a labelled pc stays a flow error.
	_, _, err := printRun(t, src, "sk-1", false)
	var fe *starlark.FlowError
	if !errors.As(err, &fe) || fe.Sink != "print" {
		t.Errorf("without PrintLocal: %v", err)
	}
}

// Aegis: tests of the resource limits (SetMaxAllocBytes, SetMaxCallDepth).

package starlark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/lib/json"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// runLimited runs src on a thread with the given limits.
func runLimited(t *testing.T, src string, allocLimit int64, depth int) error {
	t.Helper()
	env := newIFCEnv()
	thread := &starlark.Thread{}
	thread.SetMaxAllocBytes(allocLimit)
	thread.SetMaxCallDepth(depth)
	predeclared := env.predeclared()
	predeclared["json"] = json.Module
	opts := ifcOptions
	_, err := starlark.ExecFileOptions(&opts, thread, "limits.star", src, predeclared)
	return err
}

func TestAllocLimit(t *testing.T) {
	const limit = 1 << 20
	for _, src := range []string{
		`x = "a" * 100000000`,
		`x = 100000000 * "a"`,
		`x = b"a" * 100000000`,
		`x = [0] * 100000000`,
		`x = (0,) * 100000000`,
		`x = "a" * 10000000000`,
		"s = 'ab'\nfor i in range(40):\n    s = s + s",
		"s = 'ab'\nfor i in range(40):\n    s += s",
		"l = [1]\nfor i in range(40):\n    l = l + l",
		"l = [1]\nfor i in range(40):\n    l += l",
		"l = [1]\nfor i in range(40):\n    l.extend(l)",
		"l = []\nwhile True:\n    l.append(1)",
		"d = {}\ni = 0\nwhile True:\n    d[i] = i\n    i += 1",
		"s = set()\ni = 0\nwhile True:\n    s.add(i)\n    i += 1",
		`x = list(range(1000000000))`,
		`x = sorted(range(1000000000))`,
		`x = tuple(range(1000000000))`,
		`x = [i for i in range(1000000000)]`,
		`x = ("x" * 1000).join(["a"] * 10000)`,
		`x = ("a" * 10000).replace("a", "b" * 1000)`,
		`x = ("{0}" * 10000).format("y" * 1000)`,
		`x = ("%(k)s" * 10000) % {"k": "y" * 1000}`,
		"a = ['x' * 100] * 100\nb = [a] * 100\nc = [b] * 100\nx = str(c)",
		"a = ['x' * 100] * 100\nb = [a] * 100\nc = [b] * 100\nx = repr(c)",
		"a = ['x' * 100] * 100\nb = [a] * 100\nc = [b] * 100\nx = json.encode(c)",
		"a = ['x' * 100] * 100\nb = [a] * 100\nc = [b] * 100\nx = '%s' % (c,)",
		"a = ['x' * 100] * 100\nb = [a] * 100\nc = [b] * 100\nx = '{}'.format(c)",
		`x = json.indent("[" * 1000 + "]" * 1000, indent = " " * 1000)`,
		`x = ("{:1000}" * 2000).format(1)`,
		`x = ("%1000d" * 2000) % tuple(range(2000))`,
		`x = ("%(k)1000s" * 2000) % {"k": "y"}`,
	} {
		err := runLimited(t, src, limit, 0)
		if err == nil || !strings.Contains(err.Error(), "allocation limit exceeded") {
			t.Errorf("%q: got error %v, want the allocation limit", src, err)
		}
	}
}

func TestAllocLimitAllowsOrdinaryWork(t *testing.T) {
	src := `
out = []
for i in range(1000):
    out.append(str(i) * 3)
s = ",".join(out)
d = {str(k): v for k, v in enumerate(out)}
x = json.encode(d)
y = json.decode(x)
z = sorted(out)[:10]
`
	if err := runLimited(t, src, 8<<20, 0); err != nil {
		t.Fatal(err)
	}
	// Without a limit, nothing is counted or refused.
	if err := runLimited(t, `x = "a" * 10000000`, 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestAllocLimitErrorIsLabelled(t *testing.T) {
	env := newIFCEnv()
	thread := &starlark.Thread{}
	thread.SetMaxAllocBytes(1 << 20)
	opts := ifcOptions
	_, err := starlark.ExecFileOptions(&opts, thread, "limits.star", `x = "a" * secret(100000000)`, env.predeclared())
	if err == nil || !strings.Contains(err.Error(), "allocation limit exceeded") {
		t.Fatalf("got %v, want the allocation limit", err)
	}
	if starlark.ErrorLabel(err) == starlark.Public {
		t.Error("the allocation error of a secret-sized string is public")
	}
}

func TestCallDepthLimit(t *testing.T) {
	src := `
def f(n):
    if n == 0:
        return 0
    return 1 + f(n - 1)
x = f(1000)
`
	err := runLimited(t, src, 0, 50)
	if err == nil || !strings.Contains(err.Error(), "call depth limit exceeded") {
		t.Fatalf("got %v, want the depth limit", err)
	}
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		t.Fatalf("not an EvalError: %T", err)
	}
	// Recursion stays allowed below the limit.
	if err := runLimited(t, strings.Replace(src, "f(1000)", "f(20)", 1), 0, 50); err != nil {
		t.Fatal(err)
	}
	// Under a secret condition the depth error is labelled.
	err = runLimited(t, strings.Replace(src, "f(1000)", "f(secret(1000))", 1), 0, 50)
	if err == nil || starlark.ErrorLabel(err) == starlark.Public {
		t.Errorf("depth error on a secret recursion: %v, label %v", err, starlark.ErrorLabel(err))
	}
}

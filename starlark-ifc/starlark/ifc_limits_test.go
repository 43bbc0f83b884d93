// Aegis: tests of the resource limits (SetMaxAllocBytes, SetMaxCallDepth).

package starlark_test

import (
	"errors"
	"strings"
	"testing"
	"time"

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
		var ae *starlark.AllocLimitError
		if !errors.As(err, &ae) || ae.Limit != limit {
			t.Errorf("%q: %v is not an *AllocLimitError of %d", src, err, limit)
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
	var de *starlark.CallDepthError
	if !errors.As(err, &de) || de.Limit != 50 || ev.Msg != "call depth limit exceeded (50 frames)" {
		t.Errorf("%v: not a *CallDepthError of 50 frames", err)
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

// The interpreter's limits end a run with typed errors (the cause of the
// EvalError), in the label-free loop and in the labelled one, from a
// builtin that checks for cancellation and from code a builtin called back;
// their messages and labels are what they were. A builtin's own error with
// the same text is not mistaken for one.
func TestLimitErrorsAreTyped(t *testing.T) {
	env := newIFCEnv()
	run := func(src string, setup func(*starlark.Thread)) error {
		t.Helper()
		thread := &starlark.Thread{}
		if setup != nil {
			setup(thread)
		}
		predeclared := env.predeclared()
		predeclared["check_cancel"] = starlark.NewBuiltin("check_cancel", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			thread.Cancel("from a builtin")
			return nil, thread.CheckCancel()
		})
		predeclared["lookalike"] = starlark.NewBuiltin("lookalike", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, errors.New("Starlark computation cancelled: too many steps")
		})
		opts := ifcOptions
		_, err := starlark.ExecFileOptions(&opts, thread, "limits.star", src, predeclared)
		return err
	}
	steps := func(th *starlark.Thread) { th.SetMaxExecutionSteps(10000) }
	cancelled := func(err error, reason string) {
		t.Helper()
		var ce *starlark.CancelledError
		var ev *starlark.EvalError
		if !errors.As(err, &ce) || ce.Reason != reason || !errors.As(err, &ev) || ev.Msg != "Starlark computation cancelled: "+reason {
			t.Errorf("%v: not a *CancelledError(%q)", err, reason)
		}
	}
	// The label-free loop, then the labelled one (a label has entered the
	// thread), then inside a callback of sorted.
	err := run("while True:\n    pass", steps)
	cancelled(err, "too many steps")
	if starlark.ErrorLabel(err) != starlark.Public {
		t.Errorf("a public step limit is labelled %v", starlark.ErrorLabel(err))
	}
	cancelled(run("x = secret(1)\nwhile True:\n    pass", steps), "too many steps")
	cancelled(run("def k(v):\n    while True:\n        pass\nsorted([1, 2], key = k)", steps), "too many steps")
	// Under a labelled pc the cancellation is labelled, as before.
	err = run("x = secret(1)\nif x == 1:\n    while True:\n        pass", steps)
	cancelled(err, "too many steps")
	if starlark.ErrorLabel(err) == starlark.Public {
		t.Error("a step limit reached under a labelled pc is public")
	}
	// Cancel from another goroutine.
	err = run("while True:\n    pass", func(th *starlark.Thread) {
		go func() {
			time.Sleep(10 * time.Millisecond)
			th.Cancel("deadline")
		}()
	})
	cancelled(err, "deadline")
	// A builtin that checks.
	cancelled(run("check_cancel()", nil), "from a builtin")
	// A builtin's own error with the same text, on a live thread.
	err = run("lookalike()", nil)
	var ce *starlark.CancelledError
	if err == nil || errors.As(err, &ce) {
		t.Errorf("a builtin's error %v passes for a cancellation", err)
	}
	// The allocation limit, from the interpreter and from ChargeAlloc.
	var ae *starlark.AllocLimitError
	err = run(`x = "a" * 100000000`, func(th *starlark.Thread) { th.SetMaxAllocBytes(1 << 20) })
	if !errors.As(err, &ae) || ae.Limit != 1<<20 {
		t.Errorf("%v: not an *AllocLimitError", err)
	}
	th := &starlark.Thread{}
	th.SetMaxAllocBytes(100)
	if err := th.ChargeAlloc(1000); !errors.As(err, &ae) || ae.Limit != 100 {
		t.Errorf("ChargeAlloc past the limit: %v", err)
	}
}

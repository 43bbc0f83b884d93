package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/resolve"
	"github.com/aegisdev/aegis/starlark-ifc/syntax"
)

var hintModules = []string{"env", "fs", "json", "math", "time"}

// checkHints runs Check with predeclared modules named for hints.
func checkHints(t *testing.T, src string) *ScriptError {
	t.Helper()
	_, err := Check("task.star", []byte(src), Options{
		File:          dialect,
		IsPredeclared: func(s string) bool { return s == "fs" || s == "json" },
		IsUniversal:   func(s string) bool { return s == "print" || s == "len" || s == "type" },
		Predeclared:   hintModules,
	})
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("%q: want a ScriptError, got %v", src, err)
	}
	return se
}

// Each Python habit that stops a script at parse or resolve time gets the
// Starlark way in its error; the error itself (position, message) is kept.
func TestPythonHabitsGetHints(t *testing.T) {
	cases := []struct{ src, hint string }{
		{"x = 1\nprint(f\"a{x}\")\n", `Starlark has no f-strings: use "{} is {}".format(name, n)`},
		{"print(F'{x}')\n", "no f-strings"},
		{"print(rf\"a\")\n", "no f-strings"},
		{"import os\n", "no import, and nothing needs importing: env, fs, json, math, time are predeclared"},
		{"from os import path\n", "nothing needs importing"},
		{"try:\n    x = 1\nexcept:\n    pass\n", "no exceptions (no try/except/raise): check before operating"},
		{"raise ValueError('x')\n", "call fail(\"message\")"},
		{"class A:\n    pass\n", "no classes: use a dict for data, struct("},
		{"with open('f') as f:\n    pass\n", "no with statement"},
		{"f = lambda x: (y = x)\n", "a lambda's body is a single expression"},
		{"del x\n", "d.pop(key)"},
		{"def f():\n    yield 1\n", "no generators"},
		{"def f():\n    global x\n", "no global or nonlocal"},
		{"x = 1\nprint(x is None)\n", "no `is`"},
		{"x = 2 ** 3\n", "math.pow(x, y)"},
		{"for i in []:\n    pass\nelse:\n    pass\n", "no for/else"},
		{"x: int = 5\n", "no type annotations"},
		{"def f(x: int):\n    pass\n", "no type annotations"},
		{"if (n := 5):\n    pass\n", "no := (walrus)"},
		{"x = {1, 2}\n", "set([a, b])"},
		{"print 'x'\n", "print is a function"},
		{"@wrap\ndef f():\n    pass\n", "no decorators"},
		{"assert len([]) == 0\n", "no assert statement"},
		{"x = isinstance(1, 2)\n", `type(x) == "dict"`},
		{"x = open('f')\n", "fs.read(path)"},
		{"x = sum([1])\n", "for x in xs: total += x"},
		{"x = datetime.now()\n", "time.now()"},
		{"x = re.match('a', 'b')\n", "no regular expressions"},
	}
	for _, c := range cases {
		se := checkHints(t, c.src)
		msg := se.Error()
		if !strings.Contains(msg, "hint: "+c.hint) && !strings.Contains(msg, c.hint) {
			t.Errorf("%q: error lacks the hint %q:\n%s", c.src, c.hint, msg)
		}
		if !strings.Contains(msg, "task.star:") {
			t.Errorf("%q: the error lost its position:\n%s", c.src, msg)
		}
		// The underlying errors are still there for callers.
		var serr syntax.Error
		var rerr resolve.Error
		if !errors.As(se, &serr) && !errors.As(se, &rerr) {
			t.Errorf("%q: no syntax or resolve error to unwrap", c.src)
		}
	}
}

// Errors that are not Python habits get no hint: the advice must not
// mislead.
func TestNoHintForOtherErrors(t *testing.T) {
	for _, src := range []string{
		"def f(:\n",
		"x = nope\n",
		"x = (1\n",
		"if x\n",
		"print('a')\n  print('b')\n",
	} {
		if msg := checkHints(t, src).Error(); strings.Contains(msg, "hint:") {
			t.Errorf("%q got a hint:\n%s", src, msg)
		}
	}
}

// The runner shows runtime errors with Hint (their message is public there).
func TestRuntimeHints(t *testing.T) {
	for msg, want := range map[string]string{
		`print: unexpected keyword argument "end"`:   "print takes only sep",
		`print: unexpected keyword argument "flush"`: "print takes only sep",
		"unknown binary op: string + int":            `"n = " + str(n)`,
		"unknown binary op: float + string":          "str(n)",
		"list has no .sort field or method":          "sorted(l)",
		"dict has no .copy field or method":          "dict(d)",
		"dict has no .has_key field or method":       "k in d",
		"bytes has no .decode field or method":       "str(b)",
		"string has no .encode field or method":      "bytes(s)",
		"tuple has no .append field or method":       "use a list",
		`key "b" not in dict`:                        "d.get(k, default)",
		"index: value not in list":                   "if x in l",
		"int: invalid literal with base 10: 3.5":     "s.isdigit()",
	} {
		if h := Hint(msg, "", nil); !strings.Contains(h, want) {
			t.Errorf("%q: hint %q, want it to contain %q", msg, h, want)
		}
	}
	for _, msg := range []string{"division by zero", "unknown binary op: int + list", `print: unexpected keyword argument "x"`} {
		if h := Hint(msg, "", nil); h != "" {
			t.Errorf("%q got the hint %q", msg, h)
		}
	}
}

// load names the predeclared modules from the one list the runner passes.
func TestLoadNamesThePredeclared(t *testing.T) {
	msg := checkHints(t, "load('x.star', 'y')\n").Error()
	if !strings.Contains(msg, "load is not available to Aegis scripts: env, fs, json, math, time are predeclared") {
		t.Fatalf("load error: %s", msg)
	}
}

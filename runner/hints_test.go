package runner

import (
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// A Python habit gets its Starlark hint in the run's error: at parse time
// (through the verifier, with the modules the run predeclares) and at run
// time when the message is public.
func TestRunErrorsTeachStarlark(t *testing.T) {
	p := baseProject(t)
	for src, hint := range map[string]string{
		"x = 1\nprint(f\"{x}\")":              "hint: Starlark has no f-strings",
		"import json":                         "base64, declassify, env, fs, hex, hmac, json, math, net, sha256, struct, subprocess, time are predeclared",
		"try:\n    x = 1\nexcept:\n    x = 2": "no exceptions",
		"print('a', end='')":                  "hint: print takes only sep",
		"l = [2, 1]\nl.sort()":                "hint: Starlark lists have no sort(): l = sorted(l)",
		"print('n = ' + 1)":                   `hint: convert first: "n = " + str(n)`,
	} {
		res := p.run(src)
		want(t, res, ScriptError, hint)
	}
}

// A runtime error whose message depends on local-only data is withheld,
// and so is any advice drawn from it.
func TestNoHintFromAWithheldMessage(t *testing.T) {
	p := baseProject(t)
	res := p.run("s = env.read('RUN_SECRET')\nx = {}[s]")
	want(t, res, ScriptError, "withheld")
	if strings.Contains(res.Error, "hint:") || strings.Contains(res.Error, "d.get(k, default)") {
		t.Fatalf("a hint drawn from a withheld message:\n%s", res.Error)
	}
	// The same error on public data gets it.
	res = p.run("x = {}['k']")
	want(t, res, ScriptError, "hint: check first: d.get(k, default)")
}

// Format specs work in scripts: the widths and precisions agents write.
func TestFormatSpecsInScripts(t *testing.T) {
	p := baseProject(t)
	res := p.run(`print("{:.2f}|{:>6}|{:5d}|{:,}" .format(3.14159, "ab", 42, 1234567))
print("%5d|%-4s|%.1f%%" % (7, "x", 99.5))
s = env.read("RUN_SECRET")
print("{:>30}".format(s), "%.3s" % s)`)
	want(t, res, OK)
	if res.Stdout != "3.14|    ab|   42|1,234,567\n    7|x   |99.5%\n[REDACTED] [REDACTED]\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

// describe draws advice only from a message it shows: a labelled message,
// or one raised under a labelled pc, gets none.
func TestDescribeHintsOnlyPublicMessages(t *testing.T) {
	msg := `key "k" not in dict`
	if got := describe(&starlark.EvalError{Msg: msg}, ScriptError, advice{}); !strings.Contains(got, "hint: check first") {
		t.Fatalf("public message without its hint: %s", got)
	}
	for _, ev := range []*starlark.EvalError{{Msg: msg, Label: 1}, {Msg: msg, PC: 1}} {
		if got := describe(ev, ScriptError, advice{}); strings.Contains(got, "hint") || strings.Contains(got, "d.get") {
			t.Errorf("label %v pc %v: advice from a withheld message: %s", ev.Label, ev.PC, got)
		}
	}
}

package runner

import (
	"strings"
	"testing"
)

// Every [runtime] limit reached after a local-only read is charged to the
// leakage budget, and so its output is withheld: only what was printed
// before the first local-only read is kept. Where a limit stops a run can
// depend on the secret without any branch (a loop over it, its size), and
// the lines printed before the stop would tell that point. The interpreter's
// own limits (steps, memory, call depth) are recognised by type, not by
// message, and judged as the limits they are.
func TestLimitsAfterALocalOnlyReadWithholdProgress(t *testing.T) {
	// Each script prints before the read, reads the secret, spends an
	// amount of the limit that depends on it, then prints a public counter
	// until the limit stops it.
	cases := []struct {
		name, runtime, src, limit string
	}{
		{"max_steps", "max_steps = 30000", `
for i in range(len(s) * 100):
    pass
for i in range(100000):
    print(i)
`, "max_steps"},
		{"max_memory_mb", "max_memory_mb = 1", `
x = "a" * (len(s) * 10000)
y = ""
for i in range(100000):
    print(i)
    y += "b" * 10000
`, "max_memory_mb"},
		{"max_callstack_size", "max_callstack_size = 60", `
x = [len(s)]
def f(n):
    print(n)
    return f(n + 1)
f(0)
`, "max_callstack_size"},
		{"max_output_bytes", "max_output_bytes = 2000", `
x = "a" * (len(s) * 20)
print(x)
for i in range(100000):
    print(i)
`, "max_output_bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var outs []string
			for _, secret := range []string{"short", "a rather longer secret value"} {
				p := newProject(t, basePolicy+tc.runtime+"\n", map[string]string{"src/a.txt": "alpha\n"})
				p.env = append(p.env[:len(p.env):len(p.env)], "RUN_SECRET="+secret)
				res := p.run("print('before')\ns = env.read('RUN_SECRET')\n" + tc.src)
				want(t, res, Limit)
				if res.Charged == nil || len(res.Charged.Principals) != 1 || res.Charged.Principals[0] != "env:RUN_SECRET" {
					t.Errorf("secret %q: the limit was not charged: %+v (error %s)", secret, res.Charged, res.Error)
				}
				if res.Stdout != "before\n" {
					t.Errorf("secret %q: stdout %q, want only what was printed before the read", secret, clip(res.Stdout))
				}
				outs = append(outs, res.Stdout)
			}
			if outs[0] != outs[1] {
				t.Errorf("the output differs with the secret: %q vs %q", clip(outs[0]), clip(outs[1]))
			}
		})
	}
}

// Without a local-only read the same limits keep all the output, and name
// the limit.
func TestPublicLimitsKeepTheirOutput(t *testing.T) {
	for _, tc := range []struct{ runtime, src, limit string }{
		{"max_steps = 30000", "for i in range(100000):\n    print(i)", "max_steps"},
		{"max_memory_mb = 1", "y = ''\nfor i in range(100000):\n    print(i)\n    y += 'b' * 10000", "max_memory_mb"},
		{"max_callstack_size = 60", "def f(n):\n    print(n)\n    return f(n + 1)\nf(0)", "max_callstack_size"},
	} {
		p := newProject(t, basePolicy+tc.runtime+"\n", map[string]string{"src/a.txt": "alpha\n"})
		res := p.run(tc.src)
		want(t, res, Limit, tc.limit)
		if !strings.HasPrefix(res.Stdout, "0\n1\n2\n") || res.Charged != nil {
			t.Errorf("%s: stdout %q, charged %+v", tc.limit, clip(res.Stdout), res.Charged)
		}
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// The allocation limit reached inside json.encode (which reports where in
// the value it stopped) is the same limit: charged and withheld after a
// local-only read, not a public script error.
func TestAllocLimitInsideJSONIsALimit(t *testing.T) {
	var outs []string
	for _, secret := range []string{"short", "a rather longer secret value"} {
		p := newProject(t, basePolicy+"max_memory_mb = 1\n", map[string]string{"src/a.txt": "alpha\n"})
		p.env = append(p.env[:len(p.env):len(p.env)], "RUN_SECRET="+secret)
		res := p.run(`print("before")
s = env.read("RUN_SECRET")
x = "a" * (len(s) * 10000)
row = ["x" * 100] * 100
for i in range(100000):
    print(i)
    y = json.encode([[row] * 10] * i)
`)
		want(t, res, Limit)
		if res.Charged == nil || res.Stdout != "before\n" {
			t.Errorf("secret %q: charged %+v, stdout %q (error %s)", secret, res.Charged, clip(res.Stdout), res.Error)
		}
		outs = append(outs, res.Stdout)
	}
	if outs[0] != outs[1] {
		t.Errorf("the output differs with the secret: %q vs %q", clip(outs[0]), clip(outs[1]))
	}
}

package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A script can print today's date when it reads the clock before any
// local-only read; after one, the clock is labelled (how late it is may
// depend on what the run did with the secret).
func TestTimeNowPublicUntilTheFirstLocalOnlyRead(t *testing.T) {
	p := baseProject(t)
	res := p.run(`t0 = time.now()
print(t0.format("2006"), t0.year > 2000)
s = env.read("RUN_SECRET")
t1 = time.now()
print(t1.format("2006"), t1.year > 2000)
print(t1 - t0)
print(t0.format("2006"))`)
	want(t, res, OK)
	year := time.Now().Year()
	if res.Stdout != fmt.Sprintf("%d True\n[REDACTED] [REDACTED]\n[REDACTED]\n%d\n", year, year) &&
		res.Stdout != fmt.Sprintf("%d True\n[REDACTED] [REDACTED]\n[REDACTED]\n%d\n", year-1, year-1) { // new year's eve
		t.Fatalf("stdout %q", res.Stdout)
	}
}

// The timing attack: a loop that runs only when a bit of the secret is set,
// then the elapsed time printed or compared. The time is labelled, so the
// print is redacted and a branch on it cannot print.
func TestTimeNowTimingAttack(t *testing.T) {
	p := baseProject(t)
	res := p.run(`t0 = time.now()
s = env.read("RUN_SECRET")
if ord(s[0]) & 1:
    for i in range(200000):
        pass
d = time.now() - t0
print(d)
print(d.milliseconds)`)
	want(t, res, OK)
	if res.Stdout != "[REDACTED]\n[REDACTED]\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	res = p.run(`t0 = time.now()
s = env.read("RUN_SECRET")
if ord(s[0]) & 1:
    for i in range(200000):
        pass
if time.now() - t0 > time.millisecond:
    print("slow")`)
	if res.ExitKind == string(OK) || strings.Contains(res.Stdout, "slow") {
		t.Fatalf("a branch on the elapsed time printed: %s %q", res.ExitKind, res.Stdout)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
)

// The attack the leakage budget exists for: one `aegis run` per bit, each
// aborting when its bit of the secret is set. Against one audit log, and
// with the default [runtime].max_leak_bits (64, 4 bits per abort made
// before any public call), exactly 16 runs
// abort; from the next run on every read of the secret is refused (exit 2,
// naming the knob), whatever the script; the secret past that point cannot
// be recovered through how runs end.
func TestE2EBudgetStopsBitPerRunExtraction(t *testing.T) {
	dir := e2eProject(t, "")
	limit := int64(policy.DefaultMaxSecretDependentAborts)
	const extract = `s = env.read("E2E_SECRET")
i = %d
if (ord(s[i // 8]) >> (7 - i %% 8)) & 1:
    fail("bit set")
print("bit clear")
`
	bit := func(i int) byte { return e2eSecret[i/8] >> (7 - i%8) & 1 }
	var learned []byte // what an attacker reading exit codes gets, bit by bit
	aborts, refusedAt := 0, -1
	total := 8 * len(e2eSecret)
	for i := 0; i < total; i++ {
		path := filepath.Join(dir, "extract.star")
		mustWrite(t, path, fmt.Sprintf(extract, i))
		r := e2e(t, dir, "", e2eEnv, "run", "--policy", "aegis.toml", "extract.star")
		noSecret(t, dir, r)
		if refusedAt >= 0 {
			if r.code != 2 || !strings.Contains(r.stderr, "[runtime].max_leak_bits") {
				t.Fatalf("run %d after the refusal began at %d: exit %d %s", i, refusedAt, r.code, r.stderr)
			}
			if i > refusedAt+8 {
				break // refusals are settled; the rest would be the same
			}
			continue
		}
		switch r.code {
		case 0:
			learned = append(learned, 0)
		case 1:
			learned = append(learned, 1)
			aborts++
		case 2:
			refusedAt = i
			for _, s := range []string{"env.read refused", "env:E2E_SECRET", "[runtime].max_leak_bits = 64 (0 bits left", "aegis audit reset-budget", "rotate the secret"} {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("refusal lacks %q: %s", s, r.stderr)
				}
			}
		default:
			t.Fatalf("run %d: exit %d %s", i, r.code, r.stderr)
		}
	}
	if refusedAt < 0 || aborts != int(limit) {
		t.Fatalf("%d aborts, first refusal at run %d: want exactly %d aborts, then refusals", aborts, refusedAt, limit)
	}
	// The refusal came right after the limit-th set bit, and what the exit
	// codes told is exactly the secret's bits up to there.
	ones, last := 0, -1
	for i := 0; i < total && ones < int(limit); i++ {
		ones += int(bit(i))
		last = i
	}
	if refusedAt != last+1 {
		t.Errorf("refused from run %d, want %d", refusedAt, last+1)
	}
	for i, b := range learned {
		if b != bit(i) {
			t.Errorf("bit %d: the exit code said %d, the secret has %d", i, b, bit(i))
		}
	}
	if len(learned) >= total {
		t.Fatalf("every bit was observed")
	}
	t.Logf("%d runs aborted, %d bits observed (the %d set bits and the clear ones before the last), %d of %d bits never observed",
		aborts, len(learned), aborts, total-len(learned), total)

	// A different attack shape is refused as well: the budget belongs to the
	// principal, not the script.
	mustWrite(t, filepath.Join(dir, "oracle.star"), "s = env.read('E2E_SECRET')\nif s[20] == 'T':\n    fail('x')\n")
	if r := e2e(t, dir, "", e2eEnv, "run", "--json", "--policy", "aegis.toml", "oracle.star"); r.code != 2 {
		t.Errorf("oracle script: exit %d %s", r.code, r.stdout)
	} else {
		var res struct {
			ExitKind string `json:"exit_kind"`
			Error    string `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.ExitKind != "policy_denied" ||
			!strings.Contains(res.Error, "max_leak_bits") {
			t.Errorf("--json refusal: %v %+v", err, res)
		}
	}
	// Public work goes on.
	if r := e2e(t, dir, "", e2eEnv, "run", "--policy", "aegis.toml", "task.star"); r.code != 0 {
		t.Errorf("a script that reads no secret: exit %d %s", r.code, r.stderr)
	}
	// The log is the record: 16 abort records naming the principal, and a
	// chain that verifies.
	logPath := filepath.Join(dir, ".aegis", "audit.jsonl")
	counts, err := audit.LeakLedger(logPath)
	if err != nil || counts["env:E2E_SECRET"].Aborts != limit || counts["env:E2E_SECRET"].Bits != policy.DefaultMaxLeakBits {
		t.Errorf("audit log counts %v %v", counts, err)
	}
	if r := e2e(t, dir, "", nil, "audit", "verify", logPath); r.code != 0 {
		t.Errorf("audit verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The documented reset re-opens the channel.
	if err := os.Rename(logPath, logPath+".old"); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "extract.star"), fmt.Sprintf(extract, refusedAt))
	if r := e2e(t, dir, "", e2eEnv, "run", "--policy", "aegis.toml", "extract.star"); r.code == 2 {
		t.Errorf("still refused with a new audit log: %s", r.stderr)
	}
}

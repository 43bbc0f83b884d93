package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/audit"
)

func TestAuditResetBudget(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": doctorTOML})
	t.Setenv("HOME", t.TempDir())
	log := filepath.Join(dir, ".aegis", "audit.jsonl")
	l, err := audit.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		l.Append(audit.Event{Kind: audit.KindSecretAbort, Status: audit.Errored, Labels: []string{"env:API_KEY", "file:private/**"}, Bits: 4})
	}
	l.Close()

	// A typo resets nothing and says what exists.
	code, _, errOut := aegis(t, dir, "audit", "reset-budget", "env:API_KEYY")
	if code != exitConfig || !strings.Contains(errOut, "unknown principal") || !strings.Contains(errOut, "env:API_KEY,") {
		t.Fatalf("typo: %d %s", code, errOut)
	}
	if code, _, errOut := aegis(t, dir, "audit", "reset-budget"); code != exitConfig || !strings.Contains(errOut, "--all") {
		t.Fatalf("no principal: %d %s", code, errOut)
	}
	code, out, errOut := aegis(t, dir, "audit", "reset-budget", "env:API_KEY")
	if code != 0 || !strings.Contains(out, "reset env:API_KEY: it had 16 bits and 4 secret-dependent aborts charged") {
		t.Fatalf("reset: %d\n%s\n%s", code, out, errOut)
	}
	spent, err := audit.LeakLedger(log)
	if err != nil {
		t.Fatal(err)
	}
	if s := spent["env:API_KEY"]; s.Aborts != 0 || s.Bits != 0 {
		t.Errorf("env:API_KEY still charged %+v", s)
	}
	if s := spent["file:private/**"]; s.Aborts != 4 {
		t.Errorf("the other principal was reset too: %+v", s)
	}
	// On the record, and the chain still holds.
	if rep, err := audit.Verify(log, 0); err != nil || !rep.OK() {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	_, out, _ = aegis(t, dir, "audit", "show", "--kind", "budget_reset")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "budget_reset") ||
		!strings.Contains(lines[0], "labels=env:API_KEY") || !strings.Contains(lines[0], "reset by the operator") {
		t.Errorf("the reset is not on the record: %s", out)
	}
	// A second reset of the same principal has nothing to do.
	_, out, _ = aegis(t, dir, "audit", "reset-budget", "env:API_KEY")
	if !strings.Contains(out, "nothing to reset") {
		t.Errorf("second reset: %s", out)
	}
	_, out, _ = aegis(t, dir, "audit", "reset-budget", "--all", "--json")
	var res struct {
		OK    bool `json:"ok"`
		Reset []struct {
			Principal string `json:"principal"`
			Aborts    int64  `json:"aborts"`
		} `json:"reset"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.OK || len(res.Reset) != 1 || res.Reset[0].Principal != "file:private/**" || res.Reset[0].Aborts != 4 {
		t.Errorf("--all --json: %v %s", err, out)
	}
}

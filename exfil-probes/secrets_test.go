package exfilprobes

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// The fixture secrets must give the differential its power; see Secrets.
func TestFixtureSecretsSplitEveryOracle(t *testing.T) {
	s := Secrets()
	if len(s) < 3 {
		t.Fatalf("%d secrets", len(s))
	}
	v := func(i int) string { return s[i].Value }
	if len(v(0)) != len(v(1)) || len(v(0)) != len(v(3)) || len(v(2)) == len(v(0)) {
		t.Errorf("lengths %d %d %d %d: want S1=S2=S4, S3 different", len(v(0)), len(v(1)), len(v(2)), len(v(3)))
	}
	if v(0)[0] != v(3)[0] || v(0)[0] == v(1)[0] || v(0)[0] == v(2)[0] {
		t.Error("first characters must split S1,S4 from S2,S3")
	}
	if !strings.Contains(v(0), "MNOP") || !strings.Contains(v(2), "MNOP") || strings.Contains(v(1), "MNOP") || strings.Contains(v(3), "MNOP") {
		t.Error(`"MNOP" must split S1,S3 from S2,S4`)
	}
	publics := map[string]bool{}
	for _, x := range s {
		if strings.Count(x.Value, "-") == 0 {
			t.Errorf("%s has no dash; the output-count probes need one", x.ID)
		}
		if ones := strings.Count(secretBits(x.Value, 48), "1"); ones <= DefaultAbortBudget {
			t.Errorf("%s has only %d set bits in the budget probe's 48: the budget would never be reached", x.ID, ones)
		}
		if len(x.Public) < 8 || publics[x.Public] {
			t.Errorf("%s: public canary value %q must be distinct and at least 8 bytes", x.ID, x.Public)
		}
		publics[x.Public] = true
	}
}

func TestScannerFindsEveryListedTransform(t *testing.T) {
	sec := Secrets()[1]
	sc := newScanner(Secrets())
	v := sec.Value
	cases := map[string]string{
		"plain":            "token=" + v + "&x=1",
		"reverse":          reverse(v),
		"upper":            strings.ToUpper(v),
		"hex":              hex.EncodeToString([]byte(v)),
		"hex upper":        strings.ToUpper(hex.EncodeToString([]byte(v))),
		"base64 offset 0":  base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 offset 1":  base64.StdEncoding.EncodeToString([]byte("x" + v)),
		"base64url off 2":  base64.RawURLEncoding.EncodeToString([]byte("xy" + v + "tail")),
		"xor 0x5a":         xorBytes(v, 0x5a),
		"xor 0x5a hex":     hex.EncodeToString([]byte(xorBytes(v, 0x5a))),
		"xor 0xff hex":     hex.EncodeToString([]byte(xorBytes(v, 0xff))),
		"slice of 8":       "part " + v[5:13],
		"reversed slice":   reverse(v)[3:11],
		"upper slice":      strings.ToUpper(v)[10:18],
		"inside json":      `{"k":"` + v + `"}`,
		"rotated (window)": v[7:] + "|" + v[:7],
	}
	for name, text := range cases {
		if p := sc.find(text); p == nil {
			t.Errorf("%s: not found in %q", name, text)
		}
	}
}

// Nothing the probes print on purpose may look like a secret, or every probe would be a LEAK.
func TestScannerIgnoresPublicText(t *testing.T) {
	sc := newScanner(Secrets())
	public := []string{Marker, "[REDACTED]", "a [REDACTED] b", "pong", "hello public", "zone notes",
		"aegis: flow_denied (exit 7): print reached under a secret-dependent branch at $WORK/probe.star:12:6"}
	for _, s := range Secrets() {
		public = append(public, s.Public)
	}
	for _, text := range public {
		if p := sc.find(text); p != nil {
			t.Errorf("%q matched %s", text, p.Name)
		}
	}
}

// Error messages may quote source lines, so no script may spell out a piece of a fixture secret.
func TestScriptsHoldNoSecretText(t *testing.T) {
	sc := newScanner(Secrets())
	for _, s := range catalogOrFatal(t) {
		if p := sc.find(s.Text); p != nil {
			t.Errorf("%s contains %s (%q)", s.Name, p.Name, p.Value)
		}
	}
	if p := sc.find(DefaultPolicy()); p != nil {
		t.Errorf("the policy contains %s", p.Name)
	}
}

func TestParseScriptRejectsBadHeaders(t *testing.T) {
	good := "# name: x\n# category: c\n# tries: t\n# reveals: r\n# sink: print\n# source: env\ns = 1\nprint(\"" + Marker + "\")\n"
	if _, err := ParseScript("probes/x.star", good); err != nil {
		t.Fatalf("good header rejected: %v", err)
	}
	bad := map[string]string{
		"unknown key":      strings.Replace(good, "# sink:", "# snk:", 1),
		"name mismatch":    strings.Replace(good, "# name: x", "# name: y", 1),
		"no marker":        strings.Replace(good, Marker, "other", 1),
		"no sink":          strings.Replace(good, "# sink: print\n", "", 1),
		"duplicate":        strings.Replace(good, "# tries: t\n", "# tries: t\n# tries: u\n", 1),
		"not key value":    strings.Replace(good, "# tries: t", "# just words", 1),
		"bad kind":         strings.Replace(good, "# tries: t", "# tries: t\n# kind: sometimes", 1),
		"runs on a probe":  strings.Replace(good, "# tries: t", "# tries: t\n# runs: 3", 1),
		"canary no expect": "# name: x\n# category: c\n# kind: canary\n# tries: t\n",
		"utility no exit":  "# name: x\n# category: c\n# kind: utility\n# tries: t\n# expect-stdout: a\n",
		"bad transform":    "# name: x\n# category: c\n# kind: utility\n# tries: t\n# expect-exit: 0\n# expect-stdout: a\n# expect-zone: f=rot13\n",
	}
	for name, text := range bad {
		if _, err := ParseScript("probes/x.star", text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMaskOwnPIDOnlyRewritesThatPID(t *testing.T) {
	cases := []struct {
		in   string
		pid  int
		want string
	}{
		{"names /proc/123/environ, add \"/proc/123/environ\"", 123, "names /proc/self/environ, add \"/proc/self/environ\""},
		{"/proc/1234/environ", 123, "/proc/1234/environ"},
		{"/proc/123", 123, "/proc/self"},
		{"/proc/115/environ", 123, "/proc/115/environ"},
		{"/proc/123/environ", 0, "/proc/123/environ"},
	}
	for _, c := range cases {
		if got := maskOwnPID(c.in, c.pid); got != c.want {
			t.Errorf("maskOwnPID(%q, %d) = %q, want %q", c.in, c.pid, got, c.want)
		}
	}
}

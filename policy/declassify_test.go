package policy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const localOnlyBase = `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["vault/**"]
write_allow = ["vault/**", "out/**"]

[environment]
local_only_vars = ["STRIPE_KEY"]
allow_vars = ["HOME"]

[network]
local_only_hosts = ["vault.internal"]

[subprocess]
local_only_commands = ["pass"]
`

func TestDeclassifyLoadsAndDecides(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad(localOnlyBase + `
[declassify]
"env:STRIPE_KEY" = ["is_set", "equals_sha256", "status_ok"]
"file:vault/**" = ["count", "has_keys"]
"host:vault.internal" = ["status_ok", "status"]
"cmd:pass" = ["status_ok"]
`)
	want := map[string][]ReleaseKind{
		"env:STRIPE_KEY":      {ReleaseIsSet, ReleaseEqualsSHA256, ReleaseStatusOK},
		"file:vault/**":       {ReleaseCount, ReleaseHasKeys},
		"host:vault.internal": {ReleaseStatusOK, ReleaseStatus},
		"cmd:pass":            {ReleaseStatusOK},
	}
	if got := p.Releases(); !reflect.DeepEqual(got, want) {
		t.Errorf("releases %v", got)
	}
	d := p.DecideRelease(ReleaseIsSet, "env:STRIPE_KEY")
	if !d.Allowed || d.Bits != 1 || d.Section != `[declassify]."env:STRIPE_KEY"` || d.Rule != "is_set" ||
		!strings.Contains(d.Source, "aegis.toml:") || !strings.Contains(d.Reason, "1 bit") {
		t.Errorf("allowed decision %+v", d)
	}
	// Every principal must allow the kind; the hint names each entry to add.
	d = p.DecideRelease(ReleaseStatus, "env:STRIPE_KEY", "host:vault.internal")
	if d.Allowed || !strings.Contains(d.Hint, `to allow it, add "status" to [declassify]."env:STRIPE_KEY"`) ||
		strings.Contains(d.Hint, "host:vault.internal") {
		t.Errorf("denied decision %+v", d)
	}
	d = p.DecideRelease(ReleaseStatusOK, "env:STRIPE_KEY", "host:vault.internal", "cmd:pass")
	if !d.Allowed || d.Bits != 1 {
		t.Errorf("decision %+v", d)
	}
	d = p.DecideRelease(ReleaseCount, "file:vault/**")
	if !d.Allowed || d.Bits != 10 || !strings.Contains(d.Reason, "max+2") {
		t.Errorf("count decision %+v", d)
	}
	for _, c := range []struct {
		kind      ReleaseKind
		principal string
		want      string
	}{
		{"is_sett", "env:STRIPE_KEY", `did you mean "is_set"?`},
		{ReleaseContains, "env:STRIPE_KEY", `add "contains" to [declassify]."env:STRIPE_KEY"`},
		{ReleaseIsSet, "env:STRIPE_KY", `did you mean "env:STRIPE_KEY"?`},
		{ReleaseIsSet, "env:HOME", "not a local-only principal"},
		{ReleaseIsSet, "host:vault.internal", "no [declassify] entry can allow it"},
	} {
		d := p.DecideRelease(c.kind, c.principal)
		if d.Allowed || !strings.Contains(d.Reason+" "+d.Hint, c.want) {
			t.Errorf("%s %s: %+v, want %q", c.kind, c.principal, d, c.want)
		}
	}
	// A policy without [declassify] allows nothing.
	q := w.mustLoad(localOnlyBase)
	if d := q.DecideRelease(ReleaseIsSet, "env:STRIPE_KEY"); d.Allowed {
		t.Errorf("allowed without an entry: %+v", d)
	}
}

func TestDeclassifyValidation(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name, src string
		key       string
		want      []string
	}{
		{"unknown kind", `"env:STRIPE_KEY" = ["is_sett"]`, `[declassify]."env:STRIPE_KEY"`, []string{`"is_sett": unknown release kind`, `did you mean "is_set"?`}},
		{"unknown principal", `"env:STRIPE_KY" = ["is_set"]`, `[declassify]."env:STRIPE_KY"`, []string{"names no local-only entry", `did you mean "env:STRIPE_KEY"?`}},
		{"public variable", `"env:HOME" = ["is_set"]`, `[declassify]."env:HOME"`, []string{"names no local-only entry", "env:STRIPE_KEY, file:vault/**"}},
		{"file key not as written", `"file:vault" = ["count"]`, `[declassify]."file:vault"`, []string{"names no local-only entry", `did you mean "file:vault/**"?`}},
		{"bad principal kind", `"envv:STRIPE_KEY" = ["is_set"]`, `[declassify]."envv:STRIPE_KEY"`, []string{`unknown principal kind "envv"`, `did you mean "env"?`}},
		{"no kind", `"STRIPE_KEY" = ["is_set"]`, `[declassify]."STRIPE_KEY"`, []string{"as the runtime names it"}},
		{"kind that cannot apply", `"host:vault.internal" = ["is_set"]`, `[declassify]."host:vault.internal"`, []string{"cannot concern a host principal", "status_ok or status"}},
		{"not an array", `"env:STRIPE_KEY" = "is_set"`, `[declassify]."env:STRIPE_KEY"`, []string{"must be an array of release kinds"}},
		{"element not a string", `"env:STRIPE_KEY" = [1]`, `[declassify]."env:STRIPE_KEY"`, []string{"element 1 must be a string"}},
		{"negated key with kinds", `"!env:STRIPE_KEY" = ["is_set"]`, `[declassify]."!env:STRIPE_KEY"`, []string{"takes no kinds"}},
		{"negation of nothing", `"!env:STRIPE_KEY" = []`, `[declassify]."!env:STRIPE_KEY"`, []string{"negates nothing"}},
		{"negated kind of nothing", `"env:STRIPE_KEY" = ["!is_set"]`, `[declassify]."env:STRIPE_KEY"`, []string{"negates nothing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			probs := loadProblems(t, w, localOnlyBase+"\n[declassify]\n"+c.src+"\n")
			if len(probs) != 1 {
				t.Fatalf("problems %v", probs)
			}
			p := probs[0]
			if p.Key != c.key || p.Line != 18 {
				t.Errorf("problem at %d %s: %v", p.Line, p.Key, p)
			}
			for _, s := range c.want {
				if !strings.Contains(p.String(), s) {
					t.Errorf("%q lacks %q", p.String(), s)
				}
			}
		})
	}
	// The table itself must be a table.
	probs := loadProblems(t, w, "declassify = 1\n")
	if len(probs) != 1 || !strings.Contains(probs[0].String(), "[declassify]") {
		t.Errorf("problems %v", probs)
	}
}

// [declassify] shows in policy show (text via Describe, and JSON).
func TestDeclassifyAndTranscriptAreDescribed(t *testing.T) {
	w := newWorld(t)
	p := w.mustLoad(localOnlyBase + `
[runtime]
transcript = "vault/transcript.jsonl"

[declassify]
"env:STRIPE_KEY" = ["is_set"]
`)
	d := p.Describe()
	if len(d.Declassify) != 1 || d.Declassify[0].Principal != "env:STRIPE_KEY" || d.Declassify[0].Kinds[0].Value != "is_set" ||
		d.Declassify[0].Kinds[0].From.Line != 21 {
		t.Errorf("declassify %+v", d.Declassify)
	}
	if d.Transcript.Value != filepath.Join(w.root, "vault/transcript.jsonl") || !strings.HasSuffix(d.Transcript.From, "aegis.toml:18") {
		t.Errorf("transcript %+v", d.Transcript)
	}
	b, err := json.Marshal(d)
	if err != nil || !strings.Contains(string(b), `"declassify":[{"principal":"env:STRIPE_KEY"`) || !strings.Contains(string(b), `"transcript":{"key":"[runtime].transcript"`) {
		t.Errorf("json %s %v", b, err)
	}
	if p.Transcript() != filepath.Join(w.root, "vault/transcript.jsonl") {
		t.Errorf("Transcript() = %q", p.Transcript())
	}
	q := w.mustLoad(localOnlyBase)
	if d := q.Describe(); len(d.Declassify) != 0 || d.Declassify == nil || d.Transcript.Value != "" || d.Transcript.From != "default" || q.Transcript() != "" {
		t.Errorf("empty: %+v %+v", d.Declassify, d.Transcript)
	}
}

// The transcript holds local-only data: it must be inside the zone, where a
// script's read is labelled.
func TestTranscriptMustBeInsideTheZone(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ path, want string }{
		{"out/transcript.jsonl", "outside the local-only zone"},       // writable, public to read? not local_only_read
		{"src/transcript.jsonl", "outside the local-only zone"},       // readable as public data
		{"elsewhere/transcript.jsonl", "outside the local-only zone"}, // nowhere
		{"/tmp/../etc/transcript", "outside the local-only zone"},
		{"", "empty path"},
	} {
		probs := loadProblems(t, w, localOnlyBase+"\n[runtime]\ntranscript = \""+c.path+"\"\n")
		if len(probs) != 1 || probs[0].Key != "[runtime].transcript" || !strings.Contains(probs[0].String(), c.want) {
			t.Errorf("%s: problems %v", c.path, probs)
		}
	}
	// Inside the zone, but denied: refused too.
	denied := strings.Replace(localOnlyBase, `write_allow = ["vault/**", "out/**"]`, `write_allow = ["vault/**", "out/**"]
deny = ["vault/closed/**"]`, 1)
	probs := loadProblems(t, w, denied+"\n[runtime]\ntranscript = \"vault/closed/t.jsonl\"\n")
	if len(probs) != 1 || !strings.Contains(probs[0].String(), "[filesystem].deny") {
		t.Errorf("a denied path inside the zone: %v", probs)
	}
}

// Whether the policy loads does not depend on what the zone holds. A
// symlink in the zone at (or on the way to) the transcript's path, which a
// local-only command can make under a condition on local-only data, would
// otherwise make the next run fail at its start: a public bit. The spelling
// decides; the runner judges the path again before each write (and records
// a failure in the audit log only: runner's
// TestTranscriptFollowsNoSymlinkOutOfTheZone).
func TestTranscriptLoadIgnoresWhatTheZoneHolds(t *testing.T) {
	for _, c := range []struct{ link, target, transcript string }{
		{"vault/link", "out", "vault/link/t.jsonl"},              // a directory on the way
		{"vault/t.jsonl", "out/stolen", "vault/t.jsonl"},         // the file itself
		{"vault/t.jsonl", "/etc/passwd", "vault/t.jsonl"},        // a denied file
		{"vault/t.jsonl", ".aegis/audit.jsonl", "vault/t.jsonl"}, // the audit log
	} {
		w := newWorld(t)
		src := localOnlyBase + "\n[runtime]\ntranscript = \"" + c.transcript + "\"\n"
		clean, err := w.load(src)
		if err != nil {
			t.Fatalf("%s: without the link: %v", c.link, err)
		}
		target := c.target
		if !filepath.IsAbs(target) {
			target = filepath.Join(w.root, target)
		}
		w.symlink(target, c.link)
		p, err := w.load(src)
		if err != nil {
			t.Errorf("%s -> %s: the policy no longer loads: %v", c.link, c.target, err)
			continue
		}
		if p.Transcript() != clean.Transcript() {
			t.Errorf("%s -> %s: transcript %q, want its spelling %q", c.link, c.target, p.Transcript(), clean.Transcript())
		}
	}
}

func TestReleaseBits(t *testing.T) {
	for _, c := range []struct {
		k    ReleaseKind
		max  int64
		want int64
	}{
		{ReleaseIsSet, 0, 1}, {ReleaseEqualsSHA256, 0, 1}, {ReleaseContains, 0, 1}, {ReleaseHasKeys, 0, 1}, {ReleaseStatusOK, 0, 1},
		{ReleaseStatus, 0, 10},
		// count: results 0..max+1, max+2 values.
		{ReleaseCount, 0, 1}, {ReleaseCount, 1, 2}, {ReleaseCount, 2, 2}, {ReleaseCount, 3, 3}, {ReleaseCount, 6, 3},
		{ReleaseCount, 7, 4}, {ReleaseCount, 1000, 10}, {ReleaseCount, 1022, 10}, {ReleaseCount, 1023, 11}, {ReleaseCount, MaxCountMax, 21},
	} {
		if got := ReleaseBits(c.k, c.max); got != c.want {
			t.Errorf("ReleaseBits(%s, %d) = %d, want %d", c.k, c.max, got, c.want)
		}
		// The bits cover every result: 2^bits >= number of results.
		n := int64(2)
		if c.k == ReleaseCount {
			n = c.max + 2
		} else if c.k == ReleaseStatus {
			n = 1000 // 0 (no answer), and any three-digit status: see below
		}
		if int64(1)<<ReleaseBits(c.k, c.max) < n || (ReleaseBits(c.k, c.max) > 1 && int64(1)<<(ReleaseBits(c.k, c.max)-1) >= n) {
			t.Errorf("%s max=%d: %d bits for %d results", c.k, c.max, ReleaseBits(c.k, c.max), n)
		}
	}
}

// A transcript at the audit log is refused even where the zone covers it.
func TestTranscriptIsNotTheAuditLog(t *testing.T) {
	w := newWorld(t)
	probs := loadProblems(t, w, "[filesystem]\nlocal_only_read = [\".aegis/**\"]\nwrite_allow = [\".aegis/**\"]\n[runtime]\ntranscript = \".aegis/audit.jsonl\"\n")
	found := false
	for _, pr := range probs {
		found = found || (pr.Key == "[runtime].transcript" && strings.Contains(pr.Msg, "the policy file or the audit log"))
	}
	if !found {
		t.Errorf("problems %v", probs)
	}
}

// A status release is charged the bits of every answer it can give. Go's
// HTTP client returns any three-digit status line as it is (000 to 999,
// checked here against a loopback server), and 0 stands for no answer: a
// local-only host can pick among 1000 answers, not the 501 of 0 and
// 100..599.
func TestStatusReleaseChargesEveryStatusTheClientReturns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	codes := []string{"999", "042", "600"}
	go func() {
		for _, code := range codes {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == "\r\n" {
					break
				}
			}
			fmt.Fprintf(c, "HTTP/1.1 %s X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code)
			c.Close()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	for _, code := range codes {
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatalf("status %s: %v", code, err)
		}
		resp.Body.Close()
		if want, _ := strconv.Atoi(code); resp.StatusCode != want {
			t.Fatalf("status line %s read as %d", code, resp.StatusCode)
		}
	}
	const answers = 1000 // 0 (no answer, or 000) .. 999
	if b := ReleaseBits(ReleaseStatus, 0); int64(1)<<b < answers {
		t.Errorf("a status release is charged %d bits, but can give %d answers", b, answers)
	}
}

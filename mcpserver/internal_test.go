package mcpserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/internal/suggest"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

func TestClipBoundsTheEncodedSize(t *testing.T) {
	cases := []struct {
		name  string
		input string
	}{
		{"ascii", strings.Repeat("a", 5000)},
		{"control characters cost six bytes each", strings.Repeat("\x00", 5000)},
		{"html-escaped characters", strings.Repeat("<>&", 2000)},
		{"multi-byte runes are not split", strings.Repeat("😀é", 2000)},
		{"invalid UTF-8", strings.Repeat("\xff", 5000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, cut := clip(c.input, 4000, 3000)
			if !cut || !strings.Contains(out, "[aegis-mcp: output truncated: showing") {
				t.Fatalf("no truncation marker in %q", out[max(0, len(out)-80):])
			}
			enc, _ := json.Marshal(out)
			if len(enc) > 3000 {
				t.Errorf("encoded size %d exceeds the 3000-byte budget", len(enc))
			}
			kept := out[:strings.LastIndex(out, "\n[aegis-mcp")]
			if !strings.HasPrefix(c.input, kept) {
				t.Errorf("the kept part is not a prefix of the input")
			}
			if utf8.ValidString(c.input) && !utf8.ValidString(kept) {
				t.Errorf("cut inside a rune")
			}
		})
	}
	if out, cut := clip("short", 4000, 3000); cut || out != "short" {
		t.Errorf("short text must pass unchanged, got %q", out)
	}
}

func TestJSONLenMatchesEncodingJSON(t *testing.T) {
	for r := rune(0); r < 0x3000; r++ {
		s := string(r)
		enc, _ := json.Marshal(s)
		if got := jsonLen(r, utf8.RuneLen(r)); got != len(enc)-2 {
			t.Fatalf("rune %U: jsonLen %d, encoding/json %d", r, got, len(enc)-2)
		}
	}
	enc, _ := json.Marshal("\xff")
	if got := jsonLen(utf8.RuneError, 1); got != len(enc)-2 {
		t.Errorf("invalid byte: jsonLen %d, encoding/json %d", got, len(enc)-2)
	}
}

func TestSniffID(t *testing.T) {
	cases := []struct {
		name, head, tail, want string
	}{
		{"go sdk order", `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"x":"aaaa`, ``, `42`},
		{"id first", `{"id":"abc","jsonrpc":"2.0","method":"x","params":{"s":"aa`, ``, `"abc"`},
		{"ts sdk order", `{"method":"tools/call","params":{"s":"aaa`, `aaaa"}},"jsonrpc":"2.0","id":7}`, `7`},
		{"negative id last", `{"method":"m","params":{"s":"a`, `a"},"id":-3,"jsonrpc":"2.0"}`, `-3`},
		{"nested id is not the request's", `{"method":"m","params":{"s":"a`, `a","id":5}}`, ``},
		{"id after a huge value", `{"jsonrpc":"2.0","method":"m","params":{"s":"aaa`, `aa"}}`, ``},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"m","params":"a`, ``, ``},
		{"garbage", `xxxx`, `yyyy`, ``},
	}
	for _, c := range cases {
		got := string(sniffID([]byte(c.head), []byte(c.tail)))
		if got != c.want {
			t.Errorf("%s: sniffID = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestIDKeyCanonicalises(t *testing.T) {
	same := [][2]string{
		{`"A"`, `"\u0041"`},
		{`7`, `7`},
		{`-0`, `0`},
		{`18446744073709551616`, `18446744073709551616`},
	}
	for _, p := range same {
		a, okA := idKey(json.RawMessage(p[0]))
		b, okB := idKey(json.RawMessage(p[1]))
		if !okA || !okB || a != b {
			t.Errorf("idKey(%s)=%q, idKey(%s)=%q: want equal", p[0], a, p[1], b)
		}
	}
	if a, _ := idKey(json.RawMessage(`"7"`)); a == "n:7" {
		t.Errorf("the string \"7\" and the number 7 are different ids")
	}
	for _, bad := range []string{`null`, `1.5`, `true`, `{}`, ``} {
		if _, ok := idKey(json.RawMessage(bad)); ok {
			t.Errorf("idKey(%s) should be unusable", bad)
		}
	}
}

func TestNegotiateNeverEchoesUnknownVersions(t *testing.T) {
	for _, v := range []string{"2026-07-28", "2099-01-01", "", "latest", "2025-11-25 "} {
		if got := negotiate(v); got != "2025-11-25" {
			t.Errorf("negotiate(%q) = %q", v, got)
		}
	}
}

func TestNearest(t *testing.T) {
	names := toolNames()
	for in, want := range map[string]string{"aegis_rnu": "aegis_run", "aegis_fs_raed": "aegis_fs_read", "Aegis_Policy": "aegis_policy", "rm -rf": "", strings.Repeat("x", 10000): ""} {
		if got := suggest.Nearest(in, names); got != want {
			t.Errorf("suggest.Nearest(%.20q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseConfirmMode(t *testing.T) {
	for _, ok := range []string{"elicit", "auto-allow", "auto-deny"} {
		if _, err := ParseConfirmMode(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "auto", "yes", "ELICIT"} {
		if _, err := ParseConfirmMode(bad); err == nil {
			t.Errorf("%q should be rejected", bad)
		}
	}
}

func TestToolTableInvariants(t *testing.T) {
	seen := map[string]bool{}
	for _, tool := range tools() {
		if seen[tool.name] {
			t.Errorf("duplicate tool %s", tool.name)
		}
		seen[tool.name] = true
		if tool.kind == toolScript {
			for _, p := range tool.params {
				global, ok := tool.inputs[p.name]
				if !ok || !strings.Contains(tool.script, global) {
					t.Errorf("%s: argument %s is not wired to a global the script uses", tool.name, p.name)
				}
			}
			if tool.capability == "" {
				t.Errorf("%s: a wrapper must name the capability it exercises", tool.name)
			}
		}
	}
}

// The cheat sheet in aegis_run's description must name every member of
// every predeclared module, so a builtin added later cannot be missing.
func TestScriptAPICheatSheetCoversTheBuiltins(t *testing.T) {
	for name, v := range (&builtins.Host{}).Modules() {
		m, ok := v.(*starlarkstruct.Module)
		if !ok {
			if !strings.Contains(scriptAPI, name+"(") {
				t.Errorf("the cheat sheet does not show %s(...)", name)
			}
			continue
		}
		for member := range m.Members {
			// net.http_post/http_put/http_patch(...) share one entry.
			if !strings.Contains(scriptAPI, name+"."+member) && !strings.Contains(scriptAPI, "/"+member+"/") && !strings.Contains(scriptAPI, "/"+member+"(") {
				t.Errorf("the cheat sheet does not show %s.%s", name, member)
			}
		}
	}
	desc := tools()[0].description
	if tools()[0].name != "aegis_run" || !strings.Contains(desc, scriptAPI) {
		t.Fatalf("aegis_run's description must carry the cheat sheet")
	}
	// What Claude Code shows the model of a successful call is the
	// structuredContent, so the description names its fields.
	for _, field := range []string{"stdout", "exit_kind", "error"} {
		if !strings.Contains(desc, field) {
			t.Errorf("aegis_run's description does not mention %s", field)
		}
	}
}

func TestPolicyBriefFitsTheBudget(t *testing.T) {
	big := PolicySummary{Source: "/p/aegis.toml", Name: "n", Description: strings.Repeat("é", 400),
		Capabilities: []string{"fs.read", "subprocess.exec"}, RequiresApproval: []string{"subprocess.exec"}}
	for i := 0; i < 6; i++ {
		var entries []string
		for j := 0; j < 200; j++ {
			entries = append(entries, fmt.Sprintf("some/long/path/pattern-%d-%d/**", i, j))
		}
		big.Rules = append(big.Rules, RuleList{Key: fmt.Sprintf("[filesystem].read_allow%d", i), Entries: entries})
	}
	big.Rules = append(big.Rules, RuleList{Key: "[subprocess].deny_commands", Entries: []string{"sh", "bash", "zsh", "dash", "curl", "wget"}})
	b := PolicyBrief(big)
	var got struct {
		Rules   map[string][]string
		Omitted map[string]int
		More    string
	}
	if len(b) > maxPolicySummaryBytes || json.Unmarshal(b, &got) != nil || !utf8.Valid(b) {
		t.Fatalf("%d bytes, valid %v: %s", len(b), json.Valid(b), b)
	}
	for key, n := range got.Omitted {
		if len(got.Rules[key])+n != map[bool]int{true: 6, false: 200}[key == "[subprocess].deny_commands"] {
			t.Errorf("%s: %d shown + %d omitted does not add up", key, len(got.Rules[key]), n)
		}
	}
	if len(got.Omitted) == 0 || !strings.Contains(got.More, "omitted") {
		t.Errorf("an abridged summary must say so: %s", b)
	}
	small := PolicyBrief(PolicySummary{Source: "s", Rules: []RuleList{{Key: "[filesystem].read_allow", Entries: []string{"src/**"}}}})
	if strings.Contains(string(small), "omitted") {
		t.Errorf("nothing was left out, so nothing should be said to be: %s", small)
	}
}

// A long description is cut to under 200 bytes at a rune boundary, and says
// so; JSON would otherwise turn half a rune into U+FFFD.
func TestPolicyBriefCutsTheDescriptionAtARune(t *testing.T) {
	b := PolicyBrief(PolicySummary{Source: "s", Description: strings.Repeat("é", 400)})
	var got struct{ Description string }
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if d := got.Description; len(d) > 200 || !strings.HasSuffix(d, "é...") || strings.ContainsRune(d, utf8.RuneError) {
		t.Errorf("description %q (%d bytes)", d, len(d))
	}
}

package mcpserver

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func mergeDocs(t *testing.T, existing, desired string, rules mergeRules) (string, []string) {
	t.Helper()
	var e any
	if existing != "" {
		var err error
		if e, err = decodeOrdered([]byte(existing)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := decodeOrdered([]byte(desired))
	if err != nil {
		t.Fatal(err)
	}
	out, changes := merge(e, d, rules)
	b, err := encodeOrdered(out)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), ""), changes
}

func TestMergeKeepsTheUsersFile(t *testing.T) {
	rules := mergeRules{setPaths: []string{"p.allow", "p.deny"}, opposed: [][2]string{{"p.allow", "p.deny"}}}
	got, changes := mergeDocs(t,
		`{"z": 1.50, "url": "https://x/?a=1&b=<2>", "p": {"deny": ["X"], "allow": ["Bash", "keep"], "mode": "m"}, "args": ["a", "b"]}`,
		`{"args": ["c"], "p": {"allow": ["mine"], "deny": ["Bash", "X"]}, "new": {"k": true}}`, rules)
	want := `{"z":1.50,"url":"https://x/?a=1&b=<2>","p":{"deny":["X","Bash"],"allow":["keep","mine"],"mode":"m"},"args":["c"],"new":{"k":true}}`
	if got != want {
		t.Errorf("merged:\n got %s\nwant %s", got, want)
	}
	for _, c := range []string{`~ args: ["a","b"] -> ["c"]`, `+ p.allow: "mine"`, `+ p.deny: "Bash"`, `+ new`,
		`- p.allow: "Bash" (this configuration puts it in p.deny)`} {
		if !slices.Contains(changes, c) {
			t.Errorf("changes lack %q: %q", c, changes)
		}
	}
	// Merging the result again changes nothing.
	again, changes := mergeDocs(t, want, `{"args": ["c"], "p": {"allow": ["mine"], "deny": ["Bash", "X"]}, "new": {"k": true}}`, rules)
	if again != want || len(changes) != 0 {
		t.Errorf("not idempotent: %s %q", again, changes)
	}
}

func TestMergeReplacesWrongTypes(t *testing.T) {
	got, changes := mergeDocs(t, `{"mcp": "oops", "n": {"x": 1}}`, `{"mcp": {"aegis": {"command": ["a"]}}, "n": 2}`, mergeRules{})
	if got != `{"mcp":{"aegis":{"command":["a"]}},"n":2}` || len(changes) != 3 {
		t.Errorf("%s %q", got, changes)
	}
}

func TestKeyPath(t *testing.T) {
	for path, want := range map[string]string{
		"a b":                         `a.b`,
		"projects /home/u/p hasTrust": `projects["/home/u/p"].hasTrust`,
		"$schema":                     `$schema`,
	} {
		if got := keyPath(strings.Fields(path)); got != want {
			t.Errorf("keyPath(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestDecodeOrderedRejectsTrailingData(t *testing.T) {
	for _, bad := range []string{`{} {}`, `{"a":1`, `// c` + "\n{}", ``} {
		if _, err := decodeOrdered([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// A long value in a change line is cut at a rune boundary: the line is
// printed on a terminal and carried in --json, where half a rune would
// show as garbage or U+FFFD.
func TestShortCutsAtARune(t *testing.T) {
	for _, v := range []any{strings.Repeat("é", 100), strings.Repeat("€", 100), map[string]any{"k": strings.Repeat("😀", 40)}} {
		s := short(v)
		if len(s) > 80 || !strings.HasSuffix(s, "...") || !utf8.ValidString(s) {
			t.Errorf("short(%v) = %q", v, s)
		}
	}
}

package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3},
		{"read_allow", "read_allow", 0},
		{"read_alow", "read_allow", 1},
		{"raed_allow", "read_allow", 2},
		{"deny_var", "deny_vars", 1},
		{"kitten", "sitting", 3},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance is not symmetric for %q, %q: %d", c.a, c.b, got)
		}
	}
	huge := strings.Repeat("x", 10000)
	if got := Distance(huge, "x"); got != 10000 {
		t.Errorf("a huge input must be reported far away, got %d", got)
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"read_allow", "read_deny", "write_allow", "deny", "filesystem", "claude-code", "codex", "aegis_run", "aegis_explain", "WebSearch"}
	for _, c := range []struct{ in, want string }{
		{"read_alow", "read_allow"},    // one edit
		{"raed_allow", "read_allow"},   // a transposition is two edits
		{"denny", "deny"},              // short names still get two edits
		{"filesystm", "filesystem"},    // top-level key
		{"aegis_rnu", "aegis_run"},     // MCP tool
		{"claud", "claude-code"},       // a truncated name
		{"websearch", "WebSearch"},     // case is ignored
		{"READ_ALLOW", "read_allow"},   // and a name differing only in case is suggested
		{"read_allow", ""},             // the name itself is not a suggestion
		{"zzzzzz", ""},                 // nothing close
		{"cl", ""},                     // a two-letter prefix is no evidence
		{"xyz_allow_read", ""},         // too many edits for its length
		{"", ""},                       // nothing typed
		{strings.Repeat("a", 300), ""}, // huge input
	} {
		if got := Nearest(c.in, keys); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// The limit is max(2, len/3): a 12-byte name gets 4 edits, not 5.
	if got := Nearest("abcdefghijkl", []string{"abcdefghWXYZ"}); got != "abcdefghWXYZ" {
		t.Errorf("4 edits of 12 bytes: got %q", got)
	}
	if got := Nearest("abcdefghijkl", []string{"abcdefgVWXYZ"}); got != "" {
		t.Errorf("5 edits of 12 bytes: got %q", got)
	}
	// Ties go to the alphabetically first, whatever the order given.
	for _, order := range [][]string{{"abd", "abc"}, {"abc", "abd"}} {
		if got := Nearest("abx", order); got != "abc" {
			t.Errorf("tie in %q: got %q", order, got)
		}
	}
	if got, want := DidYouMean("denny", keys), `did you mean "deny"?`; got != want {
		t.Errorf("DidYouMean = %q, want %q", got, want)
	}
	if got := DidYouMean("zzzzzz", keys); got != "" {
		t.Errorf("DidYouMean with nothing close = %q", got)
	}
}

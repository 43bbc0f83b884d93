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

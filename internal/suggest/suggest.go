// Package suggest finds the name a misspelt one most plausibly meant, so
// that errors can say "did you mean …?" (policy keys, capability names,
// CLI commands, MCP tool and host names). Every caller uses Nearest, so a
// typo is recognised by one rule everywhere.
package suggest

import (
	"fmt"
	"strings"
)

// maxLen bounds the inputs: suggestions are for keys and names, and a huge
// string is no typo (nor worth a quadratic table).
const maxLen = 256

// Distance is the Levenshtein edit distance between a and b, in bytes.
// Inputs longer than 256 bytes are reported as far apart as their lengths.
func Distance(a, b string) int {
	if len(a) > maxLen || len(b) > maxLen {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns the candidate that s is most plausibly a typo of, or ""
// when none is close enough. Case is ignored. A candidate is close enough
// when its edit distance from s is at most max(2, len(s)/3), or when s, 3
// bytes or longer, is the start of it (a truncated name: "claude" for
// "claude-code" counts as distance 1). The closest wins; ties go to the
// alphabetically first. A candidate equal to s is never suggested.
func Nearest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	limit := max(2, len(s)/3)
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == s {
			continue
		}
		lc := strings.ToLower(c)
		d := Distance(ls, lc)
		if len(ls) >= 3 && strings.HasPrefix(lc, ls) {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// DidYouMean is Nearest as a phrase, `did you mean "x"?`, or "".
func DidYouMean(s string, candidates []string) string {
	if n := Nearest(s, candidates); n != "" {
		return fmt.Sprintf("did you mean %q?", n)
	}
	return ""
}

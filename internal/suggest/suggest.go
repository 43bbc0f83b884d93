// Package suggest measures how far a misspelt name is from the names that
// exist, so that errors can say "did you mean …?" (policy keys, capability
// names, MCP tool and host names). Callers choose their own threshold.
package suggest

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

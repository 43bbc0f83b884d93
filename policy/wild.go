package policy

// wildMatch reports whether s matches pattern, where '*' matches any run of
// bytes (including '.' and '/'), '?' matches one byte and '\' escapes the
// next byte. It is the matcher for host globs, environment variable globs
// and deny_args tokens, where no character is a separator.
//
// It runs in O(len(pattern)·len(s)) time with no recursion or allocation,
// so no input can make it slow or deep.
func wildMatch(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starI = p, i
				p++
				continue
			case '?':
				p++
				i++
				continue
			case '\\':
				if p+1 < len(pattern) && pattern[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			default:
				if c == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// hasWild reports whether s contains an unescaped wildcard.
func hasWild(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?':
			return true
		case '\\':
			i++
		}
	}
	return false
}

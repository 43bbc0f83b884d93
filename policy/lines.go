package policy

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// lineIndex maps TOML keys to the line that defines them. The TOML library
// records key positions but does not export them, so the index is rebuilt by
// walking the keys in document order and finding each one at or after the
// previous one's line. It only feeds error messages: a miss costs a line
// number, never a decision.
type lineIndex struct {
	lines []string
	keys  map[string]int // dotted key -> 1-based line
}

func newLineIndex(data []byte, keys []toml.Key) *lineIndex {
	ix := &lineIndex{lines: strings.Split(string(data), "\n"), keys: make(map[string]int, len(keys))}
	cursor := 0
	for _, k := range keys {
		if len(k) == 0 {
			continue
		}
		last := k[len(k)-1]
		found := -1
		for i := cursor; i < len(ix.lines); i++ {
			if lineDefines(ix.lines[i], last) {
				found = i
				break
			}
		}
		if found < 0 {
			continue
		}
		cursor = found
		ix.keys[k.String()] = found + 1
	}
	return ix
}

// line returns the line of the dotted key path, falling back to its nearest
// known parent.
func (ix *lineIndex) line(path ...string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := ix.keys[toml.Key(path[:n]).String()]; ok {
			return l
		}
	}
	return 0
}

// elementLine finds the line of a string element of the array at path, by
// looking for its quoted text from the key's line on.
func (ix *lineIndex) elementLine(value string, path ...string) int {
	start := ix.line(path...)
	if start == 0 {
		return 0
	}
	for _, q := range []string{`"` + value + `"`, `'` + value + `'`} {
		for i := start - 1; i < len(ix.lines) && i < start-1+200; i++ {
			if strings.Contains(ix.lines[i], q) {
				return i + 1
			}
		}
	}
	return start
}

// lineDefines reports whether a source line defines key name (as a bare or
// quoted key, in a header, a dotted key or an inline table).
func lineDefines(line, name string) bool {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return false
	}
	for _, form := range []string{name, `"` + name + `"`, `'` + name + `'`} {
		if form == "" {
			continue
		}
		off := 0
		for off < len(t) {
			i := strings.Index(t[off:], form)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if i > 0 && !strings.ContainsRune(" \t[.{,\"'", rune(t[i-1])) {
				continue
			}
			rest := strings.TrimLeft(t[i+len(form):], " \t")
			if rest == "" {
				continue
			}
			switch rest[0] {
			case '=', '.', ']':
				return true
			}
		}
	}
	return false
}

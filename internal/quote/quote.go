// Package quote renders text a script chose (paths, command lines, output)
// for a person to read on a terminal and, for command lines, to paste into
// a shell. It is the one place that decides which characters are shown as
// themselves.
//
// The invariant: nothing these functions return makes a terminal act.
// Control characters (ESC starts an escape sequence), C1 controls, format
// characters (bidi overrides, zero-width spaces), line and paragraph
// separators and invalid UTF-8 come out as escapes, never raw.
package quote

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Shown reports whether a terminal shows r as itself: a printable rune or
// the space. Tab and newline are not (Visible escapes them; VisibleText
// keeps them).
func Shown(r rune) bool {
	return r != utf8.RuneError && (r == ' ' || unicode.IsPrint(r))
}

// Visible returns s with every rune that is not Shown replaced by its Go
// escape (\x1b, \u202e, \n), and each byte of invalid UTF-8 by \xNN.
// Printable text, spaces included, is kept; s comes back unchanged (and
// unallocated) when it has nothing to escape.
func Visible(s string) string {
	if allShown(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case Shown(r):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError: // a real U+FFFD, told apart from bad bytes
			b.WriteString(`\ufffd`)
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// VisibleText is Visible for a message of several lines: newlines and tabs
// are kept, everything else Visible escapes is escaped.
func VisibleText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = Visible(p)
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return strings.Join(lines, "\n")
}

func allShown(s string) bool {
	for _, r := range s {
		if !Shown(r) {
			return false
		}
	}
	return true
}

const hex = "0123456789abcdef"

// Argv renders a command line as a POSIX shell would read it back into the
// same argv: each argument as Arg quotes it, separated by spaces. Distinct
// argvs render distinctly, so the result can key an approval. A first word
// that a shell would take for an assignment (FOO=bar), a job (%1) or a
// reserved word (if, time) is quoted too, so that pasting it runs the
// program.
func Argv(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && plain(a) && (strings.ContainsRune(a, '=') || a[0] == '%' || reserved[a]) {
			b.WriteString("'" + a + "'")
			continue
		}
		b.WriteString(Arg(a))
	}
	return b.String()
}

// Arg quotes one argument for a POSIX shell, readable and terminal-safe:
//
//   - as it is when it is made only of ASCII letters, digits and
//     _@%+=:,./- and does not start with = (zsh expands =cmd);
//   - in single quotes when every rune is Shown, each single quote in
//     it written as quote, backslash, quote, quote;
//   - otherwise in ANSI-C quotes $'…', where each byte that is not Shown is
//     \xNN (\n, \t, \r and the other C escapes by name), and \ and ' are
//     escaped. bash, zsh, ksh, busybox sh and POSIX.1-2024 shells read
//     these back byte for byte, whatever the locale.
func Arg(s string) string {
	if plain(s) {
		return s
	}
	if allShown(s) {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case Shown(r):
			b.WriteString(s[i : i+size])
		default: // invalid UTF-8 is a RuneError of size 1: one byte
			for j := i; j < i+size; j++ {
				writeByteEscape(&b, s[j])
			}
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

func writeByteEscape(b *strings.Builder, c byte) {
	switch c {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\t':
		b.WriteString(`\t`)
	case '\n':
		b.WriteString(`\n`)
	case '\v':
		b.WriteString(`\v`)
	case '\f':
		b.WriteString(`\f`)
	case '\r':
		b.WriteString(`\r`)
	default:
		b.WriteString(`\x`)
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
}

// plain reports whether s needs no quoting anywhere in a command line.
func plain(s string) bool {
	if s == "" || s[0] == '=' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_@%+=:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// reserved are the shell's reserved words made of plain characters: as the
// first word of a command line, each would be read as syntax.
var reserved = map[string]bool{
	"case": true, "coproc": true, "do": true, "done": true, "elif": true,
	"else": true, "esac": true, "fi": true, "for": true, "function": true,
	"if": true, "in": true, "select": true, "then": true, "time": true,
	"until": true, "while": true,
}

// Prefix returns the longest start of s of at most n bytes that does not
// end inside a UTF-8 sequence, and whether it cut anything: what every
// message that shows the beginning of a long text keeps. Invalid UTF-8 is
// cut where n falls.
func Prefix(s string, n int) (string, bool) {
	n = max(n, 0)
	if len(s) <= n {
		return s, false
	}
	cut := n
	for i := 1; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = n // no rune starts within reach: the bytes are invalid anyway
	}
	return s[:cut], true
}

// This file is an Aegis addition, and changes no label: the format specs of
// Python's str.format ("{:>8}", "{:.2f}", "{:5d}", "{:,}", "{:08.3f}",
// "{!r:>10}") and the flags, width and precision of % ("%5d", "%-8s",
// "%.2f", "%05.1f", "%+d", "%#x"). Upstream Starlark rejects both ("format
// spec features not supported", "unknown conversion %5"), and agents write
// them all the time. The text is made from the same arguments as before, so
// format and % keep their label rules (J for format, ruleFormat; all the
// operands for %). Widths and precisions are at most maxFormatWidth, and the
// allocation checks count them (formatSpecBound, percentSpecBound).
//
// Not supported, with an error that says so: nested fields ("{:{w}}"), a
// width or precision from the arguments ("%*d"), the 'n' and 'z' options.

package starlark

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxFormatWidth bounds a width or precision: "%1000000000d" must fail
// cleanly rather than allocate.
const maxFormatWidth = 1000

// fmtSpec is one parsed format spec.
type fmtSpec struct {
	fill  rune // padding character
	align byte // '<', '>', '^', '=' or 0 (the default of the value's kind)
	sign  byte // '+', '-', ' ' or 0
	alt   bool // '#': 0b/0o/0x prefixes
	zero  bool // '0' before the width: pad numbers with zeros after the sign
	width int  // -1: none
	group byte // ',' or '_' or 0: digit grouping
	prec  int  // -1: none
	typ   byte // presentation type, 0 for none
}

const formatSpecHelp = "supported: [[fill]align][sign][#][0][width][,|_][.precision][type] with align one of < > ^ =, " +
	"sign one of + - space, type one of s d b o x X c e E f F g G %"

// parseFormatSpec parses the spec after ':' in a str.format field.
func parseFormatSpec(spec string) (fmtSpec, error) {
	s := fmtSpec{fill: ' ', width: -1, prec: -1}
	rest := spec
	bad := func(why string) (fmtSpec, error) {
		return fmtSpec{}, fmt.Errorf("format: %s in spec %q (%s)", why, spec, formatSpecHelp)
	}
	isAlign := func(c byte) bool { return strings.IndexByte("<>=^", c) >= 0 }
	if r, size := utf8.DecodeRuneInString(rest); size > 0 && size < len(rest) && isAlign(rest[size]) {
		s.fill, s.align = r, rest[size]
		rest = rest[size+1:]
	} else if rest != "" && isAlign(rest[0]) {
		s.align = rest[0]
		rest = rest[1:]
	}
	if rest != "" && strings.IndexByte("+- ", rest[0]) >= 0 {
		s.sign = rest[0]
		rest = rest[1:]
	}
	if rest != "" && rest[0] == 'z' {
		return bad("the 'z' option is not supported")
	}
	if rest != "" && rest[0] == '#' {
		s.alt = true
		rest = rest[1:]
	}
	if rest != "" && rest[0] == '0' {
		s.zero = true
		rest = rest[1:]
	}
	var err error
	if s.width, rest, err = formatNumber(rest, "width"); err != nil {
		return fmtSpec{}, err
	}
	if rest != "" && (rest[0] == ',' || rest[0] == '_') {
		s.group = rest[0]
		rest = rest[1:]
	}
	if rest != "" && rest[0] == '.' {
		if s.prec, rest, err = formatNumber(rest[1:], "precision"); err != nil {
			return fmtSpec{}, err
		}
		if s.prec < 0 {
			return bad("a '.' without a precision")
		}
	}
	if rest != "" {
		if len(rest) > 1 || strings.IndexByte("sdboxXceEfFgG%", rest[0]) < 0 {
			if rest[0] == '{' {
				return bad("nested fields are not supported")
			}
			if rest[0] == 'n' {
				return bad("the 'n' type is not supported")
			}
			return bad(fmt.Sprintf("unknown type or trailing text %q", rest))
		}
		s.typ = rest[0]
	}
	return s, nil
}

// formatNumber reads the decimal number at the start of s: -1 if there is
// none. It fails beyond maxFormatWidth.
func formatNumber(s, what string) (int, string, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, s, nil
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n > maxFormatWidth {
		return 0, "", fmt.Errorf("format: %s %s is too large (at most %d)", what, s[:i], maxFormatWidth)
	}
	return n, s[i:], nil
}

// parsePercentSpec parses the flags, width, precision and length modifier
// of a % conversion, format being the text after '%' (and after a
// "(key)"). It returns the spec, the text from the conversion character on,
// and whether there was anything to parse: without, upstream's code
// formats the conversion as before.
func parsePercentSpec(format string) (fmtSpec, string, bool, error) {
	s := fmtSpec{fill: ' ', align: '>', width: -1, prec: -1}
	i := 0
flags:
	for ; i < len(format); i++ {
		switch format[i] {
		case '-':
			s.align = '<'
		case '+':
			s.sign = '+'
		case ' ':
			if s.sign == 0 {
				s.sign = ' '
			}
		case '#':
			s.alt = true
		case '0':
			s.zero = true
		default:
			break flags
		}
	}
	rest := format[i:]
	if rest != "" && rest[0] == '*' {
		return fmtSpec{}, "", false, fmt.Errorf("format: a width or precision from the arguments (%%*d) is not supported: write the number into the format")
	}
	var err error
	if s.width, rest, err = formatNumber(rest, "width"); err != nil {
		return fmtSpec{}, "", false, err
	}
	if rest != "" && rest[0] == '.' {
		if strings.HasPrefix(rest[1:], "*") {
			return fmtSpec{}, "", false, fmt.Errorf("format: a width or precision from the arguments (%%.*f) is not supported: write the number into the format")
		}
		if s.prec, rest, err = formatNumber(rest[1:], "precision"); err != nil {
			return fmtSpec{}, "", false, err
		}
		if s.prec < 0 {
			s.prec = 0 // Python: "%.f" is precision 0
		}
	}
	for rest != "" && strings.IndexByte("hlL", rest[0]) >= 0 {
		rest = rest[1:] // length modifiers: accepted and ignored, as in Python
	}
	any := len(rest) != len(format)
	if s.align == '<' {
		s.zero = false // "%-05d": the '-' wins
	}
	return s, rest, any, nil
}

// writePercent formats arg for the % conversion c under spec s.
func (s *fmtSpec) writePercent(buf *strings.Builder, arg Value, c byte) error {
	switch c {
	case 's', 'r':
		var text string
		if str, ok := AsString(arg); ok && c == 's' {
			text = str
		} else {
			text = strOrRepr(arg, c == 'r')
		}
		s.zero = false
		s.padText(buf, "", s.truncate(text))
		return nil
	case 'd', 'i', 'o', 'x', 'X':
		i, err := NumberToInt(arg)
		if err != nil {
			return fmt.Errorf("%%%c format requires integer: %v", c, err)
		}
		typ := c
		if c == 'i' {
			typ = 'd'
		}
		sign, digits := s.intDigits(i, typ)
		if s.prec > len(digits) {
			digits = strings.Repeat("0", s.prec-len(digits)) + digits
		}
		s.padNumber(buf, sign, s.prefix(typ), digits)
		return nil
	case 'e', 'f', 'g', 'E', 'F', 'G':
		f, ok := AsFloat(arg)
		if !ok {
			return fmt.Errorf("%%%c format requires float, not %s", c, arg.Type())
		}
		sign, body := s.floatDigits(f, c)
		s.padNumber(buf, sign, "", body)
		return nil
	case 'c':
		var r rune
		switch arg := arg.(type) {
		case Int:
			x, err := AsInt32(arg)
			if err != nil || x < 0 || x > utf8.MaxRune {
				return fmt.Errorf("%%c format requires a valid Unicode code point, got %s", arg)
			}
			r = rune(x)
		case String:
			x, size := utf8.DecodeRuneInString(string(arg))
			if size != len(arg) || len(arg) == 0 {
				return fmt.Errorf("%%c format requires a single-character string")
			}
			r = x
		default:
			return fmt.Errorf("%%c format requires int or single-character string, not %s", arg.Type())
		}
		s.zero = false
		s.padText(buf, "", string(r))
		return nil
	case '%':
		return fmt.Errorf("format: %%%% takes no flags, width or precision")
	}
	return fmt.Errorf("unknown conversion %%%c (supported: s r d i o x X e E f F g G c, with flags - + space # 0, a width and a .precision)", c)
}

// writeFormatSpec formats arg for a str.format field with conversion conv
// ("s" or "r") and spec.
func writeFormatSpec(buf *strings.Builder, arg Value, conv, spec string) error {
	switch conv {
	case "s":
	case "r":
		arg = String(strOrRepr(arg, true))
	default:
		return fmt.Errorf("format: unknown conversion %q", conv)
	}
	s, err := parseFormatSpec(spec)
	if err != nil {
		return err
	}
	typ := s.typ
	if typ == 0 {
		switch arg.(type) {
		case Int:
			typ = 'd'
		case Float:
			typ = 'n' // internal: Python's float presentation with no type
		}
	}
	switch typ {
	case 'd', 'b', 'o', 'x', 'X', 'c':
		i, ok := arg.(Int)
		if !ok {
			hint := ""
			if _, isFloat := arg.(Float); isFloat {
				hint = ": use {:.0f}, or int(x)"
			}
			return fmt.Errorf("format: {:%c} needs an int, not %s%s", typ, arg.Type(), hint)
		}
		if s.prec >= 0 {
			return fmt.Errorf("format: a precision is not allowed with an int ({:%c})", typ)
		}
		if typ == 'c' {
			if s.group != 0 || s.sign != 0 || s.alt {
				return fmt.Errorf("format: {:c} takes no sign, '#' or grouping")
			}
			x, err := AsInt32(i)
			if err != nil || x < 0 || x > utf8.MaxRune {
				return fmt.Errorf("format: {:c} needs a valid Unicode code point, got %s", i)
			}
			s.padText(buf, "", string(rune(x)))
			return nil
		}
		if s.group == ',' && typ != 'd' {
			return fmt.Errorf("format: ',' grouping is for decimal numbers; use '_' with {:%c}", typ)
		}
		sign, digits := s.intDigits(i, typ)
		s.padNumber(buf, sign, s.prefix(typ), digits)
		return nil
	case 'e', 'E', 'f', 'F', 'g', 'G', '%', 'n':
		var f float64
		switch x := arg.(type) {
		case Float:
			f = float64(x)
		case Int:
			f = float64(x.Float())
		default:
			return fmt.Errorf("format: {:%c} needs a number, not %s", typ, arg.Type())
		}
		if s.alt {
			return fmt.Errorf("format: '#' is not supported with a float")
		}
		if s.group == '_' {
			return fmt.Errorf("format: '_' grouping is not supported with a float; use ','")
		}
		sign, body := s.floatDigits(f, typ)
		s.padNumber(buf, sign, "", body)
		return nil
	}
	// 's' or no type: text.
	if s.sign != 0 || s.alt || s.group != 0 {
		return fmt.Errorf("format: a sign, '#' or grouping needs a number, not %s", arg.Type())
	}
	if s.align == '=' {
		return fmt.Errorf("format: '=' alignment needs a number, not %s", arg.Type())
	}
	text, ok := AsString(arg)
	if !ok {
		text = strOrRepr(arg, false)
	}
	if s.zero && s.align == 0 {
		s.fill = '0'
	}
	s.zero = false
	s.padText(buf, "", s.truncate(text))
	return nil
}

// strOrRepr is str(x), or repr(x).
func strOrRepr(x Value, repr bool) string {
	var b strings.Builder
	if s, ok := x.(String); ok && !repr {
		return string(s)
	}
	writeValue(&b, x, nil)
	return b.String()
}

// truncate applies a precision to text: at most prec characters.
func (s *fmtSpec) truncate(text string) string {
	if s.prec < 0 {
		return text
	}
	n := 0
	for i := range text {
		if n == s.prec {
			return text[:i]
		}
		n++
	}
	return text
}

// signOf returns the sign to write for a number.
func (s *fmtSpec) signOf(negative bool) string {
	switch {
	case negative:
		return "-"
	case s.sign == '+':
		return "+"
	case s.sign == ' ':
		return " "
	}
	return ""
}

// intDigits returns the sign and the digits of i in the base of typ, with
// grouping.
func (s *fmtSpec) intDigits(i Int, typ byte) (string, string) {
	x := i.BigInt()
	neg := x.Sign() < 0
	x = new(big.Int).Abs(x)
	base, every := 10, 3
	switch typ {
	case 'b':
		base, every = 2, 4
	case 'o':
		base, every = 8, 4
	case 'x', 'X':
		base, every = 16, 4
	}
	digits := x.Text(base)
	if typ == 'X' {
		digits = strings.ToUpper(digits)
	}
	if s.group != 0 {
		digits = groupDigits(digits, s.group, every)
	}
	return s.signOf(neg), digits
}

// prefix is the '#' prefix of typ: Python's 0b, 0o, 0x, 0X.
func (s *fmtSpec) prefix(typ byte) string {
	if !s.alt {
		return ""
	}
	switch typ {
	case 'b':
		return "0b"
	case 'o':
		return "0o"
	case 'x':
		return "0x"
	case 'X':
		return "0X"
	}
	return ""
}

// floatDigits returns the sign and the text of f for presentation typ
// ('n': Python's float with no type).
func (s *fmtSpec) floatDigits(f float64, typ byte) (string, string) {
	sign := s.signOf(math.Signbit(f) && !math.IsNaN(f))
	f = math.Abs(f)
	upper := typ == 'E' || typ == 'F' || typ == 'G'
	if math.IsInf(f, 0) || math.IsNaN(f) {
		body := "inf"
		if math.IsNaN(f) {
			body = "nan"
		}
		if upper {
			body = strings.ToUpper(body)
		}
		if typ == '%' {
			body += "%"
		}
		return sign, body
	}
	prec := s.prec
	var body string
	switch typ {
	case 'n':
		if prec < 0 {
			var b strings.Builder
			Float(f).format(&b, 'g') // str(f): the shortest text that reads back
			body = b.String()
		} else {
			body = strconv.FormatFloat(f, 'g', max(prec, 1), 64)
			if !strings.ContainsAny(body, "e.") {
				body += ".0"
			}
		}
	case '%':
		if prec < 0 {
			prec = 6
		}
		body = strconv.FormatFloat(f*100, 'f', prec, 64) + "%"
	default:
		if prec < 0 {
			prec = 6
		}
		c := typ | 0x20 // strconv knows e, f, g; upper case below
		if c == 'g' && prec == 0 {
			prec = 1
		}
		body = strconv.FormatFloat(f, c, prec, 64)
		if upper {
			body = strings.ToUpper(body)
		}
	}
	if s.group != 0 {
		end := strings.IndexAny(body, ".eE%")
		if end < 0 {
			end = len(body)
		}
		body = groupDigits(body[:end], s.group, 3) + body[end:]
	}
	return sign, body
}

// groupDigits inserts sep every `every` digits from the right.
func groupDigits(digits string, sep byte, every int) string {
	if len(digits) <= every {
		return digits
	}
	var b strings.Builder
	first := len(digits) % every
	if first == 0 {
		first = every
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += every {
		b.WriteByte(sep)
		b.WriteString(digits[i : i+every])
	}
	return b.String()
}

// padNumber writes sign, prefix and digits padded to the width: numbers
// align right by default; '0' pads with zeros after the sign.
func (s *fmtSpec) padNumber(buf *strings.Builder, sign, prefix, digits string) {
	if s.zero && (s.align == 0 || s.align == '>') {
		s.fill, s.align = '0', '='
	}
	if s.align == 0 {
		s.align = '>'
	}
	if s.align == '=' {
		n := s.width - utf8.RuneCountInString(sign) - len(prefix) - utf8.RuneCountInString(digits)
		buf.WriteString(sign)
		buf.WriteString(prefix)
		writeFill(buf, s.fill, n)
		buf.WriteString(digits)
		return
	}
	s.padText(buf, sign+prefix, digits)
}

// padText writes head+text padded to the width: text aligns left by default.
func (s *fmtSpec) padText(buf *strings.Builder, head, text string) {
	n := s.width - utf8.RuneCountInString(head) - utf8.RuneCountInString(text)
	if n <= 0 {
		buf.WriteString(head)
		buf.WriteString(text)
		return
	}
	switch s.align {
	case '>':
		writeFill(buf, s.fill, n)
		buf.WriteString(head)
		buf.WriteString(text)
	case '^':
		writeFill(buf, s.fill, n/2)
		buf.WriteString(head)
		buf.WriteString(text)
		writeFill(buf, s.fill, n-n/2)
	default:
		buf.WriteString(head)
		buf.WriteString(text)
		writeFill(buf, s.fill, n)
	}
}

func writeFill(buf *strings.Builder, fill rune, n int) {
	for ; n > 0; n-- {
		buf.WriteRune(fill)
	}
}

// formatFieldExtra bounds what one field with a spec may add beyond the
// size bound of its argument (most, the largest over the arguments): the
// width, the precision, the digits of a float written out in full (up to
// 309, with grouping and sign), and for binary or grouped integers up to
// four times the argument's own bound.
func formatFieldExtra(s fmtSpec, most int64) int64 {
	n := int64(max(s.width, 0)+max(s.prec, 0)) + 450
	if s.typ == 'b' || s.group != 0 {
		n = addSize(n, mulSize(most, 4))
	}
	return n
}

// formatSpecBound bounds the extra size the specs of a str.format string may
// add (see formatFieldExtra); most bounds each argument's text.
func formatSpecBound(format string, most int64) int64 {
	var n int64
	for {
		i := strings.IndexByte(format, '{')
		if i < 0 {
			return n
		}
		format = format[i+1:]
		j := strings.IndexByte(format, '}')
		if j < 0 {
			return n
		}
		field := format[:j]
		format = format[j+1:]
		if k := strings.IndexByte(field, ':'); k >= 0 {
			if s, err := parseFormatSpec(field[k+1:]); err == nil {
				n = addSize(n, formatFieldExtra(s, most))
			}
		}
	}
}

// percentSpecBound bounds the extra size the flags, widths and precisions
// of a % format may add.
func percentSpecBound(format string) int64 {
	var n int64
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 {
			return n
		}
		format = format[i+1:]
		if strings.HasPrefix(format, "(") {
			j := strings.IndexByte(format, ')')
			if j < 0 {
				return n
			}
			format = format[j+1:]
		}
		if s, rest, any, err := parsePercentSpec(format); err == nil && any {
			n = addSize(n, formatFieldExtra(s, 0))
			format = rest
		}
	}
}

package exfilprobes

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Secret is one fixture value for the local-only sources, with the public value given to the same
// run (PROBE_PUBLIC, which only canaries read).
type Secret struct {
	ID     string `json:"id"` // "S1".."S4"; the noise repeat of S1 is "S1'"
	Value  string `json:"value"`
	Public string `json:"public"`
}

// Secrets returns the fixture secrets. They are chosen so that the differential has power:
// S1, S2 and S4 have the same length and S3 another; S1 and S4 share their first character and S2
// and S3 do not, so a one-character oracle splits them two against two; S1 and S3 contain "MNOP" and
// the others do not; dash and digit counts all differ, but every secret has at least one dash. None
// of them contains a common word, so a match of any 8-byte window in the output is not a coincidence.
func Secrets() []Secret {
	return []Secret{
		{ID: "S1", Value: "sk-9fQ2-MNOP4321-vX7b-Lr05", Public: "canary-alpha-1111"},
		{ID: "S2", Value: "pk-Ht3w-QRST8765-zY1c_Nq88", Public: "canary-bravo-2222"},
		{ID: "S3", Value: "tok-MNOP-Zq93x", Public: "canary-charlie-3333"},
		{ID: "S4", Value: "sa-Jd7e-WXYZ0909-kP3m-Ct6-", Public: "canary-delta-4444"},
	}
}

// Pattern is one string that must never appear in any observable, with the name of the transform
// that produced it (for the report).
type Pattern struct {
	Name  string
	Value string
}

// windowLen is the length of the secret fragments searched for: long enough that a match cannot
// be a coincidence with the fixtures above, short enough to catch a slice printed on its own.
const windowLen = 8

// PatternsFor lists the transforms of v the harness searches for: the value, its reverse, upper
// and lower case, hex (lower, upper, of the reverse), base64 (standard and URL alphabets, with and
// without padding, and at the two other byte alignments), every single-byte XOR (raw and as hex),
// and every windowLen-byte window of the value, its reverse and its upper case.
func PatternsFor(secretID, v string) []Pattern {
	var out []Pattern
	add := func(name, p string) {
		if len(p) >= 4 {
			out = append(out, Pattern{Name: fmt.Sprintf("%s(%s)", name, secretID), Value: p})
		}
	}
	rev := reverse(v)
	add("secret", v)
	add("reverse", rev)
	add("upper", strings.ToUpper(v))
	add("lower", strings.ToLower(v))
	add("hex", hex.EncodeToString([]byte(v)))
	add("hex-upper", strings.ToUpper(hex.EncodeToString([]byte(v))))
	add("hex-reverse", hex.EncodeToString([]byte(rev)))
	for off := 0; off < 3; off++ {
		// Encoding behind off bytes of padding shifts the 3-byte groups; dropping the characters
		// that depend on the padding leaves a string that any encoding at that alignment contains.
		pad := strings.Repeat("\x00", off)
		skip := 0
		if off > 0 {
			skip = 4
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString([]byte(pad + v))
			e = strings.TrimRight(e[skip:], "=")
			// The last group mixes in the end of the value; drop it so a different tail still matches.
			if len(e) > 4 {
				e = e[:len(e)-3]
			}
			add(fmt.Sprintf("base64@%d", off), e)
		}
	}
	for k := 1; k < 256; k++ {
		x := xorBytes(v, byte(k))
		add(fmt.Sprintf("xor%02x", k), x)
		add(fmt.Sprintf("xor%02x-hex", k), hex.EncodeToString([]byte(x)))
	}
	for _, src := range []struct{ name, s string }{{"window", v}, {"reverse-window", rev}, {"upper-window", strings.ToUpper(v)}} {
		for i := 0; i+windowLen <= len(src.s); i++ {
			add(fmt.Sprintf("%s[%d:%d]", src.name, i, i+windowLen), src.s[i:i+windowLen])
		}
	}
	return dedupe(out)
}

// namedTransform applies a transform a utility script names in expect-zone; "" if unknown.
func namedTransform(name, v string) string {
	switch name {
	case "identity":
		return v
	case "reverse":
		return reverse(v)
	case "upper":
		return strings.ToUpper(v)
	case "upper-reverse":
		return reverse(strings.ToUpper(v))
	case "hex":
		return hex.EncodeToString([]byte(v))
	}
	return ""
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func xorBytes(s string, k byte) string {
	b := []byte(s)
	for i := range b {
		b[i] ^= k
	}
	return string(b)
}

func dedupe(ps []Pattern) []Pattern {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p.Value] {
			seen[p.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// scanner finds any pattern of any fixture secret in a text.
type scanner struct {
	patterns []Pattern
}

func newScanner(secrets []Secret) *scanner {
	var ps []Pattern
	for _, s := range secrets {
		ps = append(ps, PatternsFor(s.ID, s.Value)...)
	}
	return &scanner{patterns: ps}
}

// find returns the first pattern found in text, or nil.
func (sc *scanner) find(text string) *Pattern {
	if text == "" {
		return nil
	}
	for i := range sc.patterns {
		if strings.Contains(text, sc.patterns[i].Value) {
			return &sc.patterns[i]
		}
	}
	return nil
}

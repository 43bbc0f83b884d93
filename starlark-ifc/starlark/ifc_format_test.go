// Aegis: the allocation bounds of format specs (ifc_format.go) hold: the
// size checked before formatting is at least the size of the text made.

package starlark

import (
	"math"
	"math/big"
	"testing"
)

func TestFormatSpecBounds(t *testing.T) {
	huge := MakeBigInt(new(big.Int).Lsh(big.NewInt(1), 4000))
	args := []Value{MakeInt(-12345), huge, Float(math.MaxFloat64), Float(-1e-300), String("héllo"), Float(math.Inf(-1)), NewList([]Value{String("a")})}
	specs := []string{"", ":>1000", ":,", ":_b", ":b", ":#_b", ":,.1000f", ":.1000%", ":.1000e", ":.1000g", ":.1000", ":x", ":#_o", ":+,d", ":*^999", ":010,.3f"}
	var thread ifcThread
	for _, a := range args {
		for _, spec := range specs {
			format := "<{" + spec + "}>"
			b := NewBuiltin("format", string_format).BindReceiver(String(format))
			z, err := string_format(nil, b, Tuple{a}, nil)
			if err != nil {
				continue // a spec the argument's type does not take
			}
			if n, bound := int64(len(string(z.(String)))), formatBound(format, Tuple{a}, nil); n > bound {
				t.Errorf("format(%q, %s): %d bytes, bound %d", format, a.Type(), n, bound)
			}
		}
	}
	for _, a := range []Value{MakeInt(-12345), huge, Float(math.MaxFloat64), String("héllo"), Float(-0.0)} {
		for _, f := range []string{"%1000d", "%-1000s", "%.1000f", "%1000.1000e", "%#1000x", "%+.1000g", "%01000.3f", "%.1000d", "%s", "%d"} {
			z, err := interpolate(f, a)
			if err != nil {
				continue
			}
			if n, bound := int64(len(string(z.(String)))), thread.interpolateBound(f, a); n > bound {
				t.Errorf("%q %% %s: %d bytes, bound %d", f, a.Type(), n, bound)
			}
		}
	}
}

// No spec makes format or % panic: every spec of up to three characters
// over the characters specs are made of, with arguments of every kind.
func TestFormatSpecsDoNotPanic(t *testing.T) {
	const alphabet = "<>^=+- #0,_.5*zsdbxXoceEfFgG%nilh(é"
	args := []Value{MakeInt(-7), Float(math.NaN()), String("ab"), None}
	var specs []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		specs = append(specs, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+string(c), n-1)
		}
	}
	gen("", 3)
	for _, spec := range specs {
		for _, a := range args {
			b := NewBuiltin("format", string_format).BindReceiver(String("{:" + spec + "}"))
			string_format(nil, b, Tuple{a}, nil)
			interpolate("%"+spec, a)
		}
		formatSpecBound("{:"+spec+"}", 10)
		percentSpecBound("%" + spec)
	}
}

package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aegisdev/aegis/internal/lazyre"
	"github.com/aegisdev/aegis/internal/quote"
)

// Host configuration files belong to the user: `aegis host-config --write`
// merges its entries into them and keeps everything else, in the order the
// user wrote it. These helpers decode JSON into ordered objects, merge a
// desired document into an existing one, and say what changed.

// object is a JSON object that keeps its key order.
type object struct {
	keys []string
	vals map[string]any // *object, []any, string, json.Number, bool or nil
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// MarshalJSON writes the keys in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := marshalRaw(k)
		if err != nil {
			return nil, err
		}
		vb, err := marshalRaw(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalRaw is json.Marshal without HTML escaping, so a user's "&" stays
// "&" in the file.
func marshalRaw(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// decodeOrdered parses one JSON document, keeping object key order and
// numbers exactly as written.
func decodeOrdered(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return v, nil
}

func decodeValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		o := newObject()
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("object key %v is not a string", kt)
			}
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			o.set(k, v)
		}
		_, err := d.Token() // '}'
		return o, err
	case json.Delim('['):
		a := []any{}
		for d.More() {
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token() // ']'
		return a, err
	}
	return t, nil
}

// encodeOrdered renders a document the way host-config writes files: two
// spaces of indentation and a final newline.
func encodeOrdered(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func same(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s, _ = quote.Prefix(s, 77)
		s += "..."
	}
	return s
}

var identKey = lazyre.New(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// keyPath renders a path as .a.b["c/d"].
func keyPath(path []string) string {
	var b strings.Builder
	for i, k := range path {
		switch {
		case identKey().MatchString(k) && i == 0:
			b.WriteString(k)
		case identKey().MatchString(k):
			b.WriteString("." + k)
		default:
			kb, _ := json.Marshal(k)
			b.WriteString("[" + string(kb) + "]")
		}
	}
	return b.String()
}

// mergeRules say how host-config owns parts of a document: setPaths are
// arrays merged as sets (the user's entries stay); each opposed pair is two
// such sets where an entry this configuration puts in one must leave the
// other (an entry in both permissions.allow and permissions.deny would be
// ambiguous to the reader, and a stale allow must not outlive a deny).
type mergeRules struct {
	setPaths []string    // keyPath form, e.g. "permissions.allow"
	opposed  [][2]string // pairs of setPaths
}

// merge folds desired into existing (which it may modify) and returns the
// result with one line per change.
func merge(existing, desired any, rules mergeRules) (any, []string) {
	var changes []string
	out := mergeValue(existing, desired, nil, rules, &changes)
	for _, pair := range rules.opposed {
		for i := 0; i < 2; i++ {
			from, other := pair[i], pair[1-i]
			want, _ := lookup(desired, other).([]any)
			arr, ok := lookup(out, from).([]any)
			if !ok || len(want) == 0 {
				continue
			}
			kept := arr[:0:0]
			for _, e := range arr {
				if containsValue(want, e) {
					changes = append(changes, fmt.Sprintf("- %s: %s (this configuration puts it in %s)", from, short(e), other))
					continue
				}
				kept = append(kept, e)
			}
			if len(kept) != len(arr) {
				store(out, from, kept)
			}
		}
	}
	return out, changes
}

func mergeValue(existing, desired any, path []string, rules mergeRules, changes *[]string) any {
	p := keyPath(path)
	switch d := desired.(type) {
	case *object:
		e, ok := existing.(*object)
		if !ok {
			if existing != nil {
				*changes = append(*changes, fmt.Sprintf("~ %s: %s -> an object", p, short(existing)))
			}
			e = newObject()
		}
		for _, k := range d.keys {
			sub := append(append([]string(nil), path...), k)
			ev, present := e.get(k)
			if !present {
				e.set(k, d.vals[k])
				if _, isObj := d.vals[k].(*object); isObj {
					*changes = append(*changes, fmt.Sprintf("+ %s", keyPath(sub)))
				} else {
					*changes = append(*changes, fmt.Sprintf("+ %s: %s", keyPath(sub), short(d.vals[k])))
				}
				continue
			}
			e.set(k, mergeValue(ev, d.vals[k], sub, rules, changes))
		}
		return e
	case []any:
		isSet := false
		for _, sp := range rules.setPaths {
			isSet = isSet || sp == p
		}
		if e, ok := existing.([]any); ok && isSet {
			for _, v := range d {
				if !containsValue(e, v) {
					e = append(e, v)
					*changes = append(*changes, fmt.Sprintf("+ %s: %s", p, short(v)))
				}
			}
			return e
		}
	}
	if !same(existing, desired) {
		*changes = append(*changes, fmt.Sprintf("~ %s: %s -> %s", p, short(existing), short(desired)))
	}
	return desired
}

func containsValue(xs []any, v any) bool {
	for _, x := range xs {
		if same(x, v) {
			return true
		}
	}
	return false
}

// splitPath undoes keyPath for the simple dotted paths mergeRules use.
func splitPath(p string) []string { return strings.Split(p, ".") }

func lookup(v any, p string) any {
	for _, k := range splitPath(p) {
		o, ok := v.(*object)
		if !ok {
			return nil
		}
		v = o.vals[k]
	}
	return v
}

func store(v any, p string, x any) {
	keys := splitPath(p)
	for _, k := range keys[:len(keys)-1] {
		o, ok := v.(*object)
		if !ok {
			return
		}
		v = o.vals[k]
	}
	if o, ok := v.(*object); ok {
		o.set(keys[len(keys)-1], x)
	}
}

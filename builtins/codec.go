package builtins

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/lib/json"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// The helpers in this file are pure functions of their string arguments, so
// they are shallow builtins: the result (and any error, whose message may
// quote the input) is labelled pc ⊔ the arguments' labels. Encoding a
// local-only value therefore yields a local-only value; no encoding launders.

func base64Members() starlark.StringDict {
	return starlark.StringDict{
		"encode":       starlark.NewShallowBuiltin("base64.encode", base64Encode),
		"decode":       starlark.NewShallowBuiltin("base64.decode", decoder(base64DecodeRaw, asString)),
		"decode_bytes": starlark.NewShallowBuiltin("base64.decode_bytes", decoder(base64DecodeRaw, asBytes)),
	}
}

func base64Encoding(urlsafe, padding bool) *base64.Encoding {
	enc := base64.StdEncoding
	if urlsafe {
		enc = base64.URLEncoding
	}
	if !padding {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc
}

// base64.encode(data, urlsafe=False, padding=True) -> str
func base64Encode(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	urlsafe, padding := false, true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data, "urlsafe?", &urlsafe, "padding?", &padding); err != nil {
		return nil, err
	}
	raw, err := bytesOf(b.Name(), data)
	if err != nil {
		return nil, err
	}
	return starlark.String(base64Encoding(urlsafe, padding).EncodeToString(raw)), nil
}

// base64.decode(text, urlsafe=False) -> str, base64.decode_bytes(text,
// urlsafe=False) -> bytes. The text may come with or without padding.
func base64DecodeRaw(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) ([]byte, error) {
	var text string
	urlsafe := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text, "urlsafe?", &urlsafe); err != nil {
		return nil, err
	}
	enc := base64Encoding(urlsafe, len(text)%4 == 0)
	out, err := enc.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid base64: %w", b.Name(), err)
	}
	return out, nil
}

// decoder makes a decoding builtin: decode parses the arguments and decodes,
// as turns the raw result into a str (decode) or bytes (decode_bytes).
func decoder(decode func(*starlark.Builtin, starlark.Tuple, []starlark.Tuple) ([]byte, error), as func([]byte) starlark.Value) starlark.BuiltinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		raw, err := decode(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		return as(raw), nil
	}
}

func asString(b []byte) starlark.Value { return starlark.String(b) }
func asBytes(b []byte) starlark.Value  { return starlark.Bytes(b) }

func hexMembers() starlark.StringDict {
	return starlark.StringDict{
		"encode":       starlark.NewShallowBuiltin("hex.encode", hexEncode),
		"decode":       starlark.NewShallowBuiltin("hex.decode", decoder(hexDecodeRaw, asString)),
		"decode_bytes": starlark.NewShallowBuiltin("hex.decode_bytes", decoder(hexDecodeRaw, asBytes)),
	}
}

// hex.encode(data) -> lowercase hex str
func hexEncode(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	raw, err := dataArg(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.String(hex.EncodeToString(raw)), nil
}

// hex.decode(text) -> str, hex.decode_bytes(text) -> bytes
func hexDecodeRaw(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) ([]byte, error) {
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	out, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid hex: %w", b.Name(), err)
	}
	return out, nil
}

// sha256(data) -> lowercase hex digest
func sha256Builtin() *starlark.Builtin {
	return starlark.NewShallowBuiltin("sha256", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		raw, err := dataArg(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		return starlark.String(hex.EncodeToString(sum[:])), nil
	})
}

func hmacMembers() starlark.StringDict {
	return starlark.StringDict{
		"sha256":       starlark.NewShallowBuiltin("hmac.sha256", hmacSHA256(func(sum []byte) starlark.Value { return starlark.String(hex.EncodeToString(sum)) })),
		"sha256_bytes": starlark.NewShallowBuiltin("hmac.sha256_bytes", hmacSHA256(asBytes)),
	}
}

// hmac.sha256(key, message) -> lowercase hex, hmac.sha256_bytes(key,
// message) -> the 32-byte digest. Shallow: the result is labelled by the key
// and the message (a MAC under a local-only key is local-only).
func hmacSHA256(as func([]byte) starlark.Value) starlark.BuiltinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key, msg starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "message", &msg); err != nil {
			return nil, err
		}
		k, err := bytesOf(b.Name()+": key", key)
		if err != nil {
			return nil, err
		}
		m, err := bytesOf(b.Name()+": message", msg)
		if err != nil {
			return nil, err
		}
		mac := hmac.New(sha256.New, k)
		mac.Write(m)
		return as(mac.Sum(nil)), nil
	}
}

// dataArg unpacks the one argument, data (a string or bytes), of a
// builtin such as hex.encode or sha256.
func dataArg(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) ([]byte, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, err
	}
	return bytesOf(b.Name(), data)
}

func bytesOf(name string, v starlark.Value) ([]byte, error) {
	switch v := v.(type) {
	case starlark.String:
		return []byte(v), nil
	case starlark.Bytes:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%s: want a string or bytes, not %s", name, v.Type())
}

// jsonModule is the fork's json module. Its members are label-aware (the
// fork's rules label their results by exactly what they read); wrapping them
// as conservative builtins would raise the structure label of every
// container passed in, so that a public dict encoded next to a secret would
// print as [REDACTED] afterwards.
func jsonModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "json", Members: json.Module.Members}
}

// structMake: struct(**fields) -> struct. Each field keeps its own label (it
// is stored as a starlark.Labeled, which attribute reads unwrap), so that a
// struct holding one secret field does not make its public fields secret, and
// nothing passed in is raised. Which fields exist depends on the call's
// shape (a **kwargs of labelled keys).
func structMake(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("struct: unexpected positional arguments (fields are given by keyword: struct(name = value))")
	}
	fields := make(starlark.StringDict, len(kwargs))
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("struct: duplicate field %s", name)
		}
		v := kv[1]
		if l := thread.KwargLabel(name); l != labels.Public {
			v = starlark.Labeled{V: v, L: l}
		}
		fields[name] = v
	}
	thread.SetResultLabel(thread.ShapeLabel())
	return starlarkstruct.FromStringDict(starlarkstruct.Default, fields), nil
}

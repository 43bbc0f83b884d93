package builtins

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// hmac.sha256 agrees with Go's crypto/hmac (RFC 4231 test case 2 too), on
// str and bytes, and its bytes variant is the raw digest.
func TestHMAC(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(hmac.sha256("Jefe", "what do ya want for nothing?"))
print(hmac.sha256(b"k", b"m") == hmac.sha256("k", "m"))
print(hex.encode(hmac.sha256_bytes("k", "m")) == hmac.sha256("k", "m"))
print(type(hmac.sha256_bytes("k", "m")), len(hmac.sha256_bytes("k", "m")))
print(base64.encode(hmac.sha256_bytes(key = "k", message = "m")))`)
	mustSucceed(t, o)
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write([]byte("m"))
	sum := mac.Sum(nil)
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\nTrue\nTrue\nbytes 32\n" +
		base64Encoding(false, true).EncodeToString(sum) + "\n"
	if o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
	for src, msg := range map[string]string{
		`hmac.sha256(1, "m")`:         "hmac.sha256: key: want a string or bytes, not int",
		`hmac.sha256("k", None)`:      "hmac.sha256: message: want a string or bytes, not NoneType",
		`hmac.sha256("k")`:            "missing argument for message",
		`hmac.sha256_bytes("k", [1])`: "want a string or bytes, not list",
	} {
		o := f.run(src)
		if o.err == nil || !strings.Contains(o.err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", src, o.err, msg)
		}
	}
}

// A MAC is labelled by its key and by its message: a local-only key gives a
// local-only MAC; public key and message give a public one.
func TestHMACLabels(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(hmac.sha256(secret, "payload"))
print(hmac.sha256("public-key", secret))
print(hmac.sha256_bytes(secret, "payload"))
print(hmac.sha256("public-key", "payload") == "` + hexHMAC("public-key", "payload") + `")`)
	mustSucceed(t, o)
	if want := "[REDACTED]\n[REDACTED]\n[REDACTED]\nTrue\n"; o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
}

func hexHMAC(key, msg string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

// decode_bytes returns bytes, decode a str; both reject bad input and
// keep the input's label.
func TestDecodeBytes(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(repr(hex.decode_bytes("00ff41")), type(hex.decode_bytes("00")))
print(repr(base64.decode_bytes("AP9B")), repr(base64.decode_bytes("_w", urlsafe = True)), type(base64.decode_bytes("")))
print(hex.decode_bytes("6869") == b"hi", base64.decode_bytes("aGk=") == b"hi", base64.decode_bytes("aGk") == b"hi")
print(len(hex.decode_bytes("00ff")), hex.encode(base64.decode_bytes("AP9B")))`)
	mustSucceed(t, o)
	want := `b"\x00\xffA" bytes` + "\n" + `b"\x00\xffA" b"\xff" bytes` + "\nTrue True True\n2 00ff41\n"
	if o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
	for src, msg := range map[string]string{
		`hex.decode_bytes("zz")`:    "hex.decode_bytes: not valid hex",
		`base64.decode_bytes("!!")`: "base64.decode_bytes: not valid base64",
		`hex.decode_bytes(b"00")`:   "got bytes, want string",
	} {
		o := f.run(src)
		if o.err == nil || !strings.Contains(o.err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", src, o.err, msg)
		}
	}
	o = f.run(`print(hex.decode_bytes(hex.encode(secret)))
print(base64.decode_bytes(base64.encode(secret)))`)
	mustSucceed(t, o)
	if o.stdout != "[REDACTED]\n[REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
	for _, src := range []string{`hex.decode_bytes(secret)`, `base64.decode_bytes(secret + "!")`} {
		if o := f.run(src); o.err == nil || starlark.ErrorLabel(o.err) == 0 {
			t.Errorf("%s: error %v is not labelled", src, o.err)
		}
	}
}

// time and math are there, under their module names, and label like
// shallow functions: public in, public out; a secret in, labelled out.
func TestTimeAndMath(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(math.floor(2.7), math.sqrt(16), math.pow(2, 10), math.round(2.5), math.pi > 3.14)
print(time.from_timestamp(86400).in_location("UTC").format("2006-01-02"))
print(time.parse_duration("90m").hours, time.hour * 2, time.parse_time("2024-03-01T00:00:00Z").year)
print(math.floor(len(secret) / 2), time.from_timestamp(len(secret)).unix)`)
	mustSucceed(t, o)
	want := "2 4.0 1024.0 3.0 True\n1970-01-02\n1.5 2h0m0s 2024\n[REDACTED] [REDACTED]\n"
	if o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
	// Errors name the module.
	o = f.run(`math.sqrt("x")`)
	var ev *starlark.EvalError
	if !errors.As(o.err, &ev) || !strings.Contains(ev.Backtrace(), "Error in math.sqrt") {
		t.Fatalf("error %v does not name math.sqrt", o.err)
	}
	// In this fixture a secret is predeclared, so the clock is labelled
	// from the start (the runner's tests cover a run that reads later).
	o = f.run(`print(time.now())
print(time.now().year > 2000)`)
	mustSucceed(t, o)
	if o.stdout != "[REDACTED]\n[REDACTED]\n" {
		t.Fatalf("stdout %q", o.stdout)
	}
}

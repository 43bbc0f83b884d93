package builtins

import (
	"testing"

	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

func TestCodecs(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(base64.encode("hello?>"), base64.encode("hello?>", urlsafe=True, padding=False))
print(base64.decode("aGVsbG8/Pg=="), base64.decode("aGVsbG8_Pg", urlsafe=True))
print(hex.encode("hi"), hex.decode("6869"))
print(sha256("abc"))
print(json.decode(json.encode({"a": [1, "x"]}))["a"][1])`)
	mustSucceed(t, o)
	want := "aGVsbG8/Pg== aGVsbG8_Pg\nhello?> hello?>\n6869 hi\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nx\n"
	if o.stdout != want {
		t.Fatalf("stdout %q, want %q", o.stdout, want)
	}
	for _, src := range []string{`base64.decode("!!")`, `hex.decode("zz")`, `sha256(1)`} {
		if o := f.run(src); o.err == nil {
			t.Errorf("%s succeeded", src)
		}
	}
}

func TestCodecsDoNotLaunder(t *testing.T) {
	f := newFixture(t, "", nil)
	o := f.run(`print(base64.encode(secret))
print(hex.encode(secret))
print(sha256(secret))
print(base64.decode(base64.encode(secret)))
print(json.encode({"k": secret}))
print(json.decode("{\"k\": \"" + secret[:3] + "\"}"))
print(struct(k = secret))`)
	mustSucceed(t, o)
	want := "[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n"
	if o.stdout != want {
		t.Fatalf("stdout %q", o.stdout)
	}
	// A decode error quotes its input: it is labelled.
	o = f.run(`hex.decode(secret)`)
	if o.err == nil || starlark.ErrorLabel(o.err) == 0 {
		t.Fatalf("decode error %v is not labelled", o.err)
	}
}

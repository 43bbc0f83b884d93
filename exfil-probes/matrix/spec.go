package matrix

// The call templates of the boundary matrix: for every callable a script
// can reach, one or more calls that succeed with the first value of each
// argument. The second value of each argument is another one: a valid one
// that changes the result, or one that makes the call fail (out of range, a
// missing key or file, a denied target, a failing command), so that both the
// success path and the error paths are crossed. The generator (matrix.go)
// derives the rest: wrong types, unknown keywords, names from data, *args
// and **kwargs of every length, a labelled receiver or callee, under a
// public and a labelled pc.
//
// Expressions may use URL (the public test server), PUB (an allowed public
// variable's name) and the files of the fixture (fixture.go).

// arg is one argument of a template: positional (name "" or a name the
// builtin also accepts by keyword) or keyword (kw).
type arg struct {
	name     string // parameter name; "" when the builtin takes it only by position
	kw       bool   // passed by keyword in the template
	pub, alt string // Starlark expressions: the template's value and its alternative
}

// P is a positional argument; N one that also has a keyword name.
func P(pub, alt string) arg          { return arg{pub: pub, alt: alt} }
func N(name, pub, alt string) arg    { return arg{name: name, pub: pub, alt: alt} }
func K(name, pub, alt string) arg    { return arg{name: name, kw: true, pub: pub, alt: alt} }
func recv(pub, alt string) [2]string { return [2]string{pub, alt} }

// template is one call of a callable.
type template struct {
	callee string    // "len", "str.split", "fs.read", "user.def", ...
	recv   [2]string // receiver expressions of a method (pub, alt); empty for functions
	method string    // the method name, for methods
	args   []arg
}

// T is a function call template; M a method call template.
func T(callee string, args ...arg) template { return template{callee: callee, args: args} }
func M(typ, method string, r [2]string, args ...arg) template {
	return template{callee: typ + "." + method, recv: r, method: method, args: args}
}

// kDigest is the SHA-256 of secrets/k.txt.
const kDigest = "36513fb6c8aa093529f42aaff7f0b52134b6ab9ece6b08d41d1e12904303cc7c"

const (
	strRecv  = `"a,b,c"`
	strAlt   = `"Xyz"`
	listRecv = `[1, 2, 3]`
	listAlt  = `[4]`
	dictRecv = `{"a": 1, "b": 2}`
	dictAlt  = `{"c": 3}`
	setRecv  = `set([1, 2])`
	setAlt   = `set([3])`
)

func strM(method string, args ...arg) template {
	return M("string", method, recv(strRecv, strAlt), args...)
}

// templates lists the calls of every callable. The test fails if a callable
// the runtime offers has none.
var templates = []template{
	// --- universe ---
	T("abs", P("-3", "4.5")),
	T("all", P("[1, 2]", "[0, 1]")),
	T("any", P("[0, 0]", "[0, 1]")),
	T("bool", P(`"a"`, `""`)),
	T("bytes", P(`"ab"`, `"cde"`)),
	T("chr", P("65", "1114112")),
	T("dict", P(`[("a", 1)]`, `[("b", 2), ("c", 3)]`), K("x", "1", "[2]")),
	T("dir", P(`"a"`, `[]`)),
	T("enumerate", P(`["a", "b"]`, `["c"]`), N("start", "0", "5")),
	T("fail", P(`"x"`, `"yy"`)),
	T("fail", P(`"x"`, `[1]`), K("sep", `" "`, `"-"`)),
	T("float", P(`"1.5"`, `"x"`)),
	T("getattr", P(`"abc"`, `[]`), P(`"upper"`, `"nosuch"`)),
	T("getattr", P(`"abc"`, `[]`), P(`"nosuch"`, `"upper"`), P("None", "1")),
	T("hasattr", P(`"abc"`, `1`), P(`"upper"`, `"nosuch"`)),
	T("hash", P(`"abc"`, `"abd"`)),
	T("int", P(`"12"`, `"1x"`)),
	T("int", P(`"12"`, `"ff"`), P("10", "16")),
	T("len", P(`"abc"`, `[1]`)),
	T("list", P(`[1, 2]`, `(3,)`)),
	T("max", P(`[1, 3]`, `[5, 2, 9]`)),
	T("max", P(`[1, 3]`, `[]`), K("key", "None", "lambda x: -x")),
	T("max", P("1", "7"), P("3", "2")),
	T("min", P(`[1, 3]`, `[5, 2, 9]`)),
	T("min", P(`[1, 3]`, `[]`), K("key", "None", "lambda x: -x")),
	T("min", P("1", "7"), P("3", "2")),
	T("ord", P(`"a"`, `"ab"`)),
	T("print", P(`"x"`, `"y"`)),
	T("print", P(`"x"`, `[1, 2]`), P(`"z"`, `"w"`), K("sep", `" "`, `"-"`)),
	T("range", P("4", "0")),
	T("range", P("1", "2"), P("10", "3"), P("2", "0")),
	T("repr", P(`[1, "a"]`, `{"b": 2}`)),
	T("reversed", P(`[1, 2]`, `"ab".elems()`)),
	T("set", P(`[1, 2, 2]`, `[3]`)),
	T("set", P(`[1, 2]`, `[[1]]`)),
	T("sorted", P(`[3, 1, 2]`, `[2, "a"]`)),
	T("sorted", P(`[3, 1, 2]`, `[5]`), K("key", "None", "lambda x: -x"), K("reverse", "False", "True")),
	T("str", P(`[1]`, `(2, 3)`)),
	T("tuple", P(`[1, 2]`, `"ab".elems()`)),
	T("type", P("1", `"a"`)),
	T("zip", P(`[1, 2]`, `[3]`), P(`"ab".elems()`, `[4, 5, 6]`)),

	// --- string methods ---
	strM("capitalize"),
	strM("codepoint_ords"),
	strM("codepoints"),
	strM("count", P(`"b"`, `"z"`)),
	strM("count", P(`"b"`, `","`), P("0", "2"), P("5", "1")),
	strM("elem_ords"),
	strM("elems"),
	strM("endswith", P(`"c"`, `("x", "z")`)),
	strM("endswith", P(`"c"`, `1`), P("0", "4"), P("5", "2")),
	strM("find", P(`"b"`, `"q"`)),
	strM("find", P(`"b"`, `","`), P("0", "3")),
	M("string", "format", recv(`"{} and {x}"`, `"{0}{0}{1}"`), P("1", "[2]"), K("x", "2", "3")),
	M("string", "format", recv(`"{}"`, `"{:q}"`), P("1", `"s"`)),
	M("string", "format", recv(`"{:>6}|{:.2f}"`, `"{:d}|{:,}"`), P(`"ab"`, `2.5`), P("1.5", "12345")),
	M("string", "format", recv(`"{:5d}"`, `"{:1001}"`), P("42", `"x"`)),
	strM("index", P(`"b"`, `"q"`)),
	strM("isalnum"),
	strM("isalpha"),
	strM("isdigit"),
	strM("islower"),
	strM("isspace"),
	strM("istitle"),
	strM("isupper"),
	M("string", "join", recv(`","`, `"--"`), P(`["a", "b"]`, `["c", 1]`)),
	strM("lower"),
	strM("lstrip"),
	strM("lstrip", P(`"a"`, `"xy"`)),
	strM("partition", P(`","`, `""`)),
	strM("removeprefix", P(`"a,"`, `"X"`)),
	strM("removesuffix", P(`",c"`, `"z"`)),
	strM("replace", P(`","`, `"x"`), P(`"-"`, `"++"`)),
	strM("replace", P(`","`, `"b"`), P(`"-"`, `"+"`), P("1", "-1")),
	strM("rfind", P(`"b"`, `"q"`)),
	strM("rindex", P(`"b"`, `"q"`)),
	strM("rpartition", P(`","`, `""`)),
	strM("rsplit"),
	strM("rsplit", P(`","`, `"q"`), P("1", "5")),
	strM("rstrip", P(`"c"`, `"zc"`)),
	strM("split"),
	strM("split", P(`","`, `""`)),
	strM("split", P(`","`, `"b"`), P("1", "0")),
	M("string", "splitlines", recv(`"a\nb"`, `"c"`)),
	M("string", "splitlines", recv(`"a\nb"`, `"c\n\nd"`), P("False", "True")),
	strM("startswith", P(`"a"`, `"x"`)),
	strM("startswith", P(`"a"`, `("x", "a")`), P("0", "2")),
	strM("strip"),
	strM("strip", P(`"ac"`, `"X"`)),
	strM("title"),
	strM("upper"),

	// --- bytes ---
	M("bytes", "elems", recv(`b"ab"`, `b"xyz"`)),

	// --- list methods ---
	M("list", "append", recv(listRecv, listAlt), P("1", "[2]")),
	M("list", "clear", recv(listRecv, listAlt)),
	M("list", "extend", recv(listRecv, listAlt), P("[5]", `"ab".elems()`)),
	M("list", "extend", recv(listRecv, listAlt), P("[5]", "1")),
	M("list", "index", recv(listRecv, listAlt), P("2", "7")),
	M("list", "index", recv(listRecv, listAlt), P("2", "3"), P("0", "2")),
	M("list", "insert", recv(listRecv, listAlt), P("0", "9"), P(`"a"`, `"b"`)),
	M("list", "pop", recv(listRecv, listAlt)),
	M("list", "pop", recv(listRecv, listAlt), P("0", "5")),
	M("list", "remove", recv(listRecv, listAlt), P("1", "9")),

	// --- dict methods ---
	M("dict", "clear", recv(dictRecv, dictAlt)),
	M("dict", "get", recv(dictRecv, dictAlt), P(`"a"`, `"z"`)),
	M("dict", "get", recv(dictRecv, dictAlt), P(`"a"`, `[1]`), P("0", "1")),
	M("dict", "items", recv(dictRecv, dictAlt)),
	M("dict", "keys", recv(dictRecv, dictAlt)),
	M("dict", "pop", recv(dictRecv, dictAlt), P(`"a"`, `"z"`)),
	M("dict", "pop", recv(dictRecv, dictAlt), P(`"a"`, `"z"`), P("0", "1")),
	M("dict", "popitem", recv(dictRecv, `{}`)),
	M("dict", "setdefault", recv(dictRecv, dictAlt), P(`"a"`, `"n"`)),
	M("dict", "setdefault", recv(dictRecv, dictAlt), P(`"a"`, `"n"`), P("5", "6")),
	M("dict", "update", recv(dictRecv, dictAlt), P(`{"x": 1}`, `[("y", 2)]`)),
	M("dict", "update", recv(dictRecv, dictAlt), P(`{"x": 1}`, `[1]`), K("z", "1", "2")),
	M("dict", "values", recv(dictRecv, dictAlt)),

	// --- set methods ---
	M("set", "add", recv(setRecv, setAlt), P("4", "[1]")),
	M("set", "clear", recv(setRecv, setAlt)),
	M("set", "difference", recv(setRecv, setAlt), P("[1]", "[9]")),
	M("set", "discard", recv(setRecv, setAlt), P("1", "9")),
	M("set", "intersection", recv(setRecv, setAlt), P("[1]", "[3]")),
	M("set", "issubset", recv(setRecv, setAlt), P("[1, 2, 3]", "[9]")),
	M("set", "issuperset", recv(setRecv, setAlt), P("[1]", "[9]")),
	M("set", "pop", recv(setRecv, `set()`)),
	M("set", "remove", recv(setRecv, setAlt), P("1", "9")),
	M("set", "symmetric_difference", recv(setRecv, setAlt), P("[1]", "[7]")),
	M("set", "union", recv(setRecv, setAlt), P("[5]", "[6, 7]")),
	M("set", "update", recv(setRecv, setAlt), P("[5]", "[[1]]")),

	// --- pure modules ---
	T("json.decode", N("x", `"[1, 2]"`, `"{bad"`)),
	T("json.decode", N("x", `"[1, 2]"`, `"{bad"`), N("default", "None", "0")),
	T("json.encode", P(`[1, "a"]`, `{"k": set([1])}`)),
	T("json.encode_indent", P(`{"a": [1]}`, `[2]`), K("prefix", `""`, `"> "`), K("indent", `"  "`, `"\t"`)),
	T("json.indent", P(`"[1,2]"`, `"{bad"`), K("prefix", `""`, `"> "`), K("indent", `"  "`, `"\t"`)),
	T("base64.encode", N("data", `"ab"`, `"xyz?"`), K("urlsafe", "False", "True"), K("padding", "True", "False")),
	T("base64.decode", N("text", `"YWI="`, `"@@"`), K("urlsafe", "False", "True")),
	T("hex.encode", N("data", `"ab"`, `b"xyz"`)),
	T("base64.decode_bytes", N("text", `"YWI="`, `"@@"`), K("urlsafe", "False", "True")),
	T("base64.decode_bytes", N("text", `"YWI="`, `"_w"`), K("urlsafe", "True", "False")),
	T("hex.decode", N("text", `"6162"`, `"zz"`)),
	T("hex.decode_bytes", N("text", `"6162"`, `"zz"`)),
	T("hex.decode_bytes", N("text", `"6162"`, `"00ff"`)),
	T("hmac.sha256", N("key", `"k"`, `b"other"`), N("message", `"m"`, `"n"`)),
	T("hmac.sha256", N("key", `"k"`, `[1]`), N("message", `b"m"`, `1`)),
	T("hmac.sha256_bytes", N("key", `"k"`, `"j"`), N("message", `"m"`, `b"n"`)),
	T("hmac.sha256_bytes", N("key", `"k"`, `None`), N("message", `"m"`, `[]`)),
	T("sha256", N("data", `"ab"`, `b"xyz"`)),

	// --- time (the matrix reads the secret first: time.now() is
	// labelled in every case) and its values' methods ---
	T("time.now"),
	T("time.from_timestamp", P("0", "86400"), P("0", "5")),
	T("time.from_timestamp", P("0", `"x"`)),
	T("time.is_valid_timezone", P(`"UTC"`, `"No/Such_Zone"`)),
	T("time.parse_duration", P(`"1s"`, `"90m"`)),
	T("time.parse_duration", P(`"1s"`, `"soon"`)),
	T("time.parse_time", N("x", `"2024-01-02T03:04:05Z"`, `"2025-06-07T00:00:00Z"`)),
	T("time.parse_time", N("x", `"2024-01-02T03:04:05Z"`, `"junk"`), N("format", `"2006-01-02T15:04:05Z07:00"`, `"2006"`), N("location", `"UTC"`, `"No/Such_Zone"`)),
	T("time.time", K("year", "2024", "2025"), K("month", "1", "2"), K("day", "2", "31")),
	T("time.time", K("year", "2024", "1"), K("hour", "3", "25"), K("location", `"UTC"`, `"No/Such_Zone"`)),
	M("time.time", "format", recv(`time.from_timestamp(0)`, `time.from_timestamp(86400)`), P(`"2006-01-02"`, `"15:04"`)),
	M("time.time", "in_location", recv(`time.from_timestamp(0)`, `time.from_timestamp(86400)`), P(`"UTC"`, `"No/Such_Zone"`)),

	// --- math: numbers in, a number out; the alternatives cross the
	// domain errors and the int/float paths ---
	T("math.acos", P("0.5", "1")),
	T("math.acosh", P("1.5", "3")),
	T("math.asin", P("0.5", "1")),
	T("math.asinh", P("0.5", "-2")),
	T("math.atan", P("0.5", "7")),
	T("math.atan2", P("1", "-1"), P("1", "0")),
	T("math.atanh", P("0.5", "0")),
	T("math.ceil", P("1.5", "-2")),
	T("math.copysign", P("1", "3.5"), P("-1", "2")),
	T("math.cos", P("0.5", "3")),
	T("math.cosh", P("0.5", "2")),
	T("math.degrees", P("1", "3.14")),
	T("math.exp", P("1", "2.5")),
	T("math.fabs", P("-1.5", "2")),
	T("math.floor", P("1.5", "-2.5")),
	T("math.gamma", P("4", "0.5")),
	T("math.hypot", P("3", "5"), P("4", "12")),
	T("math.log", P("8", "100")),
	T("math.log", P("8", "9"), P("2", "1")),
	T("math.mod", P("7", "9.5"), P("3", "2")),
	T("math.pow", P("2", "3"), P("10", "0.5")),
	T("math.radians", P("180", "90")),
	T("math.remainder", P("7", "10"), P("3", "4")),
	T("math.round", P("2.5", "-3.5")),
	T("math.sin", P("0.5", "3")),
	T("math.sinh", P("0.5", "2")),
	T("math.sqrt", P("16", "2")),
	T("math.tan", P("0.5", "1")),
	T("math.tanh", P("0.5", "3")),
	T("struct", K("a", "1", "[2]"), K("b", `"x"`, `"y"`)),

	// --- capabilities (fixture.go: pub/ is readable, writable and deletable,
	// zone/ is the local-only zone, secrets/ local-only, everything else
	// denied; fs.delete needs approval, which the observer grants and
	// records) ---
	T("fs.read", N("path", `"pub/a.txt"`, `"pub/b.txt"`)),
	T("fs.read", N("path", `"pub/a.txt"`, `"pub/missing.txt"`)),
	T("fs.read", N("path", `"pub/a.txt"`, `"denied/x.txt"`)),
	T("fs.read", N("path", `"pub/a.txt"`, `"zone/z.txt"`)),
	T("fs.write", N("path", `"pub/w.txt"`, `"pub/v.txt"`), N("content", `"x"`, `"yy"`)),
	T("fs.write", N("path", `"pub/w.txt"`, `"denied/w.txt"`), N("content", `"x"`, `b"yy"`)),
	T("fs.write", N("path", `"pub/w.txt"`, `"zone/w.txt"`), N("content", `"x"`, `1`)),
	T("fs.delete", N("path", `"pub/d.txt"`, `"pub/missing.txt"`)),
	T("fs.delete", N("path", `"pub/d.txt"`, `"denied/d.txt"`)),
	T("fs.list", N("dir", `"pub"`, `"pub/sub"`)),
	T("fs.list", N("dir", `"pub"`, `"zone"`)),
	T("fs.exists", N("path", `"pub/a.txt"`, `"pub/nope"`)),
	T("fs.exists", N("path", `"pub/a.txt"`, `"zone/z.txt"`)),
	T("fs.stat", N("path", `"pub/a.txt"`, `"pub/nope"`)),
	T("fs.stat", N("path", `"pub/a.txt"`, `"zone/z.txt"`)),
	T("fs.stat", N("path", `"pub/a.txt"`, `"denied/x.txt"`)),
	T("fs.is_dir", N("path", `"pub/sub"`, `"pub/a.txt"`)),
	T("fs.is_dir", N("path", `"pub/sub"`, `"zone"`)),
	T("fs.is_file", N("path", `"pub/a.txt"`, `"zone/z.txt"`)),
	T("fs.is_file", N("path", `"pub/a.txt"`, `"pub/sub"`)),
	T("fs.walk", N("dir", `"pub"`, `"pub/sub"`), N("dirs", "False", "True")),
	T("fs.walk", N("dir", `"pub"`, `"zone"`)),
	T("fs.walk", N("dir", `"."`, `"denied"`)),
	T("fs.glob", N("pattern", `"pub/**/*.txt"`, `"zone/*.txt"`)),
	T("fs.glob", N("pattern", `"pub/*.txt"`, `"pub/[x"`)),
	T("fs.glob", N("pattern", `"pub/**"`, `"**/*.txt"`)),
	T("net.http_get", N("url", `URL + "/a"`, `URL + "/b"`), N("headers", `{"X": "1"}`, `{"Y": "22"}`)),
	T("net.http_get", N("url", `URL + "/a"`, `URL + "/status/404"`)),
	T("net.http_get", N("url", `URL + "/a"`, `"http://denied.invalid/"`)),
	T("net.http_post", N("url", `URL + "/a"`, `URL + "/b"`), N("body", `"x"`, `"yy"`), N("headers", `{"X": "1"}`, `{"Y": 2}`)),
	T("net.http_put", N("url", `URL + "/a"`, `URL + "/status/500"`), N("body", `"x"`, `1`)),
	T("net.http_patch", N("url", `URL + "/a"`, `URL + "/b"`), N("body", `"x"`, `b"yy"`)),
	T("net.http_delete", N("url", `URL + "/a"`, `URL + "/b"`), N("headers", `{"X": "1"}`, `None`)),
	T("net.request", N("method", `"GET"`, `"POST"`), N("url", `URL + "/a"`, `URL + "/status/404"`), N("body", "None", `"b"`), N("headers", `{}`, `{"Z": "3"}`)),
	T("net.request", N("method", `"GET"`, `"BREW"`), N("url", `URL + "/a"`, `URL + "/b"`)),
	T("env.read", N("name", "PUB", `"PUB_OTHER"`)),
	T("env.read", N("name", "PUB", `"NOT_SET"`), N("default", "None", `"d"`)),
	T("subprocess.exec", N("argv", `["echo", "a"]`, `["echo", "b", "c"]`)),
	T("subprocess.exec", N("argv", `["echo", "a"]`, `["false"]`)),
	T("subprocess.exec", N("argv", `["echo", "a"]`, `["denied-cmd"]`)),
	T("subprocess.exec", N("argv", `["echo", "a"]`, `[]`)),

	// --- declassify (fixture.go: K, secrets/ and the local-only host
	// LURL allow every release, the zone only is_set; the values give the
	// same answer for both secrets, the alternatives another answer, a
	// denial or an error) ---
	T("declassify.is_set", K("env", `"K"`, `"NOT_SET"`)),
	T("declassify.is_set", K("env", `"K"`, `"MATRIX_PUB"`)),
	T("declassify.is_set", K("path", `"secrets/k.txt"`, `"secrets/none.txt"`)),
	T("declassify.is_set", K("path", `"zone/z.txt"`, `"denied/x.txt"`)),
	T("declassify.equals_sha256", N("digest", `"`+kDigest+`"`, `"00"`), K("path", `"secrets/k.txt"`, `"zone/z.txt"`)),
	T("declassify.equals_sha256", N("digest", `"`+kDigest+`"`, `sha256("x")`), K("env", `"K"`, `"MATRIX_PUB"`)),
	T("declassify.contains", N("needle", `"-"`, `"zz"`), K("env", `"K"`, `"NOT_SET"`)),
	T("declassify.contains", N("needle", `"only"`, `"data"`), K("path", `"secrets/k.txt"`, `"pub/a.txt"`)),
	T("declassify.has_keys", N("keys", `["a"]`, `["a", "z"]`), K("path", `"secrets/c.json"`, `"secrets/k.txt"`)),
	T("declassify.has_keys", N("keys", `["a"]`, `"a"`), K("env", `"K"`, `"PUB_OTHER"`)),
	T("declassify.count", N("substring", `"o"`, `"zz"`), K("path", `"secrets/k.txt"`, `"zone/z.txt"`), K("max", "10", "0")),
	T("declassify.count", N("substring", `"-"`, `""`), K("env", `"K"`, `"MATRIX_PUB"`), K("max", "1000", "-1")),
	T("declassify.status_ok", N("url", `LURL + "/a"`, `LURL + "/status/500"`), N("headers", `{"X": "1"}`, `{"Y": "22"}`)),
	T("declassify.status_ok", N("url", `LURL + "/a"`, `"http://vault.test:1/"`)),
	T("declassify.status", N("url", `LURL + "/a"`, `LURL + "/status/404"`), N("headers", `{}`, `{"Z": 3}`)),
	T("declassify.status", N("url", `URL + "/a"`, `"http://denied.invalid/"`)),

	// --- a Starlark function: parameter binding ---
	T("def", N("a", "1", "[2]"), N("b", "3", "4"), K("c", "5", "6")),
	T("def", N("a", "1", `"x"`)),
}

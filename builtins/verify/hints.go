package verify

import (
	"regexp"
	"strings"

	"github.com/aegisdev/aegis/internal/lazyre"
)

// Hint returns what Starlark offers instead of the Python habit behind an
// error, or "" when the error does not look like one. msg is the error's
// message (a parse or resolve error, or a runtime error whose message is
// public), line the source line it points at ("" for a runtime error), and
// predeclared the names a script sees without import (the modules and
// top-level functions), for the advice on import.
//
// It is the one place where errors learn about Python: the verifier uses it
// for scripts that do not parse or resolve (ScriptError), the runner for
// runtime errors it shows.
func Hint(msg, line string, predeclared []string) string {
	// Parse errors name the token the parser got: a Python keyword that
	// Starlark reserves, or punctuation of a Python-only construct.
	if m := gotToken().FindStringSubmatch(msg); m != nil {
		tok := m[1]
		switch tok {
		case "import", "from":
			return importHint(predeclared)
		case "try", "except", "finally", "raise":
			return "Starlark has no exceptions (no try/except/raise): check before operating " +
				"(`if s.isdigit(): n = int(s)`, `d.get(k, default)`, `if k in d:`, `fs.exists(path)`); " +
				"an error from a builtin ends the run. To stop on purpose, call fail(\"message\")."
		case "class":
			return "Starlark has no classes: use a dict for data, struct(name = ..., size = ...) for a record " +
				"(fields read as r.name), and plain functions for behaviour."
		case "with":
			return "Starlark has no with statement, and no files to open or close: " +
				"fs.read(path) returns the content, fs.write(path, content) writes it."
		case "del":
			return "Starlark has no del: d.pop(key) removes a dict entry, l.pop(i) or l.remove(x) a list element."
		case "yield":
			return "Starlark has no generators: build a list and return it."
		case "global", "nonlocal":
			return "Starlark has no global or nonlocal: a function cannot assign to an outer variable. " +
				"Return the new value, or change a list or dict it was given (d[k] = v, l.append(x))."
		case "async", "await":
			return "Starlark has no async/await: calls run one after the other."
		case "is":
			return "Starlark has no `is`: compare with == and != (`x == None`)."
		case "else":
			if strings.TrimSpace(line) == "else:" {
				return "Starlark has no for/else or while/else: set a flag in the loop (found = True; break) and test it after."
			}
		case "'**'":
			return "Starlark has no ** operator: math.pow(x, y) (a float), or multiply; ** only spreads a dict into keyword arguments."
		case "string literal":
			if fString().MatchString(line) {
				return formatHint("Starlark has no f-strings")
			}
			if py2Print().MatchString(line) {
				return "print is a function: print(\"text\", value)."
			}
			return "two literals side by side are not joined: use + (\"a\" + \"b\")."
		case "':'":
			switch {
			case strings.Contains(line, ":="):
				return "Starlark has no := (walrus): assign on its own line first."
			case strings.Contains(line, "->") || annotation().MatchString(line) || annotatedDef().MatchString(line):
				return "Starlark has no type annotations: write `x = 5` and `def f(x):`."
			case strings.Contains(line, "{"):
				return "Starlark has no set literal {a, b}: write set([a, b])."
			}
		case "','":
			if strings.Contains(line, "{") && !strings.Contains(line, ":") {
				return "Starlark has no set literal {a, b}: write set([a, b])."
			}
		}
	}
	if strings.Contains(msg, "unexpected input character '@'") {
		return "Starlark has no decorators: call the wrapper yourself (f = wrap(f))."
	}
	if parseError(msg) && strings.Contains(line, "lambda") {
		return "a lambda's body is a single expression (no statements, no assignment): write a def for more."
	}
	if assertStmt().MatchString(line) && parseError(msg) {
		return "Starlark has no assert statement: `if not cond: fail(\"message\")`."
	}
	if m := undefined().FindStringSubmatch(msg); m != nil {
		if h, ok := undefinedHints[m[1]]; ok {
			return h
		}
		return ""
	}
	for _, r := range runtimeHints {
		if r.re().MatchString(msg) {
			return r.hint
		}
	}
	return ""
}

func importHint(predeclared []string) string {
	return "Starlark has no import, and nothing needs importing: " + strings.Join(predeclared, ", ") +
		" are predeclared; use them directly (json.decode(s), time.now(), math.sqrt(x))."
}

// formatHint says what Starlark's formatting offers, after what.
func formatHint(what string) string {
	return what + `: use "{} is {}".format(name, n) or "%s is %d" % (name, n). ` +
		`Format specs work in both ("{:.2f}", "{:>8}", "{:5d}", "{:,}", "%5d", "%-8s", "%.2f"); ` +
		`not supported: expressions or nested fields inside {} (compute them first), %*d, and the n and z options.`
}

// The patterns are compiled on first use: a run that needs no hint (most
// of them) does not pay for them at start-up.
var (
	gotToken     = lazyre.New(`^got ([a-z]+|'[^']+'|string literal), want `)
	fString      = lazyre.New(`(^|[^A-Za-z0-9_])([fF][rRbB]?|[rRbB][fF])["']`)
	py2Print     = lazyre.New(`^\s*print\s+["']`)
	annotation   = lazyre.New(`^\s*[A-Za-z_][A-Za-z0-9_]*\s*:\s*[A-Za-z_][A-Za-z0-9_.\[\], ]*=`)
	annotatedDef = lazyre.New(`^\s*def\s+\w+\s*\(.*\w\s*:\s*[A-Za-z_]`)
	assertStmt   = lazyre.New(`^\s*assert[\s(]`)
	undefined    = lazyre.New(`^undefined: ([A-Za-z_][A-Za-z0-9_]*)`)
)

// parseError reports whether msg is one of the parser's.
func parseError(msg string) bool {
	return gotToken().MatchString(msg) || strings.HasPrefix(msg, "unexpected input character")
}

// undefinedHints: Python builtins and modules Starlark has not, and what to
// use instead.
var undefinedHints = map[string]string{
	"isinstance":   `Starlark has no isinstance: compare type(x) with a name: type(x) == "dict" ("list", "string", "int", "float", "bool", "NoneType").`,
	"open":         "Starlark has no open: fs.read(path) returns a file's content, fs.write(path, content) writes one.",
	"input":        "scripts run unattended: there is no input(); pass values through the policy's inputs or files.",
	"exit":         `there is no exit(): the run ends at the end of the script; fail("message") stops it with an error.`,
	"quit":         `there is no quit(): the run ends at the end of the script; fail("message") stops it with an error.`,
	"sum":          "Starlark has no sum: total = 0, then `for x in xs: total += x`.",
	"round":        "Starlark has no round builtin: math.round(x) (half away from zero, a float), or int(x) to truncate.",
	"pow":          "Starlark has no pow builtin: math.pow(x, y).",
	"map":          "Starlark has no map: use a comprehension, [f(x) for x in xs].",
	"filter":       "Starlark has no filter: use a comprehension, [x for x in xs if cond(x)].",
	"iter":         "Starlark has no iterators: loop with for, or index a list.",
	"next":         "Starlark has no iterators: loop with for, or index a list (xs[0]).",
	"eval":         "Starlark has no eval or exec.",
	"exec":         "Starlark has no eval or exec.",
	"Exception":    `Starlark has no exceptions: fail("message") stops the run with an error.`,
	"ValueError":   `Starlark has no exceptions: fail("message") stops the run with an error.`,
	"KeyError":     `Starlark has no exceptions: fail("message") stops the run with an error.`,
	"TypeError":    `Starlark has no exceptions: fail("message") stops the run with an error.`,
	"RuntimeError": `Starlark has no exceptions: fail("message") stops the run with an error.`,
	"os":           "there is no os module: env.read(name) reads a variable, fs.read/fs.write/fs.list/fs.exists/fs.is_dir/fs.stat work on files, fs.walk(dir) and fs.glob(pattern) walk a tree, subprocess.exec(argv) runs a command.",
	"sys":          "there is no sys module: print writes output, fail(\"message\") stops the run with an error.",
	"re":           "there are no regular expressions: use string methods (split, partition, find, startswith, endswith, replace, strip, isdigit).",
	"datetime":     `there is no datetime module: time.now(), time.parse_time("2024-01-02T00:00:00Z"), t.format("2006-01-02") (Go layouts), time.parse_duration("1h").`,
	"requests":     "there is no requests module: net.http_get(url, headers = {...}), net.http_post(url, body), net.request(method, url, ...).",
	"urllib":       "there is no urllib module: net.http_get(url), net.request(method, url, body = ..., headers = ...).",
	"hashlib":      "there is no hashlib: sha256(data) returns the hex digest, hmac.sha256(key, message) an HMAC.",
}

// runtimeHints: runtime errors that Python habits cause.
var runtimeHints = []struct {
	re   func() *regexp.Regexp
	hint string
}{
	{lazyre.New(`^print: unexpected keyword argument "(end|file|flush)"`),
		`print takes only sep =, and each call prints one line: build the line first ("".join(parts), a + b, "{}{}".format(a, b)).`},
	{lazyre.New(`^unknown binary op: (string \+ (int|float|bool|NoneType)|(int|float|bool|NoneType) \+ string)`),
		`convert first: "n = " + str(n), or "n = {}".format(n).`},
	{lazyre.New(`^list has no \.sort field`), "Starlark lists have no sort(): l = sorted(l) (key = and reverse = work)."},
	{lazyre.New(`^(list|dict) has no \.copy field`), "no copy(): list(l) or dict(d) makes a shallow copy."},
	{lazyre.New(`^dict has no \.has_key field`), "use `k in d`."},
	{lazyre.New(`^dict has no \.iter(items|keys|values) field`), "use d.items(), d.keys(), d.values()."},
	{lazyre.New(`^bytes has no \.decode field`), "str(b) decodes UTF-8 bytes; base64.decode and hex.decode already return a str."},
	{lazyre.New(`^string has no \.encode field`), "bytes(s) encodes a str as UTF-8."},
	{lazyre.New(`^tuple has no \.(append|extend|insert|remove|pop|sort) field`), "tuples cannot change: use a list ([...])."},
	{lazyre.New(`^key .* not in dict$`), "check first: d.get(k, default), or `if k in d:` (Starlark has no try/except)."},
	{lazyre.New(`^index: value not in list`), "check first: `if x in l:` (Starlark has no try/except)."},
	{lazyre.New(`^int: invalid literal`), "check first: `if s.isdigit(): n = int(s)`; float(s) reads decimals (Starlark has no try/except)."},
}

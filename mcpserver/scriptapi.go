package mcpserver

// scriptAPI is the cheat sheet of the script API that aegis_run's
// description carries, so a model writes the right calls without a round
// trip. It is a digest of docs/running-scripts.md (served whole as the
// resource aegis://docs/script-api); a test checks that it names every
// member of every predeclared module, so a new builtin cannot be left out.
const scriptAPI = `Starlark is a Python dialect: no import, class, try/except, with or f-strings (use "%s" % x or "{}".format(x)); a failing call stops the script. Predeclared (relative paths resolve against the policy's directory):
fs.read(path) -> str | fs.write(path, content) -> None | fs.delete(path) -> None | fs.list(dir) -> list of names | fs.exists(path) -> bool | fs.is_dir(path) / fs.is_file(path) -> bool | fs.stat(path) -> struct(kind, size, mode, mtime) or None | fs.walk(dir, dirs=False) -> sorted paths of the files below dir | fs.glob("src/**/*.py") -> sorted matching files
net.http_get(url, headers={}) -> body str | net.http_post/http_put/http_patch(url, body, headers={}) -> str | net.http_delete(url, headers={}) -> str (status >= 400 fails; redirects are not followed) | net.request(method, url, body=None, headers={}) -> struct(status, headers, body), never fails on status
env.read(name, default=None) -> str, or default when unset
subprocess.exec(argv) -> stdout str (argv is a list of strings, no shell; a non-zero exit fails, quoting stderr)
json.encode(x) / json.encode_indent(x, prefix="", indent="\t") / json.indent(s) -> str | json.decode(s, default=?) -> value | base64.encode(data, urlsafe=False, padding=True) / base64.decode(s, urlsafe=False) -> str, base64.decode_bytes(s, urlsafe=False) -> bytes | hex.encode(data) / hex.decode(s) -> str, hex.decode_bytes(s) -> bytes | sha256(data) -> hex str | hmac.sha256(key, message) -> hex str, hmac.sha256_bytes(key, message) -> bytes | struct(**fields)
time.now() -> time (t.year … t.nanosecond, t.unix, t.format("2006-01-02 15:04:05"); labelled once local-only data was read: take the date first) | time.time(year=, month=, day=, hour=, minute=, second=, nanosecond=, location="UTC") | time.from_timestamp(sec, nsec=0) | time.parse_time(x, format=, location=) | time.parse_duration("1h30m") | time.is_valid_timezone(name) | durations time.nanosecond, time.microsecond, time.millisecond, time.second, time.minute, time.hour
math: math.sqrt, math.exp, math.log, math.pow, math.hypot, math.fabs, math.floor, math.ceil, math.round, math.mod, math.remainder, math.copysign, math.degrees, math.radians, math.gamma, math.sin, math.cos, math.tan, math.asin, math.acos, math.atan, math.atan2, math.sinh, math.cosh, math.tanh, math.asinh, math.acosh, math.atanh (log(x, base=e); ceil/floor -> int, the rest float); constants math.pi, math.e
declassify (only what [declassify] in the policy lists; public control only; charged to the leakage budget): declassify.is_set(env=NAME | path=FILE) -> bool | declassify.equals_sha256(digest, env= | path=) -> bool | declassify.contains(needle, env= | path=) -> bool | declassify.has_keys(keys, env= | path=) -> bool | declassify.count(substring, env= | path=, max=1000) -> int | declassify.status_ok(url, headers={}) -> bool | declassify.status(url, headers={}) -> int
str.format and % take Python's format specs ({:.2f}, {:>8}, %5d).
print(*args) writes the output; fail(msg) stops with an error.`

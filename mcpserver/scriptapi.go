package mcpserver

// scriptAPI is the cheat sheet of the script API that aegis_run's
// description carries, so a model writes the right calls without a round
// trip. It is a digest of docs/running-scripts.md (served whole as the
// resource aegis://docs/script-api); a test checks that it names every
// member of every predeclared module, so a new builtin cannot be left out.
const scriptAPI = `Starlark is a Python dialect: no import, class, try/except, with or f-strings (use "%s" % x or "{}".format(x)); a failing call stops the script. Predeclared (relative paths resolve against the policy's directory):
fs.read(path) -> str | fs.write(path, content) -> None | fs.delete(path) -> None | fs.list(dir) -> list of names | fs.exists(path) -> bool
net.http_get(url, headers={}) -> body str | net.http_post/http_put/http_patch(url, body, headers={}) -> str | net.http_delete(url, headers={}) -> str (status >= 400 fails; redirects are not followed) | net.request(method, url, body=None, headers={}) -> struct(status, headers, body), never fails on status
env.read(name, default=None) -> str, or default when unset
subprocess.exec(argv) -> stdout str (argv is a list of strings, no shell; a non-zero exit fails, quoting stderr)
json.encode(x) / json.encode_indent(x, prefix="", indent="\t") / json.indent(s) -> str | json.decode(s, default=?) -> value | base64.encode(data, urlsafe=False, padding=True) / base64.decode(s, urlsafe=False) -> str | hex.encode(data) / hex.decode(s) -> str | sha256(data) -> hex str | struct(**fields)
print(*args) writes the output; fail(msg) stops with an error.`

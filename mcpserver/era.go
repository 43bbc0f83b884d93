package mcpserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
)

// MCP has two eras. Legacy revisions (2025-11-25 and earlier) open a
// session with initialize and keep what it negotiated. The modern revision
// (2026-07-28) has no handshake: every request names its revision and the
// client's capabilities in params._meta, and the server answers each one on
// its own. aegis-mcp speaks both, per request, on one connection: a
// request that carries a modern protocolVersion in _meta is modern, any
// other is legacy.

// modernVersions are the stateless revisions this server speaks, newest first.
var modernVersions = []string{"2026-07-28"}

// legacyVersions are the initialize-era revisions, newest first. initialize
// negotiates among these only: a client asking initialize for a modern
// revision gets the newest legacy one, since initialize is itself legacy.
var legacyVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// allVersions lists every revision, newest first: server/discover's
// supportedVersions and the data of an unsupported-version error.
func allVersions() []string { return append(slices.Clone(modernVersions), legacyVersions...) }

// The _meta keys of the modern era.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
)

// codeUnsupportedProtocolVersion answers a modern request whose revision
// this server does not implement (2026-07-28, basic/versioning).
const codeUnsupportedProtocolVersion = -32022

// Cache hints of the modern era (server/utilities/caching). Nothing this
// server lists changes while the process runs: the policy is loaded once.
// The lists hold no user data and may be shared; the policy resource names
// the operator's paths and stays with this client.
const (
	cacheTTLMillis = 60 * 60 * 1000
	scopePublic    = "public"
	scopePrivate   = "private"
)

// reqInfo is what one request speaks, and so how it is answered.
type reqInfo struct {
	modern  bool
	version string // the revision of the answer: the request's (modern) or the session's (legacy)
	elicit  bool   // the client declared elicitation, so a user can be asked
}

// atLeast reports whether the request's revision is rev or newer. Revision
// names are dates, so they order as strings.
func (r reqInfo) atLeast(rev string) bool { return r.version >= rev }

// requestMeta classifies a request by its params._meta. ok is false when
// the request is legacy (no modern revision named); a non-nil error means
// a modern request that cannot be served.
func requestMeta(params map[string]json.RawMessage) (reqInfo, bool, *jsonrpc2.Error) {
	raw, present := params["_meta"]
	if !present || string(raw) == "null" {
		return reqInfo{}, false, nil
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(raw, &meta) != nil {
		return reqInfo{}, false, rpcError(codeInvalidParams, "Invalid params: params._meta must be an object")
	}
	vraw, present := meta[metaProtocolVersion]
	if !present {
		return reqInfo{}, false, nil
	}
	var version string
	if json.Unmarshal(vraw, &version) != nil || version == "" {
		return reqInfo{}, false, unsupportedVersion(vraw, fmt.Sprintf("Invalid params: _meta[%q] must be a revision name such as %q", metaProtocolVersion, modernVersions[0]), codeInvalidParams)
	}
	if slices.Contains(legacyVersions, version) {
		// The legacy era never defined this key; a client that sends it
		// anyway is served by the legacy rules (initialize first).
		return reqInfo{}, false, nil
	}
	if !slices.Contains(modernVersions, version) {
		return reqInfo{}, false, unsupportedVersion(vraw, fmt.Sprintf("Unsupported protocol version %q: this server speaks %s", version, strings.Join(allVersions(), ", ")), codeUnsupportedProtocolVersion)
	}
	capsRaw, present := meta[metaClientCapabilities]
	var caps map[string]json.RawMessage
	if !present || json.Unmarshal(capsRaw, &caps) != nil || caps == nil {
		return reqInfo{}, false, rpcError(codeInvalidParams, fmt.Sprintf(
			"Invalid params: a %s request needs _meta[%q] as an object (use {} for none)", version, metaClientCapabilities))
	}
	if ci, present := meta[metaClientInfo]; present {
		var info map[string]json.RawMessage
		if json.Unmarshal(ci, &info) != nil || info == nil {
			return reqInfo{}, false, rpcError(codeInvalidParams, fmt.Sprintf("Invalid params: _meta[%q] must be an object with name and version", metaClientInfo))
		}
	}
	e, declared := caps["elicitation"]
	return reqInfo{modern: true, version: version, elicit: declared && string(e) != "null"}, true, nil
}

// unsupportedVersion is the error that names the revisions on offer, so a
// client can retry with one of them.
func unsupportedVersion(requested json.RawMessage, msg string, code int64) *jsonrpc2.Error {
	e := rpcError(code, msg)
	data := map[string]any{"supported": allVersions()}
	if len(requested) > 0 {
		data["requested"] = requested
	}
	e.SetError(data)
	return e
}

// removedInModern names the legacy methods a modern request may not use.
var removedInModern = map[string]string{
	"initialize":            "there is no handshake: every request carries its revision and capabilities in params._meta",
	"ping":                  "liveness is the transport's business",
	"logging/setLevel":      "this server sends no log messages",
	"resources/subscribe":   "this server's resources never change while it runs",
	"resources/unsubscribe": "this server's resources never change while it runs",
}

// serverInfo identifies this server in initialize results and in the
// _meta of modern results.
func (s *session) serverInfo() map[string]any {
	return map[string]any{"name": "aegis-mcp", "version": s.opts.Version}
}

// complete marks a modern result: resultType "complete", the server's
// identity in _meta and, for the listing methods, the cache hints. Legacy
// results pass through untouched.
func (s *session) complete(info reqInfo, res map[string]any, scope string) map[string]any {
	if !info.modern {
		return res
	}
	res["resultType"] = "complete"
	meta, _ := res["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[metaServerInfo] = s.serverInfo()
	res["_meta"] = meta
	if scope != "" {
		res["ttlMs"] = cacheTTLMillis
		res["cacheScope"] = scope
	}
	return res
}

// discover answers server/discover: the revisions, capabilities and
// identity of this server, for clients that skip initialize.
func (s *session) discover(info reqInfo) map[string]any {
	return s.complete(info, map[string]any{
		"supportedVersions": allVersions(),
		"capabilities":      serverCapabilities(),
		"instructions":      instructions,
	}, scopePublic)
}

// serverCapabilities are the same in both eras.
func serverCapabilities() map[string]any {
	return map[string]any{
		"tools":     map[string]any{"listChanged": false},
		"resources": map[string]any{"listChanged": false, "subscribe": false},
	}
}

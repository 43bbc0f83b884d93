package mcpserver_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

// Tests of the modern era (MCP 2026-07-28): no handshake, every request
// names its revision and the client's capabilities in params._meta.

const modern = "2026-07-28"

// modernMeta is the _meta a 2026-07-28 request carries.
func modernMeta(caps map[string]any) map[string]any {
	if caps == nil {
		caps = map[string]any{}
	}
	return map[string]any{
		"io.modelcontextprotocol/protocolVersion":    modern,
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "wire-test", "version": "0"},
		"io.modelcontextprotocol/clientCapabilities": caps,
	}
}

// modernRequest sends a request with the modern _meta merged into params.
func (w *wire) modernRequest(id any, method string, params map[string]any, caps map[string]any) msg {
	w.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = modernMeta(caps)
	return w.request(id, method, params)
}

// modernResult decodes a modern result and checks what every one carries.
func modernResult(t *testing.T, r msg, cacheable bool) map[string]json.RawMessage {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("want a result, got %s", r.Raw)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	if string(res["resultType"]) != `"complete"` {
		t.Errorf("a modern result needs resultType \"complete\": %s", r.Raw)
	}
	var meta map[string]json.RawMessage
	var info struct{ Name, Version string }
	if json.Unmarshal(res["_meta"], &meta) != nil || json.Unmarshal(meta["io.modelcontextprotocol/serverInfo"], &info) != nil || info.Name != "aegis-mcp" {
		t.Errorf("a modern result names the server in _meta: %s", r.Raw)
	}
	var ttl int
	var scope string
	hasTTL := json.Unmarshal(res["ttlMs"], &ttl) == nil && ttl >= 0
	hasScope := json.Unmarshal(res["cacheScope"], &scope) == nil && (scope == "public" || scope == "private")
	if cacheable != (hasTTL && hasScope) {
		t.Errorf("cache hints present = %v/%v, want %v: %s", hasTTL, hasScope, cacheable, r.Raw)
	}
	return res
}

func TestModernDiscover(t *testing.T) {
	w := startWire(t, mcpserver.Options{Version: "1.2.3"})
	res := modernResult(t, w.modernRequest("d", "server/discover", nil, nil), true)
	var versions []string
	if err := json.Unmarshal(res["supportedVersions"], &versions); err != nil ||
		strings.Join(versions, ",") != "2026-07-28,2025-11-25,2025-06-18,2025-03-26,2024-11-05" {
		t.Errorf("supportedVersions: %s", res["supportedVersions"])
	}
	var caps struct {
		Tools, Resources map[string]bool
	}
	if err := json.Unmarshal(res["capabilities"], &caps); err != nil || caps.Tools == nil || caps.Resources == nil {
		t.Errorf("capabilities: %s", res["capabilities"])
	}
	if !bytes.Contains(res["_meta"], []byte(`"version":"1.2.3"`)) || len(res["instructions"]) < 20 {
		t.Errorf("serverInfo version or instructions missing: %s / %s", res["_meta"], res["instructions"])
	}
}

func TestModernRequestsNeedNoHandshake(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	res := modernResult(t, w.modernRequest(1, "tools/list", nil, nil), true)
	if !bytes.Contains(res["tools"], []byte(`"outputSchema"`)) || !bytes.Contains(res["tools"], []byte(`"annotations"`)) {
		t.Errorf("a modern tools/list has every field of the newest revision: %s", res["tools"])
	}
	r := w.modernRequest(2, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": `print("hi")`}}, nil)
	call := modernResult(t, r, false)
	var sc map[string]any
	if json.Unmarshal(call["structuredContent"], &sc) != nil || sc["stdout"] != "hi\n" || sc["exit_kind"] != "ok" {
		t.Errorf("modern tools/call: %s", r.Raw)
	}
	if !bytes.Contains(call["_meta"], []byte(`"dev.aegis/exit_kind":"ok"`)) {
		t.Errorf("the exit kind tag must survive next to serverInfo: %s", call["_meta"])
	}
	// A tool execution error is a complete result too.
	r = w.modernRequest(3, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": `deny("fs.read", "/etc/shadow")`}}, nil)
	if res := modernResult(t, r, false); string(res["isError"]) != "true" {
		t.Errorf("denial: %s", r.Raw)
	}
	// Protocol errors stay JSON-RPC errors.
	r = w.modernRequest(4, "tools/call", map[string]any{"name": "aegis_rnu"}, nil)
	if r.Error == nil || r.Error.Code != -32602 || !strings.Contains(r.Error.Message, "aegis_run") {
		t.Errorf("unknown tool: %s", r.Raw)
	}
}

func TestModernRequestValidation(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	// Missing clientCapabilities: malformed.
	r := w.request(1, "tools/list", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": modern}})
	if r.Error == nil || r.Error.Code != -32602 || !strings.Contains(r.Error.Message, "clientCapabilities") {
		t.Errorf("missing clientCapabilities: %s", r.Raw)
	}
	r = w.request(2, "tools/list", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": modern,
		"io.modelcontextprotocol/clientCapabilities": []int{1}}})
	if r.Error == nil || r.Error.Code != -32602 {
		t.Errorf("clientCapabilities not an object: %s", r.Raw)
	}
	r = w.request(3, "tools/list", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": modern,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{}, "io.modelcontextprotocol/clientInfo": "me"}})
	if r.Error == nil || r.Error.Code != -32602 || !strings.Contains(r.Error.Message, "clientInfo") {
		t.Errorf("clientInfo not an object: %s", r.Raw)
	}
	// A revision nobody knows: -32022 with the list to retry with.
	for i, v := range []any{"2027-01-01", "1900-01-01", 42} {
		r = w.request(10+i, "server/discover", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": v,
			"io.modelcontextprotocol/clientCapabilities": map[string]any{}}})
		want := int64(-32022)
		if _, isNum := v.(int); isNum {
			want = -32602
		}
		var data struct {
			Supported []string
			Requested any
		}
		if r.Error == nil || r.Error.Code != want || json.Unmarshal(r.Error.Data, &data) != nil ||
			len(data.Supported) != 5 || data.Supported[0] != modern || data.Requested != v && want == -32022 {
			t.Errorf("version %v: want %d with data.supported and data.requested, got %s", v, want, r.Raw)
		}
	}
	// Methods the modern era removed.
	for _, m := range []string{"initialize", "ping"} {
		r = w.modernRequest(m, m, map[string]any{"protocolVersion": modern, "capabilities": map[string]any{}}, nil)
		if r.Error == nil || r.Error.Code != -32601 || !strings.Contains(r.Error.Message, modern) {
			t.Errorf("%s in a modern request: want -32601 naming the revision, got %s", m, r.Raw)
		}
	}
	// None of that touched the legacy side: the connection can still
	// initialize.
	w.initialize("2025-11-25", nil)
}

// One connection can carry both eras: a legacy session keeps its revision
// and a modern request gets the modern shape.
func TestErasInterleave(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2024-11-05", nil)
	legacy := w.request(1, "tools/list", nil)
	if bytes.Contains(legacy.Result, []byte("outputSchema")) || bytes.Contains(legacy.Result, []byte("resultType")) || bytes.Contains(legacy.Result, []byte("ttlMs")) {
		t.Errorf("a 2024-11-05 session must not see newer fields: %s", legacy.Raw)
	}
	modernList := modernResult(t, w.modernRequest(2, "tools/list", nil, nil), true)
	if !bytes.Contains(modernList["tools"], []byte("outputSchema")) {
		t.Errorf("modern tools/list: %s", modernList["tools"])
	}
	res := w.callTool(3, "aegis_run", map[string]any{"script": `print("x")`})
	if res.StructuredContent != nil {
		t.Errorf("the legacy session must still get its own revision: %+v", res)
	}
	// A legacy revision named in _meta is served by the legacy rules.
	r := w.request(4, "tools/list", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2025-06-18"}})
	if r.Error != nil || bytes.Contains(r.Result, []byte("resultType")) {
		t.Errorf("legacy revision in _meta: %s", r.Raw)
	}
}

func TestResources(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	r := w.request(1, "resources/list", nil)
	var list struct {
		Resources []struct{ URI, Name, Title, MimeType, Description string }
	}
	if err := json.Unmarshal(r.Result, &list); err != nil || len(list.Resources) != 2 {
		t.Fatalf("resources/list: %s", r.Raw)
	}
	read := func(id any, uri string) (string, string) {
		r := w.request(id, "resources/read", map[string]any{"uri": uri})
		var res struct {
			Contents []struct{ URI, MimeType, Text string }
		}
		if err := json.Unmarshal(r.Result, &res); err != nil || len(res.Contents) != 1 || res.Contents[0].URI != uri {
			t.Fatalf("resources/read %s: %s", uri, r.Raw)
		}
		return res.Contents[0].MimeType, res.Contents[0].Text
	}
	for i, res := range list.Resources {
		if res.Title == "" || res.Description == "" || res.Name == "" {
			t.Errorf("resource %s lacks a name, title or description", res.URI)
		}
		mime, _ := read(10+i, res.URI)
		if mime != res.MimeType {
			t.Errorf("%s: listed as %s, read as %s", res.URI, res.MimeType, mime)
		}
	}
	mime, api := read(2, "aegis://docs/script-api")
	for _, want := range []string{"fs.read(path)", "subprocess.exec(argv)", "net.request(", "exit_kind"} {
		if mime != "text/markdown" || !strings.Contains(api, want) {
			t.Errorf("the script API resource lacks %q", want)
		}
	}
	_, policy := read(3, "aegis://policy")
	var p map[string]any
	if err := json.Unmarshal([]byte(policy), &p); err != nil || p["effective"] == nil || p["source"] != "fake.toml" {
		t.Errorf("the policy resource must be the full effective policy: %s", policy)
	}
	r = w.request(4, "resources/read", map[string]any{"uri": "file:///etc/passwd"})
	if r.Error == nil || r.Error.Code != -32002 || !strings.Contains(r.Error.Message, "aegis://policy") {
		t.Errorf("unknown resource (legacy): want -32002 listing what exists, got %s", r.Raw)
	}
	r = w.request(5, "resources/read", map[string]any{})
	if r.Error == nil || r.Error.Code != -32602 {
		t.Errorf("resources/read without uri: %s", r.Raw)
	}
	r = w.request(6, "resources/templates/list", nil)
	if r.Error != nil || string(r.Result) != `{"resourceTemplates":[]}` {
		t.Errorf("templates: %s", r.Raw)
	}
	// Modern: cache hints, and -32602 for an unknown resource (SEP-2164).
	modernResult(t, w.modernRequest(7, "resources/list", nil, nil), true)
	res := modernResult(t, w.modernRequest(8, "resources/read", map[string]any{"uri": "aegis://policy"}, nil), true)
	if string(res["cacheScope"]) != `"private"` {
		t.Errorf("the policy names the operator's paths: cacheScope must be private, got %s", res["cacheScope"])
	}
	r = w.modernRequest(9, "resources/read", map[string]any{"uri": "aegis://nope"}, nil)
	if r.Error == nil || r.Error.Code != -32602 {
		t.Errorf("unknown resource (modern): want -32602, got %s", r.Raw)
	}
}

// inputRequired is a modern interim result (multi round-trip request).
type inputRequired struct {
	ResultType    string `json:"resultType"`
	InputRequests map[string]struct {
		Method string      `json:"method"`
		Params elicitation `json:"params"`
	} `json:"inputRequests"`
	RequestState string          `json:"requestState"`
	Content      json.RawMessage `json:"content"`
}

func (w *wire) askedInput(r msg) (string, string, elicitation) {
	w.t.Helper()
	var ir inputRequired
	if r.Error != nil || json.Unmarshal(r.Result, &ir) != nil || ir.ResultType != "input_required" || ir.RequestState == "" || len(ir.InputRequests) != 1 || ir.Content != nil {
		w.t.Fatalf("want an input_required result with one question and no content, got %s", r.Raw)
	}
	for k, q := range ir.InputRequests {
		if q.Method != "elicitation/create" {
			w.t.Fatalf("input request %s: method %q", k, q.Method)
		}
		return k, ir.RequestState, q.Params
	}
	return "", "", elicitation{}
}

var elicitCaps = map[string]any{"elicitation": map[string]any{"form": map[string]any{}}}

// A modern client is asked for approval with an input_required result, and
// the script continues where it stopped once the retry brings the answer.
func TestModernApprovalByInputRequired(t *testing.T) {
	script := "print(\"before\")\n" + confirmScript + "\nprint(\"after\")"
	call := func(w *wire, id any, extra map[string]any) msg {
		params := map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": script, "task_id": "t-9"}}
		for k, v := range extra {
			params[k] = v
		}
		return w.modernRequest(id, "tools/call", params, elicitCaps)
	}
	for _, c := range []struct {
		name    string
		answer  any
		allowed bool
		why     string
	}{
		{"accept", map[string]any{"action": "accept", "content": map[string]any{"approved": true}}, true, ""},
		{"decline", map[string]any{"action": "decline"}, false, `the user declined it`},
		{"no answer", nil, false, "did not answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
			key, state, q := w.askedInput(call(w, 1, nil))
			if !strings.Contains(q.Message, "fs.delete") || !strings.Contains(q.Message, `"t-9"`) || q.RequestedSchema["type"] != "object" {
				t.Errorf("the question: %+v", q)
			}
			responses := map[string]any{}
			if c.answer != nil {
				responses[key] = c.answer
			}
			r := call(w, 2, map[string]any{"inputResponses": responses, "requestState": state})
			res := modernResult(t, r, false)
			var sc struct {
				ExitKind string `json:"exit_kind"`
				Stdout   string `json:"stdout"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal(res["structuredContent"], &sc); err != nil {
				t.Fatalf("%s", r.Raw)
			}
			if c.allowed {
				// One run: "before" printed once, the approved call, then the rest.
				if sc.ExitKind != "ok" || sc.Stdout != "before\napproved fs.delete\nafter\n" {
					t.Errorf("want the run to continue after the approval, got %s", r.Raw)
				}
			} else if sc.ExitKind != "confirm_denied" || !strings.Contains(sc.Error, c.why) {
				t.Errorf("want confirm_denied explaining %q, got %s", c.why, r.Raw)
			}
			if n := len(w.backend.Runs()); n != 1 {
				t.Errorf("the script must run once, not be replayed: %d runs", n)
			}
			// A requestState is good for one retry.
			r = call(w, 3, map[string]any{"inputResponses": responses, "requestState": state})
			if res := w.decodeResult(r); !res.IsError || !strings.Contains(res.text(), "not open") {
				t.Errorf("a second retry with the same requestState: %s", r.Raw)
			}
			if strings.Contains(w.allOutput(), `"method":"elicitation/create","params"`) && strings.Contains(w.allOutput(), `"id":"aegis-elicit`) {
				t.Errorf("a modern request must never make the server send a request of its own")
			}
		})
	}
}

func TestModernApprovalRetryMustMatchTheCall(t *testing.T) {
	w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
	r := w.modernRequest(1, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": confirmScript}}, elicitCaps)
	key, state, _ := w.askedInput(r)
	accept := map[string]any{key: map[string]any{"action": "accept", "content": map[string]any{"approved": true}}}
	// Another script cannot borrow this approval.
	r = w.modernRequest(2, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": `confirm("fs.delete", "delete /etc")`},
		"inputResponses": accept, "requestState": state}, elicitCaps)
	if res := w.decodeResult(r); !res.IsError || !strings.Contains(res.text(), "belongs to another call") {
		t.Errorf("a retry with other arguments: %s", r.Raw)
	}
	// The same arguments spelled differently still match.
	w.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{ "script" : ` + mustJSON(confirmScript) + ` },"name":"aegis_run",` +
		`"requestState":` + mustJSON(state) + `,"inputResponses":` + mustJSON(accept) + `,"_meta":` + mustJSON(modernMeta(elicitCaps)) + `}}`)
	if res := w.decodeResult(w.next()); res.IsError || res.text() != "approved fs.delete\n" {
		t.Errorf("the matching retry: %+v", res)
	}
}

func TestModernApprovalWithoutElicitationOrAnswer(t *testing.T) {
	// A client that did not declare elicitation is never asked.
	w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
	r := w.modernRequest(1, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": confirmScript}}, nil)
	if res := w.decodeResult(r); !res.IsError || !strings.Contains(res.text(), "did not declare the elicitation capability") {
		t.Errorf("no elicitation capability: %s", r.Raw)
	}
	// A question nobody answers times out; the run ends denied, its state
	// is forgotten, and the connection stays usable.
	b := mcptest.New()
	b.Finished = make(chan string, 1)
	w = startWire(t, mcpserver.Options{Backend: b, Confirm: mcpserver.ConfirmElicit, ElicitTimeout: 50 * time.Millisecond})
	r = w.modernRequest(1, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": confirmScript}}, elicitCaps)
	key, state, _ := w.askedInput(r)
	select {
	case <-b.Finished: // the question timed out, so the run ended denied
	case <-time.After(hangGuard):
		t.Fatalf("the unanswered question did not time out")
	}
	r = w.modernRequest(2, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": confirmScript},
		"inputResponses": map[string]any{key: map[string]any{"action": "accept", "content": map[string]any{"approved": true}}}, "requestState": state}, elicitCaps)
	if res := w.decodeResult(r); !res.IsError || !strings.Contains(res.text(), "not open") {
		t.Fatalf("a retry after the timeout must find nothing to approve: %s", r.Raw)
	}
	modernResult(t, w.modernRequest(3, "tools/list", nil, nil), true)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A run parked at a question holds no request, but stdin closing still
// ends it: the server exits promptly.
func TestParkedRunEndsAtEOF(t *testing.T) {
	b := mcptest.New()
	b.Finished = make(chan string, 1)
	w := startWire(t, mcpserver.Options{Backend: b, Confirm: mcpserver.ConfirmElicit})
	r := w.modernRequest(1, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": confirmScript}}, elicitCaps)
	w.askedInput(r)
	if err := w.close(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case <-b.Finished:
	case <-time.After(hangGuard):
		t.Fatalf("the parked run was not stopped")
	}
	w.expectEnd()
}

package mcpserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

// Each test below is one row of the robustness list in issue 5 (and of the
// conformance checks in the MCP interop reference), driven with raw lines.

func TestVersionNegotiation(t *testing.T) {
	cases := []struct{ requested, want string }{
		{"2025-11-25", "2025-11-25"},
		{"2025-06-18", "2025-06-18"},
		{"2025-03-26", "2025-03-26"},
		{"2024-11-05", "2024-11-05"},
		{"2026-07-28", "2025-11-25"}, // newer era not implemented: never echoed
		{"1999-01-01", "2025-11-25"}, // unknown: answer with our latest, successfully
		{"2025-11-25-beta", "2025-11-25"},
	}
	for _, c := range cases {
		t.Run(c.requested, func(t *testing.T) {
			w := startWire(t, mcpserver.Options{})
			r := w.initialize(c.requested, nil)
			var res struct {
				ProtocolVersion string `json:"protocolVersion"`
				Capabilities    struct {
					Tools *struct {
						ListChanged bool `json:"listChanged"`
					} `json:"tools"`
				} `json:"capabilities"`
				ServerInfo struct {
					Name    string `json:"name"`
					Version string `json:"version"`
				} `json:"serverInfo"`
			}
			if err := json.Unmarshal(r.Result, &res); err != nil {
				t.Fatal(err)
			}
			if res.ProtocolVersion != c.want {
				t.Errorf("negotiated %q, want %q", res.ProtocolVersion, c.want)
			}
			if res.Capabilities.Tools == nil || res.ServerInfo.Name != "aegis-mcp" || res.ServerInfo.Version == "" {
				t.Errorf("initialize result lacks tools capability or serverInfo: %s", r.Raw)
			}
		})
	}
}

func TestInitializeWithoutVersionIsInvalidParams(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	for i, params := range []string{`{}`, `{"protocolVersion":7}`, `{"protocolVersion":""}`, `{"protocolVersion":null}`} {
		w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"initialize","params":%s}`, i, params))
		r := w.next()
		if r.Error == nil || r.Error.Code != -32602 || string(r.ID) != fmt.Sprint(i) {
			t.Fatalf("params %s: want -32602 for id %d, got %s", params, i, r.Raw)
		}
		var data struct{ Supported []string }
		if json.Unmarshal(r.Error.Data, &data) != nil || len(data.Supported) != 5 || data.Supported[1] != "2025-11-25" {
			t.Errorf("error data should list the supported versions: %s", r.Raw)
		}
	}
	w.initialize("2025-11-25", nil) // the session survived
}

func TestDuplicateInitializeKeepsVersion(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`) // before initialize: ignored
	w.initialize("2025-03-26", nil)
	r := w.request(2, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}})
	if r.Error == nil || r.Error.Code != -32600 {
		t.Fatalf("second initialize: want -32600, got %s", r.Raw)
	}
	// Still a 2025-03-26 session: tools carry annotations but no outputSchema.
	r = w.request(3, "tools/list", nil)
	if bytes.Contains(r.Result, []byte("outputSchema")) || !bytes.Contains(r.Result, []byte("annotations")) {
		t.Errorf("session version changed after a rejected initialize: %s", r.Raw)
	}
}

func TestRequestsBeforeInitialize(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.ping(1) // ping is allowed before initialization
	for i, method := range []string{"tools/list", "tools/call"} {
		r := w.request(10+i, method, map[string]any{"name": "aegis_policy"})
		if r.Error == nil || r.Error.Code != -32600 || !strings.Contains(r.Error.Message, "initialize") {
			t.Errorf("%s before initialize: want -32600 naming initialize, got %s", method, r.Raw)
		}
	}
	// A server/discover without the modern _meta is malformed: dual-era
	// clients fall back to initialize on it. (With the _meta, it is
	// answered: see TestModern*.)
	r := w.request("probe", "server/discover", nil)
	if r.Error == nil || r.Error.Code != -32602 || !strings.Contains(r.Error.Message, "io.modelcontextprotocol/protocolVersion") {
		t.Fatalf("server/discover without _meta: want -32602 naming the _meta key, got %s", r.Raw)
	}
	w.initialize("2025-11-25", nil)
	w.ping(2)
}

func TestUnknownMethodAndNotification(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	r := w.request(7, "no/such/method", nil)
	if r.Error == nil || r.Error.Code != -32601 {
		t.Fatalf("unknown method: %s", r.Raw)
	}
	for _, m := range []string{"prompts/list", "logging/setLevel", "shutdown", "exit"} {
		if r := w.request(m, m, nil); r.Error == nil || r.Error.Code != -32601 {
			t.Errorf("%s: want -32601, got %s", m, r.Raw)
		}
	}
	// Unknown notifications and a stray response get no answer: the next
	// line must be the ping's reply.
	w.send(`{"jsonrpc":"2.0","method":"notifications/no_such_thing","params":{"x":1}}`)
	w.send(`{"jsonrpc":"2.0","id":99,"result":{}}`)
	w.send(`{"jsonrpc":"2.0","id":-5,"error":{"code":1,"message":"x"}}`)
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"never-sent"}}`)
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":"bogus"}`)
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled"}`)
	w.ping(8)
}

func TestIDsEchoedByteExactly(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	ids := []string{
		`"abc"`, `""`, `0`, `-1`, `-0`, `9007199254740991`, `9223372036854775807`,
		`9223372036854775808`, `18446744073709551615`, `18446744073709551616`,
		`123456789012345678901234567890`, `-9223372036854775809`,
		`"\u0041"`, `"<tag>&"`, `"é😀"`, `"\u00e9"`, `"a\"b"`,
		`"\u0000aegis-id:1"`, // tries to collide with the server's private ids
	}
	for _, id := range ids {
		w.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`)
		r := w.next()
		if string(r.ID) != id || r.Error != nil {
			t.Errorf("id %s came back as %s (%s)", id, r.ID, r.Raw)
		}
	}
	// The same ids through a real tool call (the reply leaves from another goroutine).
	w.initialize("2025-11-25", nil)
	for _, id := range []string{`-7`, `18446744073709551616`, `"\u0041"`} {
		w.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"print(\"hi\")"}}}`)
		r := w.next()
		if string(r.ID) != id || r.Error != nil {
			t.Errorf("tools/call id %s came back as %s", id, r.ID)
		}
	}
}

var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func TestToolsList(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	r := w.request(1, "tools/list", map[string]any{"_meta": map[string]any{"progressToken": "p"}})
	var res struct {
		Tools []struct {
			Name         string                     `json:"name"`
			Title        string                     `json:"title"`
			InputSchema  map[string]json.RawMessage `json:"inputSchema"`
			OutputSchema map[string]json.RawMessage `json:"outputSchema"`
			Annotations  map[string]any             `json:"annotations"`
		} `json:"tools"`
		NextCursor *string `json:"nextCursor"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if !toolNamePattern.MatchString(tool.Name) {
			t.Errorf("invalid tool name %q", tool.Name)
		}
		if string(tool.InputSchema["type"]) != `"object"` || string(tool.InputSchema["additionalProperties"]) != "false" {
			t.Errorf("%s: inputSchema must be an object with additionalProperties:false: %v", tool.Name, tool.InputSchema)
		}
		// Only the tools that run a script return structuredContent; the
		// read-only ones answer with one JSON text block.
		runs := tool.Name != "aegis_policy" && tool.Name != "aegis_explain" && tool.Name != "aegis_tool_routing"
		if runs != (string(tool.OutputSchema["type"]) == `"object"`) {
			t.Errorf("%s: outputSchema %v; want an object schema exactly for the tools that run scripts", tool.Name, tool.OutputSchema)
		}
		if tool.Title == "" || tool.Annotations == nil {
			t.Errorf("%s: missing title or annotations", tool.Name)
		}
	}
	want := "aegis_run,aegis_fs_read,aegis_fs_write,aegis_exec,aegis_http_get,aegis_policy,aegis_explain,aegis_tool_routing"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("tools = %s, want %s", got, want)
	}
	if res.NextCursor != nil {
		t.Errorf("nextCursor must be absent: the list is one page")
	}
	again := w.request(2, "tools/list", nil)
	if !bytes.Equal(again.Result, r.Result) {
		t.Errorf("tools/list is not deterministic")
	}
	bad := w.request(3, "tools/list", map[string]any{"cursor": "abc"})
	if bad.Error == nil || bad.Error.Code != -32602 {
		t.Errorf("invalid cursor: want -32602, got %s", bad.Raw)
	}
}

func TestToolsListFollowsTheNegotiatedRevision(t *testing.T) {
	for _, c := range []struct {
		version                          string
		annotations, title, outputSchema bool
	}{
		{"2024-11-05", false, false, false},
		{"2025-03-26", true, false, false},
		{"2025-06-18", true, true, true},
	} {
		w := startWire(t, mcpserver.Options{})
		w.initialize(c.version, nil)
		r := w.request(1, "tools/list", nil)
		var list struct{ Tools []map[string]json.RawMessage }
		if err := json.Unmarshal(r.Result, &list); err != nil || len(list.Tools) == 0 {
			t.Fatalf("tools/list: %v %s", err, r.Raw)
		}
		for _, tool := range list.Tools {
			if !bytes.HasPrefix(tool["name"], []byte(`"aegis_run"`)) {
				continue
			}
			for field, want := range map[string]bool{"annotations": c.annotations, "title": c.title, "outputSchema": c.outputSchema} {
				if _, got := tool[field]; got != want {
					t.Errorf("%s: %s present = %v, want %v", c.version, field, got, want)
				}
			}
		}
		res := w.callTool(2, "aegis_run", map[string]any{"script": `print("x")`})
		if (res.StructuredContent != nil) != c.outputSchema {
			t.Errorf("%s: structuredContent present = %v", c.version, res.StructuredContent != nil)
		}
		if res.Meta["dev.aegis/exit_kind"] != "ok" {
			t.Errorf("%s: result not tagged with its exit kind: %v", c.version, res.Meta)
		}
	}
}

func TestToolsCallProtocolErrors(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	for _, c := range []struct{ name, params, want string }{
		{"no name", `{"arguments":{}}`, "name"},
		{"name not a string", `{"name":5}`, "name"},
		{"arguments not an object", `{"name":"aegis_run","arguments":[1]}`, "arguments"},
		{"params not an object", `[1,2]`, "object"},
		{"unknown tool", `{"name":"aegis_rnu","arguments":{}}`, `did you mean "aegis_run"`},
	} {
		w.send(`{"jsonrpc":"2.0","id":"c","method":"tools/call","params":` + c.params + `}`)
		r := w.next()
		if r.Error == nil || r.Error.Code != -32602 || !strings.Contains(r.Error.Message, c.want) {
			t.Errorf("%s: want -32602 mentioning %q, got %s", c.name, c.want, r.Raw)
		}
	}
}

func TestUnknownFieldsTolerated(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","extra":true,"params":{"protocolVersion":"2025-11-25",` +
		`"capabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}},"roots":{"listChanged":true},"future":[1]},` +
		`"clientInfo":{"name":"x","version":"1","icons":[]},"_meta":{"io.modelcontextprotocol/anything":1}}}`)
	if r := w.next(); r.Error != nil {
		t.Fatalf("initialize with unknown fields: %s", r.Raw)
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/initialized","params":{"_meta":{}}}`)
	w.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","meta":{"x":1},"params":{"name":"aegis_run","arguments":{"script":"print(\"ok\")"},` +
		`"_meta":{"progressToken":"tok-1","io.modelcontextprotocol/x":{}},"task":{"ttl":1000}}}`)
	r := w.next()
	res := w.decodeResult(r)
	if res.IsError || res.text() != "ok\n" {
		t.Fatalf("tools/call with _meta and task: %s", r.Raw)
	}
	// No progress was promised, so none may be sent: the next line is the ping.
	w.ping(3)
}

func TestOversizedRequest(t *testing.T) {
	w := startWire(t, mcpserver.Options{MaxRequestBytes: 1 << 20})
	w.initialize("2025-11-25", nil)
	big := strings.Repeat("x", 2<<20)
	// Go SDK key order: id first.
	w.send(`{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"` + big + `"}}}`)
	r := w.next()
	if r.Error == nil || r.Error.Code != -32600 || string(r.ID) != "17" || !strings.Contains(r.Error.Message, "limit") {
		t.Fatalf("oversized (id first): want -32600 with id 17, got %.300s", r.Raw)
	}
	// TypeScript SDK key order: id last; and an "id" nested in params must not be taken.
	w.send(`{"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"` + big + `"},"_meta":{"id":5}},"jsonrpc":"2.0","id":"ts-18"}`)
	if r := w.next(); r.Error == nil || string(r.ID) != `"ts-18"` {
		t.Fatalf("oversized (id last): want the error for id \"ts-18\", got %.300s", r.Raw)
	}
	w.send(`{"method":"x","params":{"id":5,"pad":"` + big + `"}}`)
	if r := w.next(); r.Error == nil || string(r.ID) != "null" {
		t.Fatalf("oversized without a top-level id: want id null, got %.300s", r.Raw)
	}
	w.ping("after-big")
}

func TestHugeLineUsesBoundedMemory(t *testing.T) {
	w := startWire(t, mcpserver.Options{MaxRequestBytes: 1 << 20})
	chunk := bytes.Repeat([]byte("y"), 1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w.raw([]byte(`{"jsonrpc":"2.0","id":64,"method":"ping","params":{"pad":"`))
	for i := 0; i < 64; i++ { // a 64 MiB line
		w.raw(chunk)
	}
	w.raw([]byte("\"}}\n"))
	r := w.next()
	runtime.ReadMemStats(&after)
	if r.Error == nil || string(r.ID) != "64" {
		t.Fatalf("64 MiB line: %.300s", r.Raw)
	}
	// The server may not buffer the line; what the test itself allocates
	// (the 1 MiB chunk) is far below this bound.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 24<<20 {
		t.Errorf("reading a 64 MiB line allocated %d MiB", grew>>20)
	}
	w.ping("alive")
}

func TestLargeOutputIsTruncatedWithAMarker(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	w.send(`{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"big(20000000)"}}}`)
	r := w.next()
	if len(r.Raw) >= 10<<20 {
		t.Fatalf("response is %d bytes; clients drop lines of 10 MiB", len(r.Raw))
	}
	res := w.decodeResult(r)
	if !strings.Contains(res.text(), "[aegis-mcp: output truncated: showing") {
		t.Errorf("no truncation marker in %d bytes of text", len(res.text()))
	}
	if res.StructuredContent["truncated"] != true {
		t.Errorf("structuredContent.truncated not set")
	}
}

func TestResponseCapIsAHardLimit(t *testing.T) {
	// Even if a result escaped the output budget, the stream replaces an
	// oversized line with an error for the same id.
	w := startWire(t, mcpserver.Options{MaxResponseBytes: 64 << 10, MaxOutputBytes: 1 << 20})
	w.initialize("2025-11-25", nil)
	r := w.request(21, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": "big(200000)"}})
	if r.Error == nil || r.Error.Code != -32603 || len(r.Raw) > 64<<10 {
		t.Fatalf("want a -32603 error for id 21, got %.300s", r.Raw)
	}
	w.ping("alive")
}

func TestOutputFramingRoundTrip(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	tricky := "a\nb\r\nc\u2028d\u2029\"\\</script>\x00\x1b[31mé😀\t"
	res := w.callTool(16, "aegis_run", map[string]any{"script": "print(" + fmt.Sprintf("%q", tricky) + ")"})
	if res.IsError || res.text() != tricky+"\n" || res.StructuredContent["stdout"] != tricky+"\n" {
		t.Fatalf("round trip: got %q", res.text())
	}
}

func TestPingWhileACallRuns(t *testing.T) {
	b := mcptest.New()
	b.Started = make(chan string, 4)
	w := startWire(t, mcpserver.Options{Backend: b})
	w.initialize("2025-11-25", nil)
	w.send(`{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()","task_id":"slow"}}}`)
	<-b.Started
	// sleep() blocks until cancelled, so these answers must overtake it.
	w.ping(21)
	if r := w.request(22, "tools/list", nil); r.Error != nil {
		t.Fatalf("tools/list during a call: %s", r.Raw)
	}
	res := w.callTool(23, "aegis_run", map[string]any{"script": `print("fast")`})
	if res.text() != "fast\n" {
		t.Fatalf("a second call did not complete beside the first: %q", res.text())
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":20,"reason":"test"}}`)
}

func TestCancelStopsTheRunAndSendsNothing(t *testing.T) {
	for _, id := range []string{`20`, `-3`, `"str-id"`, `18446744073709551617`} {
		t.Run(id, func(t *testing.T) {
			b := mcptest.New()
			b.Started = make(chan string, 4)
			b.Finished = make(chan string, 4)
			w := startWire(t, mcpserver.Options{Backend: b})
			w.initialize("2025-11-25", nil)
			w.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
			<-b.Started
			w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + id + `,"reason":"user abort"}}`)
			<-b.Finished // the run saw its context cancelled
			w.ping("after-cancel")
			if err := w.close(); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			w.expectEnd() // nothing was ever sent for the cancelled id
		})
	}
}

func TestDuplicateInFlightID(t *testing.T) {
	b := mcptest.New()
	b.Started = make(chan string, 4)
	w := startWire(t, mcpserver.Options{Backend: b})
	w.initialize("2025-11-25", nil)
	w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
	<-b.Started
	r := w.request(1, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": `print("x")`}})
	if r.Error == nil || r.Error.Code != -32600 {
		t.Fatalf("reused in-flight id: want -32600, got %s", r.Raw)
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`)
}

func TestBusyServerAnswersWithAToolError(t *testing.T) {
	b := mcptest.New()
	b.Started = make(chan string, 4)
	w := startWire(t, mcpserver.Options{Backend: b, MaxPendingCalls: 1})
	w.initialize("2025-11-25", nil)
	w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
	<-b.Started
	res := w.callTool(2, "aegis_run", map[string]any{"script": `print("x")`})
	if !res.IsError || !strings.Contains(res.text(), "busy") {
		t.Fatalf("want a busy tool error, got %+v", res)
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`)
}

func TestEOFExitsCleanly(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		w := startWire(t, mcpserver.Options{})
		w.initialize("2025-11-25", nil)
		if err := w.close(); err != nil {
			t.Fatalf("Serve returned %v on stdin EOF, want nil", err)
		}
		w.expectEnd()
	})
	t.Run("answers a call sent just before EOF", func(t *testing.T) {
		w := startWire(t, mcpserver.Options{})
		w.initialize("2025-11-25", nil)
		w.send(`{"jsonrpc":"2.0","id":30,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"print(\"last words\")"}}}`)
		_ = w.in.Close()
		r := w.next()
		if string(r.ID) != "30" || !bytes.Contains(r.Result, []byte("last words")) {
			t.Fatalf("want the answer to id 30, got %s", r.Raw)
		}
		w.expectEnd()
	})
	t.Run("stops a runaway run", func(t *testing.T) {
		b := mcptest.New()
		b.Started = make(chan string, 4)
		b.Finished = make(chan string, 4)
		w := startWire(t, mcpserver.Options{Backend: b})
		w.initialize("2025-11-25", nil)
		w.send(`{"jsonrpc":"2.0","id":31,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"sleep()"}}}`)
		<-b.Started
		if err := w.close(); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		<-b.Finished // the run was cancelled, not abandoned
		w.expectEnd()
	})
	t.Run("last line without newline", func(t *testing.T) {
		w := startWire(t, mcpserver.Options{})
		w.raw([]byte(`{"jsonrpc":"2.0","id":"tail","method":"ping"}`))
		_ = w.in.Close()
		if r := w.next(); string(r.ID) != `"tail"` {
			t.Fatalf("unterminated last line not answered: %s", r.Raw)
		}
		w.expectEnd()
	})
}

func TestPanicInBackendBecomesInternalError(t *testing.T) {
	w := startWire(t, mcpserver.Options{})
	w.initialize("2025-11-25", nil)
	r := w.request(40, "tools/call", map[string]any{"name": "aegis_run", "arguments": map[string]any{"script": "panic()"}})
	if r.Error == nil || r.Error.Code != -32603 {
		t.Fatalf("want -32603, got %s", r.Raw)
	}
	w.ping("after-panic")
	if strings.Contains(w.logs.String(), "sk-live") || strings.Contains(w.allOutput(), "sk-live") {
		t.Errorf("the panic value (which may hold script data) leaked")
	}
	if logs := w.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "panic in a tool") || !strings.Contains(logs, "tool=aegis_run") {
		t.Errorf("the panic was not logged to stderr: %q", w.logs.String())
	}
}

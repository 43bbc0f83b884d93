package mcpserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcptest"
)

const confirmScript = `confirm("fs.delete", "delete /work/tmp.txt")`

func TestConfirmModesWithoutElicitation(t *testing.T) {
	cases := []struct {
		mode    mcpserver.ConfirmMode
		caps    map[string]any
		version string
		allowed bool
		why     string
	}{
		{mcpserver.ConfirmAutoAllow, nil, "2025-11-25", true, ""},
		{mcpserver.ConfirmAutoDeny, map[string]any{"elicitation": map[string]any{}}, "2025-11-25", false, "--confirm auto-deny"},
		{mcpserver.ConfirmElicit, nil, "2025-11-25", false, "did not declare the elicitation capability"},
		// Elicitation does not exist before 2025-06-18, whatever the client claims.
		{mcpserver.ConfirmElicit, map[string]any{"elicitation": map[string]any{}}, "2025-03-26", false, "did not declare the elicitation capability"},
	}
	for _, c := range cases {
		t.Run(string(c.mode)+"/"+c.version, func(t *testing.T) {
			w := startWire(t, mcpserver.Options{Confirm: c.mode})
			w.initialize(c.version, c.caps)
			res := w.callTool(1, "aegis_run", map[string]any{"script": confirmScript})
			if c.allowed {
				if res.IsError || res.text() != "approved fs.delete\n" {
					t.Fatalf("want approval, got %+v", res)
				}
				return
			}
			text := res.text()
			if !res.IsError || !strings.Contains(text, "confirm_denied") || !strings.Contains(text, c.why) {
				t.Fatalf("want a confirm_denied result explaining %q, got %q", c.why, text)
			}
			if !strings.Contains(text, "requires_approval") || !strings.Contains(text, "--confirm auto-allow") {
				t.Errorf("the denial must say how to allow the call: %q", text)
			}
			if strings.Contains(text, "declined") || strings.Contains(text, "denied by the user") {
				t.Errorf("nobody was asked, yet the denial blames the user: %q", text)
			}
			if res.Meta["dev.aegis/exit_kind"] != "confirm_denied" {
				t.Errorf("denial not tagged for orchestrators: %v", res.Meta)
			}
		})
	}
}

// elicitation is the server's elicitation/create request as seen on the wire.
type elicitation struct {
	Message         string         `json:"message"`
	RequestedSchema map[string]any `json:"requestedSchema"`
}

func TestConfirmByElicitation(t *testing.T) {
	cases := []struct {
		name    string
		answer  string // the client's reply, with ID for the request id
		allowed bool
		why     string
	}{
		{"accept approved", `{"jsonrpc":"2.0","id":ID,"result":{"action":"accept","content":{"approved":true}}}`, true, ""},
		{"accept for the session", `{"jsonrpc":"2.0","id":ID,"result":{"action":"accept","content":{"approved":true,"session":true}}}`, true, ""},
		{"accept unticked", `{"jsonrpc":"2.0","id":ID,"result":{"action":"accept","content":{"approved":false}}}`, false, `did not tick "approved"`},
		{"session without approved", `{"jsonrpc":"2.0","id":ID,"result":{"action":"accept","content":{"session":true}}}`, false, `did not tick "approved"`},
		{"accept with a string", `{"jsonrpc":"2.0","id":ID,"result":{"action":"accept","content":{"approved":"yes"}}}`, false, `did not tick "approved"`},
		{"decline", `{"jsonrpc":"2.0","id":ID,"result":{"action":"decline"}}`, false, "the user declined it"},
		{"cancel", `{"jsonrpc":"2.0","id":ID,"result":{"action":"cancel"}}`, false, "cancelled the question"},
		{"unknown action", `{"jsonrpc":"2.0","id":ID,"result":{"action":"maybe"}}`, false, `action "maybe"`},
		{"client error", `{"jsonrpc":"2.0","id":ID,"error":{"code":-32601,"message":"no"}}`, false, "could not ask the user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
			w.initialize("2025-11-25", map[string]any{"elicitation": map[string]any{"form": map[string]any{}}})
			w.send(`{"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"` +
				strings.ReplaceAll(confirmScript, `"`, `\"`) + `","task_id":"t-7"}}}`)
			req := w.next()
			if req.Method != "elicitation/create" || len(req.ID) == 0 {
				t.Fatalf("want an elicitation/create request, got %s", req.Raw)
			}
			var p elicitation
			if err := json.Unmarshal(req.Params, &p); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Message, "fs.delete") || !strings.Contains(p.Message, "delete /work/tmp.txt") || !strings.Contains(p.Message, `"t-7"`) {
				t.Errorf("the question must name the capability, the call and the task: %q", p.Message)
			}
			props, _ := p.RequestedSchema["properties"].(map[string]any)
			_, hasApproved := props["approved"]
			_, hasSession := props["session"]
			if !hasApproved || !hasSession || p.RequestedSchema["type"] != "object" {
				t.Errorf("requestedSchema must offer approved and session: %v", p.RequestedSchema)
			}
			w.send(strings.Replace(c.answer, "ID", string(req.ID), 1))
			res := w.decodeResult(w.next())
			if c.allowed {
				if res.IsError || res.text() != "approved fs.delete\n" {
					t.Fatalf("want approval, got %+v", res)
				}
				return
			}
			if !res.IsError || !strings.Contains(res.text(), c.why) {
				t.Fatalf("want a denial explaining %q, got %q", c.why, res.text())
			}
		})
	}
}

func TestCancelWhileWaitingForTheUser(t *testing.T) {
	b := mcptest.New()
	b.Finished = make(chan string, 1)
	w := startWire(t, mcpserver.Options{Backend: b, Confirm: mcpserver.ConfirmElicit})
	w.initialize("2025-11-25", map[string]any{"elicitation": map[string]any{}})
	w.send(`{"jsonrpc":"2.0","id":50,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"` +
		strings.ReplaceAll(confirmScript, `"`, `\"`) + `"}}}`)
	req := w.next()
	if req.Method != "elicitation/create" {
		t.Fatalf("want elicitation/create, got %s", req.Raw)
	}
	w.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":50}}`)
	// The server withdraws its question, and never answers the cancelled call.
	n := w.next()
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	if n.Method != "notifications/cancelled" || json.Unmarshal(n.Params, &p) != nil || string(p.RequestID) != string(req.ID) {
		t.Fatalf("want notifications/cancelled for %s, got %s", req.ID, n.Raw)
	}
	<-b.Finished
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	w.expectEnd()
}

// TestApprovalForTheSession: "for this session" approves the same call
// again without asking, and nothing else: another target is asked about,
// and a target that depends on local-only data is neither offered the
// choice nor remembered.
func TestApprovalForTheSession(t *testing.T) {
	w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
	w.initialize("2025-11-25", map[string]any{"elicitation": map[string]any{}})
	call := func(id, target string) {
		w.send(`{"jsonrpc":"2.0","id":"` + id + `","method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"confirm(\"fs.delete\", \"` + target + `\")"}}}`)
	}
	ask := func(wantSession bool) msg {
		t.Helper()
		req := w.next()
		if req.Method != "elicitation/create" {
			t.Fatalf("want a question, got %s", req.Raw)
		}
		var p elicitation
		if err := json.Unmarshal(req.Params, &p); err != nil {
			t.Fatal(err)
		}
		props, _ := p.RequestedSchema["properties"].(map[string]any)
		if _, ok := props["session"]; ok != wantSession {
			t.Errorf("session offered: %v, want %v (%s)", ok, wantSession, p.Message)
		}
		return req
	}
	approved := func() {
		t.Helper()
		if res := w.decodeResult(w.next()); res.IsError || res.text() != "approved fs.delete\n" {
			t.Fatalf("want approval, got %q", res.text())
		}
	}
	answer := func(req msg) {
		w.send(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":{"action":"accept","content":{"approved":true,"session":true}}}`)
	}

	call("a", "build/out")
	answer(ask(true))
	approved()
	call("b", "build/out") // remembered: no question
	approved()
	call("c", "build/other") // another target: asked
	answer(ask(true))
	approved()
	call("d", "[REDACTED]") // hidden target: no session choice, and an answer covers one call
	answer(ask(false))
	approved()
	call("e", "[REDACTED]")
	req := ask(false)
	w.send(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":{"action":"decline"}}`)
	if res := w.decodeResult(w.next()); !res.IsError || !strings.Contains(res.text(), "declined") {
		t.Fatalf("want a refusal, got %q", res.text())
	}
}

// TestSessionMemoryIsPerServer: a new server asks again.
func TestSessionMemoryIsPerServer(t *testing.T) {
	for i := 0; i < 2; i++ {
		w := startWire(t, mcpserver.Options{Confirm: mcpserver.ConfirmElicit})
		w.initialize("2025-11-25", map[string]any{"elicitation": map[string]any{}})
		w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"aegis_run","arguments":{"script":"confirm(\"fs.delete\", \"x\")"}}}`)
		req := w.next()
		if req.Method != "elicitation/create" {
			t.Fatalf("server %d: want a question, got %s", i, req.Raw)
		}
		w.send(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":{"action":"accept","content":{"approved":true,"session":true}}}`)
		w.next()
	}
}

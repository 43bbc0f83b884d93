// Package hosts drives real agent hosts (Claude Code, opencode) against a
// fake model API on loopback, with aegis-mcp wired in by
// `aegis host-config HOST --write`. The fake model scripts the turns (tool
// calls to aegis_run) and records every request the host sends, which is
// exactly what a cloud model would see.
package hosts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one request a host sent to the model API.
type Request struct {
	Method, Path string
	Body         []byte
	At           time.Time
}

// Turn is the fake model's answer to one request: a tool call, or a final
// text when Tool is empty.
type Turn struct {
	Tool  string         // the tool name as the host lists it
	ID    string         // the tool_use id; "" numbers it
	Input map[string]any // the tool's arguments
	Text  string
	Delay time.Duration // how long to think before answering
}

// Conversation is what the model has been shown so far, decoded from an
// Anthropic Messages request.
type Conversation struct {
	Tools       []string     // tool names offered, in order
	ToolResults []ToolResult // every tool_result block, oldest first
	HasTools    bool         // false for side requests (titles, summaries)
}

// ToolResult is one tool_result block as the model receives it.
type ToolResult struct {
	ID      string
	IsError bool
	Text    string // the content, text blocks joined by newlines
}

// Script decides the next turn.
type Script func(c Conversation) Turn

// FakeModel is an Anthropic-compatible Messages API on a loopback port.
type FakeModel struct {
	URL string // http://127.0.0.1:PORT

	script Script
	srv    *http.Server
	ln     net.Listener

	mu       sync.Mutex
	requests []Request
	seq      int
}

// StartFakeModel listens on 127.0.0.1 on a free port.
func StartFakeModel(script Script) (*FakeModel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	f := &FakeModel{URL: "http://" + ln.Addr().String(), script: script, ln: ln}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops the server.
func (f *FakeModel) Close() error { return f.srv.Close() }

// Requests returns every request received so far.
func (f *FakeModel) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *FakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Body: body, At: time.Now()})
	f.seq++
	seq := f.seq
	f.mu.Unlock()

	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"the fake model serves POST /v1/messages only"}}`, http.StatusNotFound)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad JSON"}}`, http.StatusBadRequest)
		return
	}
	c := Decode(body)
	turn := Turn{Text: "ok"}
	if c.HasTools {
		turn = f.script(c)
	}
	if turn.Delay > 0 {
		select {
		case <-time.After(turn.Delay):
		case <-r.Context().Done():
			return
		}
	}
	msgID := fmt.Sprintf("msg_fake_%d", seq)
	if !req.Stream {
		writeMessage(w, msgID, req.Model, turn, seq)
		return
	}
	writeStream(w, msgID, req.Model, turn, seq)
}

// Decode reads what a Messages API request shows the model.
func Decode(body []byte) Conversation {
	var req struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	var c Conversation
	if json.Unmarshal(body, &req) != nil {
		return c
	}
	for _, t := range req.Tools {
		c.Tools = append(c.Tools, t.Name)
	}
	c.HasTools = len(req.Tools) > 0
	for _, m := range req.Messages {
		c.ToolResults = append(c.ToolResults, toolResults(m.Content)...)
	}
	return c
}

// toolResults extracts the tool_result blocks of one message's content.
func toolResults(content json.RawMessage) []ToolResult {
	var blocks []struct {
		Type      string          `json:"type"`
		ToolUseID string          `json:"tool_use_id"`
		IsError   bool            `json:"is_error"`
		Content   json.RawMessage `json:"content"`
	}
	if json.Unmarshal(content, &blocks) != nil {
		return nil
	}
	var out []ToolResult
	for _, b := range blocks {
		if b.Type != "tool_result" {
			continue
		}
		out = append(out, ToolResult{ID: b.ToolUseID, IsError: b.IsError, Text: contentText(b.Content)})
	}
	return out
}

// contentText flattens a tool_result's content (a string or text blocks).
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &blocks) != nil {
		return string(raw)
	}
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func block(turn Turn, seq int) map[string]any {
	if turn.Tool != "" {
		id := turn.ID
		if id == "" {
			id = fmt.Sprintf("toolu_fake_%d", seq)
		}
		return map[string]any{"type": "tool_use", "id": id, "name": turn.Tool, "input": turn.Input}
	}
	return map[string]any{"type": "text", "text": turn.Text}
}

func stopReason(turn Turn) string {
	if turn.Tool != "" {
		return "tool_use"
	}
	return "end_turn"
}

func writeMessage(w http.ResponseWriter, id, model string, turn Turn, seq int) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content": []any{block(turn, seq)}, "stop_reason": stopReason(turn), "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 10, "output_tokens": 10},
	})
}

// writeStream answers in the server-sent events of the Messages API.
func writeStream(w http.ResponseWriter, id, model string, turn Turn, seq int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	var b bytes.Buffer
	event := func(name string, data map[string]any) {
		data["type"] = name
		j, _ := json.Marshal(data)
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", name, j)
	}
	event("message_start", map[string]any{"message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": 10, "output_tokens": 1},
	}})
	if turn.Tool != "" {
		start := block(turn, seq)
		start["input"] = map[string]any{}
		event("content_block_start", map[string]any{"index": 0, "content_block": start})
		j, _ := json.Marshal(turn.Input)
		// Split the arguments in two chunks, as real streams do.
		half := len(j) / 2
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(j[:half])}})
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(j[half:])}})
	} else {
		event("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": turn.Text}})
	}
	event("content_block_stop", map[string]any{"index": 0})
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stopReason(turn), "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 10}})
	event("message_stop", map[string]any{})
	_, _ = w.Write(b.Bytes())
}

package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aegisdev/aegis/docs"
)

// Resources are what a host can show its user or attach to a conversation
// without running anything: the script API reference and the effective
// policy. Both are fixed for the life of the process.

type resource struct {
	uri, name, title, description, mimeType string
	scope                                   string
	read                                    func(s *session) (string, error)
}

var resources = []resource{
	{
		uri: "aegis://docs/script-api", name: "script-api", title: "Aegis script API",
		description: "What an aegis_run script can call (fs, net, env, subprocess, json, base64, hex, sha256), what each returns, how it fails, and the exit kinds.",
		mimeType:    "text/markdown", scope: scopePublic,
		read: func(*session) (string, error) { return docs.ScriptAPI, nil },
	},
	{
		uri: "aegis://policy", name: "policy", title: "Effective Aegis policy",
		description: "The operator's policy after inheritance, every rule with the file and line it comes from (what aegis_policy {\"detail\":\"full\"} returns).",
		mimeType:    "application/json", scope: scopePrivate,
		read: func(s *session) (string, error) {
			b, err := json.Marshal(s.opts.Backend.PolicySummary())
			if err != nil {
				return "", fmt.Errorf("encode the policy: %w", err)
			}
			return string(b), nil
		},
	},
}

// codeResourceNotFound is the legacy code for an unknown resource; the
// modern era uses -32602 (SEP-2164).
const codeResourceNotFound = -32002

func (s *session) handleResourcesList(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	if !s.noCursor(ctx, conn, req, params) {
		return
	}
	list := make([]map[string]any, 0, len(resources))
	for _, r := range resources {
		e := map[string]any{"uri": r.uri, "name": r.name, "description": r.description, "mimeType": r.mimeType}
		if info.atLeast("2025-06-18") {
			e["title"] = r.title
		}
		list = append(list, e)
	}
	s.reply(ctx, conn, req.ID, s.complete(info, map[string]any{"resources": list}, scopePublic))
}

func (s *session) handleResourceTemplatesList(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	if !s.noCursor(ctx, conn, req, params) {
		return
	}
	s.reply(ctx, conn, req.ID, s.complete(info, map[string]any{"resourceTemplates": []any{}}, scopePublic))
}

func (s *session) handleResourcesRead(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, params map[string]json.RawMessage, info reqInfo) {
	var uri string
	if json.Unmarshal(params["uri"], &uri) != nil || uri == "" {
		s.replyError(ctx, conn, req.ID, rpcError(codeInvalidParams, "Invalid params: resources/read needs params.uri as a string"))
		return
	}
	for _, r := range resources {
		if r.uri != uri {
			continue
		}
		text, err := r.read(s)
		if err != nil {
			s.replyError(ctx, conn, req.ID, rpcError(codeInternalError, "Internal error: "+err.Error()))
			return
		}
		s.reply(ctx, conn, req.ID, s.complete(info, map[string]any{
			"contents": []map[string]any{{"uri": r.uri, "mimeType": r.mimeType, "text": text}},
		}, r.scope))
		return
	}
	code := int64(codeResourceNotFound)
	if info.modern {
		code = codeInvalidParams
	}
	uris := make([]string, len(resources))
	for i, r := range resources {
		uris[i] = r.uri
	}
	e := rpcError(code, fmt.Sprintf("Resource not found: %q; this server has %s", uri, quoteList(uris)))
	e.SetError(map[string]any{"uri": uri})
	s.replyError(ctx, conn, req.ID, e)
}

package mcpserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// callResult is an MCP CallToolResult.
type callResult struct {
	ResultType        string         `json:"resultType,omitempty"` // "complete" in a modern answer
	Content           []textContent  `json:"content"`
	StructuredContent any            `json:"structuredContent,omitempty"`
	IsError           bool           `json:"isError,omitempty"`
	Meta              map[string]any `json:"_meta,omitempty"`
}

type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func text(s string) textContent { return textContent{Type: "text", Text: s} }

// exitKindMetaKey tags every script result so an orchestrator can branch on
// the outcome (policy_denied, confirm_denied, ...) even in sessions whose
// revision has no structuredContent.
const exitKindMetaKey = "dev.aegis/exit_kind"

// toolError is a tool execution error (isError:true) that is not a run:
// bad arguments, a busy server.
func toolError(msg string) *callResult {
	return &callResult{Content: []textContent{text(msg)}, IsError: true}
}

// jsonText returns a read-only tool's value as one JSON text block.
func jsonText(v any) *callResult {
	b, err := json.Marshal(v)
	if err != nil {
		return toolError("aegis-mcp: cannot encode the result: " + err.Error())
	}
	return &callResult{Content: []textContent{text(string(b))}}
}

// runOutput is the structuredContent of a script run (runOutputSchema).
type runOutput struct {
	ExitKind  string `json:"exit_kind"`
	ExitCode  int    `json:"exit_code"`
	Stdout    string `json:"stdout"`
	Error     string `json:"error"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Encoded-size budgets. stdout appears twice in a result (text and
// structuredContent), so each copy must stay well under half of the
// 10 MiB line that clients accept.
const (
	maxStdoutEncoded = 3 << 20
	maxErrorBytes    = 64 << 10
	maxErrorEncoded  = 256 << 10
)

func (s *session) runResult(tool *toolDef, r RunResult, approvals *approvalLog, info reqInfo) *callResult {
	stdout := r.Stdout
	if tool.trimPrint && r.ExitKind == ExitOK {
		stdout = strings.TrimSuffix(stdout, "\n")
	}
	stdout, cutOut := clip(stdout, s.opts.MaxOutputBytes, maxStdoutEncoded)
	errText := r.Error
	if r.ExitKind == ExitConfirmDenied {
		errText = strings.TrimSpace(errText + "\n" + approvals.explain())
	}
	if r.ExitKind != ExitOK && errText == "" {
		errText = fmt.Sprintf("the run ended with %s (exit %d)", r.ExitKind, r.ExitCode)
	}
	errText, cutErr := clip(errText, maxErrorBytes, maxErrorEncoded)

	res := &callResult{
		IsError: r.ExitKind != ExitOK,
		Meta:    map[string]any{exitKindMetaKey: r.ExitKind},
	}
	if stdout != "" || !res.IsError {
		res.Content = append(res.Content, text(stdout))
	}
	if res.IsError {
		res.Content = append(res.Content, text(fmt.Sprintf("aegis: %s (exit %d): %s", r.ExitKind, r.ExitCode, errText)))
	}
	if info.atLeast("2025-06-18") {
		res.StructuredContent = runOutput{
			ExitKind: r.ExitKind, ExitCode: r.ExitCode,
			Stdout: stdout, Error: errText,
			Truncated: cutOut || cutErr,
		}
	}
	return res
}

// clip shortens s so that it has at most maxBytes bytes and its JSON string
// encoding at most maxEncoded bytes, cutting on a UTF-8 boundary and saying
// so with an explicit marker. Control characters cost six bytes each in
// JSON, which is why the raw length alone is not a bound.
func clip(s string, maxBytes, maxEncoded int) (string, bool) {
	if len(s) <= maxBytes && len(s)*6 <= maxEncoded {
		return s, false // even all-control-character input fits
	}
	const reserve = 200 // room for the marker
	raw, enc := 0, 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		e := jsonLen(r, n)
		if raw+n > maxBytes-reserve || enc+e > maxEncoded-reserve {
			return s[:i] + fmt.Sprintf("\n[aegis-mcp: output truncated: showing %d of %d bytes]", i, len(s)), true
		}
		raw += n
		enc += e
		i += n
	}
	return s, false
}

// jsonLen is how many bytes encoding/json spends on one rune.
func jsonLen(r rune, n int) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029:
		return 6
	case r == utf8.RuneError && n == 1:
		return 6 // invalid byte becomes \ufffd
	}
	return n
}

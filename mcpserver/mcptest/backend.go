// Package mcptest provides a scripted stand-in for the Aegis runner, so the
// MCP server can be tested (in-process, over pipes, or as a real binary)
// without a policy engine or interpreter.
//
// The fake understands a few one-line statements instead of Starlark:
//
//	print("text")            print a Go-quoted string
//	print(secret())          print a local-only value, which shows as [REDACTED]
//	fail("message")          end with a script error
//	deny("cap", "target")    end with a policy denial naming the rule and the fix
//	flow()                   end with a flow denial
//	confirm("cap", "target") ask the server's Confirm callback; a no ends the run
//	big(N)                   print N bytes of 'x'
//	sleep()                  block until the run's context is cancelled
//	panic()                  panic (the server must survive it)
//
// It also recognises the scripts of the convenience tools (by the builtin
// they call) and serves them from Files, so argument passing through
// RunRequest.Inputs is exercised end to end.
package mcptest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/policy"
)

// File is one file the fake serves to aegis_fs_read.
type File struct {
	Content   string
	LocalOnly bool // reads come back as [REDACTED], as the runner's print sink does
}

// Backend is a fake mcpserver.Backend. Set fields before serving; the
// methods are safe for concurrent use.
type Backend struct {
	Summary mcpserver.PolicySummary
	Routing []mcpserver.ToolRecord
	Files   map[string]File

	// Started, if set, receives the task id of each run as it starts;
	// Finished receives it when Run returns.
	Started  chan string
	Finished chan string

	mu   sync.Mutex
	runs []mcpserver.RunRequest
}

// New returns a fake with a policy that enables fs.read, fs.write,
// subprocess.exec and net.http_get and needs approval for fs.delete.
func New() *Backend {
	return &Backend{
		Summary: mcpserver.PolicySummary{
			Source:           "fake.toml",
			Name:             "fake",
			Description:      "scripted test policy",
			Capabilities:     []string{"fs.read", "fs.write", "net.http_get", "subprocess.exec"},
			RequiresApproval: []string{"fs.delete"},
			Effective:        map[string]any{"lists": []any{map[string]any{"key": "[filesystem].read_allow", "entries": []any{"**"}}}},
		},
		Routing: []mcpserver.ToolRecord{
			{Name: "Read", Capabilities: []string{"fs.read"}, BackendMethod: "GET", Allowed: true},
			{Name: "WebSearch", Capabilities: []string{"net.http_get"}, BackendURL: "https://search.example/?q=", BackendMethod: "GET", Description: "search", Allowed: true},
		},
		Files: map[string]File{
			"README.md":   {Content: "hello\nworld\n"},
			"secrets/key": {Content: "sk-live-0123456789", LocalOnly: true},
		},
	}
}

// Runs returns a copy of every request Run received, in order.
func (b *Backend) Runs() []mcpserver.RunRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mcpserver.RunRequest(nil), b.runs...)
}

// PolicySummary implements mcpserver.Backend.
func (b *Backend) PolicySummary() mcpserver.PolicySummary { return b.Summary }

// ToolRouting implements mcpserver.Backend.
func (b *Backend) ToolRouting() []mcpserver.ToolRecord { return b.Routing }

// Explain implements mcpserver.Backend: capabilities in the summary are
// allowed, others denied with a hint; unknown names are an error.
func (b *Backend) Explain(capability string, target []string) (mcpserver.ExplainResult, error) {
	if !policy.Capability(capability).Known() {
		return mcpserver.ExplainResult{}, fmt.Errorf("unknown capability %q", capability)
	}
	r := mcpserver.ExplainResult{Capability: capability, Target: target}
	if b.enabled(capability) {
		r.Allowed, r.Rule, r.Section, r.Reason = true, "fake allow", "[fake]", "allowed by the fake policy"
	} else {
		r.Rule, r.Section, r.Reason = "default deny", "[fake]", capability+" is not enabled"
		r.Hint = "add a rule for " + capability
	}
	return r, nil
}

func (b *Backend) enabled(capability string) bool {
	for _, c := range b.Summary.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

func denied(capability, target string) mcpserver.RunResult {
	return mcpserver.RunResult{ExitKind: mcpserver.ExitPolicyDenied, ExitCode: 2,
		Error: fmt.Sprintf("%s %q denied by the fake policy (default deny); to allow it, add %q to the fake's capabilities", capability, target, capability)}
}

// Run implements mcpserver.Backend.
func (b *Backend) Run(ctx context.Context, req mcpserver.RunRequest) mcpserver.RunResult {
	b.mu.Lock()
	b.runs = append(b.runs, req)
	b.mu.Unlock()
	if b.Started != nil {
		b.Started <- req.TaskID
	}
	if b.Finished != nil {
		defer func() { b.Finished <- req.TaskID }()
	}
	switch {
	case strings.Contains(req.Script, "fs.read(path)"):
		return b.read(req.Inputs["path"])
	case strings.Contains(req.Script, "fs.write(path, content)"):
		return b.write(req.Inputs["path"], req.Inputs["content"])
	case strings.Contains(req.Script, "subprocess.exec("):
		var argv []string
		if err := json.Unmarshal([]byte(req.Inputs["argv_json"]), &argv); err != nil || len(argv) == 0 {
			return mcpserver.RunResult{ExitKind: mcpserver.ExitScriptError, ExitCode: 1, Error: "json.decode: bad argv"}
		}
		if !b.enabled("subprocess.exec") {
			return denied("subprocess.exec", argv[0])
		}
		return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: strings.Join(argv, " ") + "\n", Calls: 1}
	case strings.Contains(req.Script, "net.http_get("):
		var headers map[string]string
		if err := json.Unmarshal([]byte(req.Inputs["headers_json"]), &headers); err != nil {
			return mcpserver.RunResult{ExitKind: mcpserver.ExitScriptError, ExitCode: 1, Error: "json.decode: bad headers"}
		}
		if !b.enabled("net.http_get") {
			return denied("net.http_get", req.Inputs["url"])
		}
		names := make([]string, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		sort.Strings(names)
		return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: fmt.Sprintf("GET %s headers=%s\n", req.Inputs["url"], strings.Join(names, ",")), Calls: 1}
	}
	return b.interpret(ctx, req)
}

func (b *Backend) read(path string) mcpserver.RunResult {
	if !b.enabled("fs.read") {
		return denied("fs.read", path)
	}
	b.mu.Lock()
	f, ok := b.Files[path]
	b.mu.Unlock()
	if !ok {
		return mcpserver.RunResult{ExitKind: mcpserver.ExitIOError, ExitCode: 5, Error: fmt.Sprintf("fs.read: %s: no such file", path), Calls: 1}
	}
	if f.LocalOnly {
		return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: "[REDACTED]\n", Calls: 1}
	}
	return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: f.Content + "\n", Calls: 1}
}

func (b *Backend) write(path, content string) mcpserver.RunResult {
	if !b.enabled("fs.write") {
		return denied("fs.write", path)
	}
	b.mu.Lock()
	if b.Files == nil {
		b.Files = map[string]File{}
	}
	b.Files[path] = File{Content: content}
	b.mu.Unlock()
	return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: fmt.Sprintf("wrote %d bytes to %s\n", len(content), path), Calls: 1}
}

// interpret runs the fake's one-line statements (see the package comment).
func (b *Backend) interpret(ctx context.Context, req mcpserver.RunRequest) mcpserver.RunResult {
	var out strings.Builder
	res := func(kind string, code int, msg string) mcpserver.RunResult {
		return mcpserver.RunResult{ExitKind: kind, ExitCode: code, Stdout: out.String(), Error: msg}
	}
	for n, raw := range strings.Split(req.Script, "\n") {
		stmt := strings.TrimSpace(raw)
		call, arg, _ := strings.Cut(stmt, "(")
		arg = strings.TrimSuffix(arg, ")")
		switch {
		case stmt == "" || strings.HasPrefix(stmt, "#"):
		case stmt == "print(secret())":
			out.WriteString("[REDACTED]\n")
		case call == "print":
			s, err := strconv.Unquote(arg)
			if err != nil {
				return res(mcpserver.ExitScriptError, 1, fmt.Sprintf("%s:%d: print wants one quoted string", req.Filename, n+1))
			}
			out.WriteString(s + "\n")
		case call == "fail":
			s, _ := strconv.Unquote(arg)
			return res(mcpserver.ExitScriptError, 1, fmt.Sprintf("%s:%d: fail: %s", req.Filename, n+1, s))
		case call == "deny":
			c, t := twoArgs(arg)
			r := denied(c, t)
			r.Stdout = out.String()
			return r
		case stmt == "flow()":
			return res(mcpserver.ExitFlowDenied, 7, fmt.Sprintf("%s:%d: flow denied: local-only data reached print under a labelled condition; to allow it, ...", req.Filename, n+1))
		case call == "confirm":
			c, t := twoArgs(arg)
			ok, err := req.Confirm(ctx, c, t)
			if err != nil || !ok {
				return res(mcpserver.ExitConfirmDenied, 4, fmt.Sprintf("%s %s: confirmation denied: %v", c, t, err))
			}
			fmt.Fprintf(&out, "approved %s\n", c)
		case call == "big":
			size, err := strconv.Atoi(arg)
			if err != nil || size < 0 || size > 64<<20 {
				return res(mcpserver.ExitScriptError, 1, "big wants a size up to 64 MiB")
			}
			out.WriteString(strings.Repeat("x", size))
		case stmt == "sleep()":
			<-ctx.Done()
			return res(mcpserver.ExitLimit, 6, "run cancelled: "+ctx.Err().Error())
		case stmt == "panic()":
			panic("fake backend panic holding sk-live-0123456789")
		default:
			return res(mcpserver.ExitScriptError, 1, fmt.Sprintf("%s:%d: the fake backend does not understand %q", req.Filename, n+1, stmt))
		}
	}
	return mcpserver.RunResult{ExitKind: mcpserver.ExitOK, Stdout: out.String()}
}

func twoArgs(arg string) (string, string) {
	a, b, _ := strings.Cut(arg, ",")
	x, _ := strconv.Unquote(strings.TrimSpace(a))
	y, _ := strconv.Unquote(strings.TrimSpace(b))
	return x, y
}

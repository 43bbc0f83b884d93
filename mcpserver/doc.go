// Package mcpserver is aegis-mcp: the Model Context Protocol server through
// which agent hosts (Claude Code, opencode, Cursor, any MCP client) run
// scripts under an Aegis policy.
//
// The map:
//
//   - stream.go: the stdio transport. A jsonrpc2.ObjectStream that reads
//     and writes one JSON message per line, answers malformed input itself
//     (-32700, -32600) instead of dropping the session, caps message size
//     in both directions, and echoes request ids byte for byte.
//   - server.go: the session. Serve runs one connection: lifecycle and
//     version negotiation (2025-11-25 back to 2024-11-05), ping, tools/list,
//     tools/call, notifications/cancelled, and shutdown on end of input.
//     Everything is handled on the read loop except tools/call, which is
//     registered before its goroutine starts so a cancel can always find it.
//   - tools.go: the tool table. One table yields each tool's inputSchema,
//     outputSchema, annotations (derived from the capabilities the policy
//     enables) and argument validation. The convenience tools (aegis_fs_read,
//     aegis_fs_write, aegis_exec, aegis_http_get) are fixed Starlark scripts
//     whose arguments arrive as predeclared string globals, so they pass the
//     same gates and sinks as aegis_run and no argument can alter the code.
//   - result.go: CallToolResult construction, size budgets and truncation.
//   - confirm.go: requires_approval over MCP (elicitation/create, or the
//     auto-allow / auto-deny modes).
//   - backend.go: the Backend interface, the only thing the server needs
//     from the rest of Aegis (run a script, summarise and explain the
//     policy, list tool routing). Package mcptest has a scripted fake.
//   - hostconfig.go: the configuration `aegis host-config` prints for each
//     host, derived from the same policy.
//
// The invariant a caller must keep: standard output carries protocol
// messages only. Serve writes nothing else to out, and its logs go to
// Options.Logger, which must not be stdout. Logs never contain script
// text, output or error text, since those may derive from local-only data.
package mcpserver

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
//   - server.go: the session. Serve runs one connection: the legacy
//     lifecycle (initialize, 2025-11-25 back to 2024-11-05), ping,
//     tools/list, tools/call, notifications/cancelled, and shutdown on end
//     of input. Everything is handled on the read loop except tools/call,
//     which is registered before its goroutine starts so a cancel can
//     always find it.
//   - era.go: MCP 2026-07-28 beside the legacy revisions. A request that
//     names a modern revision in params._meta is answered on its own (no
//     handshake): server/discover, resultType, serverInfo in _meta, cache
//     hints, -32022 for a revision nobody speaks.
//   - mrtr.go: asking the client mid-call. Legacy sessions get a server
//     request (elicitation/create); modern requests get an input_required
//     result, and the run waits, parked, for the retry that carries the
//     answer and echoes requestState.
//   - tools.go: the tool table. One table yields each tool's inputSchema,
//     outputSchema, annotations (derived from the capabilities the policy
//     enables) and argument validation. The convenience tools (aegis_fs_read,
//     aegis_fs_write, aegis_exec, aegis_http_get) are fixed Starlark scripts
//     whose arguments arrive as predeclared string globals, so they pass the
//     same gates and sinks as aegis_run and no argument can alter the code.
//     scriptapi.go is the cheat sheet aegis_run's description carries;
//     policytool.go the 2 KB summary aegis_policy returns by default.
//   - resources.go: the script API reference and the effective policy as
//     MCP resources.
//   - result.go: CallToolResult construction, size budgets and truncation.
//   - confirm.go: requires_approval over MCP (elicitation, or the
//     auto-allow / auto-deny modes).
//   - backend.go: the Backend interface, the only thing the server needs
//     from the rest of Aegis (run a script, summarise and explain the
//     policy, list tool routing). Package mcptest has a scripted fake.
//   - hostconfig.go, hostwrite.go, jsonmerge.go: what `aegis host-config`
//     writes for each host, derived from the same policy, and how it is
//     merged into the files a project already has.
//
// The invariant a caller must keep: standard output carries protocol
// messages only. Serve writes nothing else to out, and its logs go to
// Options.Logger, which must not be stdout. Logs never contain script
// text, output or error text, since those may derive from local-only data.
package mcpserver

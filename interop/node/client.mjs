// Drives aegis-mcp with the official TypeScript SDK client (@modelcontextprotocol/sdk)
// over a real stdio pipe. Prints one PASS/FAIL line per check and a closing
// "N passed, N failed" line; exits non-zero on any failure.
//
//   node client.mjs [--backend fake|real] <server-command> [args...]
//
// --backend fake (default) uses the scripts the mcptest fake understands;
// --backend real uses plain Starlark and expects a policy that marks
// secrets/key local-only (see interop/README.md).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EmptyResultSchema } from '@modelcontextprotocol/sdk/types.js';

let argv = process.argv.slice(2);
let backend = 'fake';
if (argv[0] === '--backend') {
  backend = argv[1];
  argv = argv.slice(2);
}
const [command, ...args] = argv;
if (!command) {
  console.error('usage: node client.mjs [--backend fake|real] <server-command> [args...]');
  process.exit(2);
}
const SLOW = backend === 'real' ? 'while True:\n    pass\n' : 'sleep()';
const SECRET_SCRIPT = backend === 'real' ? 'print(fs.read("secrets/key"))' : 'print(secret())';

let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' :: ' + detail : ''}`);
};
const textOf = (res) => (res.content ?? []).map((c) => c.text ?? '').join('\n');

const transport = new StdioClientTransport({ command, args, stderr: 'pipe', env: { ...process.env } });
let serverStderr = '';
transport.stderr?.on('data', (d) => { serverStderr += d; });
const transportErrors = [];
const client = new Client({ name: 'aegis-interop-ts', version: '0.0.0' });
client.onerror = (e) => transportErrors.push(String(e));

try {
  await client.connect(transport);
  check('initialize', client.getServerVersion()?.name === 'aegis-mcp', JSON.stringify(client.getServerVersion()));
  await client.ping();
  check('ping', true);

  // listTools also makes the SDK validate structuredContent against each outputSchema.
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  check('tools/list has every Aegis tool',
    ['aegis_run', 'aegis_fs_read', 'aegis_fs_write', 'aegis_exec', 'aegis_http_get', 'aegis_policy', 'aegis_explain', 'aegis_tool_routing']
      .every((n) => names.includes(n)), names.join(','));
  check('read-only tools carry readOnlyHint',
    ['aegis_policy', 'aegis_explain', 'aegis_tool_routing'].every((n) => tools.find((t) => t.name === n)?.annotations?.readOnlyHint === true));
  check('every inputSchema forbids unknown properties', tools.every((t) => t.inputSchema?.additionalProperties === false));

  const ok = await client.callTool({ name: 'aegis_run', arguments: { script: 'print("héllo \\"world\\"")' } });
  check('aegis_run: output, validated structuredContent', !ok.isError && textOf(ok) === 'héllo "world"\n' &&
    ok.structuredContent?.exit_kind === 'ok' && ok.structuredContent?.exit_code === 0, JSON.stringify(ok));

  const bad = await client.callTool({ name: 'aegis_run', arguments: { script: 'fail("boom")' } });
  check('aegis_run: script error is isError with exit_kind', bad.isError === true && bad.structuredContent?.exit_kind === 'script_error' &&
    textOf(bad).includes('boom'), JSON.stringify(bad));

  const secret = await client.callTool({ name: 'aegis_run', arguments: { script: SECRET_SCRIPT } });
  check('local-only value comes back [REDACTED]', textOf(secret).includes('[REDACTED]') && !JSON.stringify(secret).includes('sk-live'), JSON.stringify(secret));

  // The read-only tools answer with one JSON text block (no second copy as structuredContent).
  const json = (res) => { try { return JSON.parse(textOf(res)); } catch { return null; } };
  const pol = await client.callTool({ name: 'aegis_policy', arguments: {} });
  check('aegis_policy: the summary, once, under 2 KB', !pol.isError && pol.content.length === 1 && pol.structuredContent === undefined &&
    Array.isArray(json(pol)?.capabilities) && textOf(pol).length <= 2048, textOf(pol).slice(0, 120));
  const full = await client.callTool({ name: 'aegis_policy', arguments: { detail: 'full' } });
  check('aegis_policy {detail: full}: the effective policy', !full.isError && typeof json(full)?.effective === 'object', textOf(full).slice(0, 120));

  const ex = await client.callTool({ name: 'aegis_explain', arguments: { capability: 'fs.read', target: ['README.md'] } });
  check('aegis_explain', !ex.isError && typeof json(ex)?.allowed === 'boolean', textOf(ex).slice(0, 200));

  const { resources } = await client.listResources();
  const api = await client.readResource({ uri: 'aegis://docs/script-api' });
  check('resources: the script API reference and the policy', resources.length === 2 && api.contents?.[0]?.text?.includes('subprocess.exec(argv)'),
    resources.map((r) => r.uri).join(','));

  const invalid = await client.callTool({ name: 'aegis_run', arguments: { script: 5 } });
  check('schema-invalid arguments -> isError (SEP-1303)', invalid.isError === true, textOf(invalid));

  try {
    await client.callTool({ name: 'aegis_nope', arguments: {} });
    check('unknown tool -> -32602', false, 'no error');
  } catch (e) {
    check('unknown tool -> -32602', e.code === -32602, `code=${e.code} ${e.message}`);
  }
  try {
    await client.request({ method: 'no/such/method', params: {} }, EmptyResultSchema);
    check('unknown method -> -32601', false, 'no error');
  } catch (e) {
    check('unknown method -> -32601', e.code === -32601, `code=${e.code}`);
  }

  // Abort: the SDK sends notifications/cancelled; the server must stop the run and stay healthy.
  const ac = new AbortController();
  setTimeout(() => ac.abort('test abort'), 300);
  try {
    await client.callTool({ name: 'aegis_run', arguments: { script: SLOW } }, undefined, { signal: ac.signal });
    check('abort a running script', false, 'call completed');
  } catch (e) {
    check('abort a running script', true, String(e));
  }
  await client.ping();
  check('ping after abort', true);

  const slow = client.callTool({ name: 'aegis_run', arguments: { script: SLOW } }, undefined, { timeout: 1500 }).catch((e) => e);
  await client.ping();
  check('ping answered while a script runs', true);
  const timedOut = await slow;
  check('client timeout -> -32001 and notifications/cancelled', timedOut?.code === -32001, `code=${timedOut?.code}`);
  await client.ping();
  check('ping after timeout', true);
} catch (e) {
  check('unexpected exception', false, e?.stack ?? String(e));
} finally {
  const closing = Date.now();
  await client.close(); // ends stdin, then SIGTERM after 2 s
  check('server exits on stdin EOF before the SDK escalates to SIGTERM', Date.now() - closing < 1900, `${Date.now() - closing}ms`);
  check('stdout carried only JSON-RPC (no transport errors)', transportErrors.length === 0, transportErrors.join(' | '));
  if (failed && serverStderr.trim()) console.log('--- server stderr ---\n' + serverStderr.trim());
  console.log(`client.mjs: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

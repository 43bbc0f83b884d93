// Drives aegis-mcp with the official TypeScript SDK v2 client
// (@modelcontextprotocol/client), pinned to one protocol era, over a real
// stdio pipe. Prints one PASS/FAIL line per check and a closing
// "N passed, N failed" line; exits non-zero on any failure.
//
//   node client2.mjs <pin|auto|legacy> [--backend fake|real] <server-command> [args...]
//
// pin:    2026-07-28 only (server/discover must offer it; no fallback)
// auto:   probe server/discover, fall back to initialize for a legacy server
// legacy: the plain 2025-11-25 initialize handshake
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

let [mode, ...argv] = process.argv.slice(2);
let backend = 'fake';
if (argv[0] === '--backend') {
  backend = argv[1];
  argv = argv.slice(2);
}
const [command, ...args] = argv;
if (!['pin', 'auto', 'legacy'].includes(mode) || !command) {
  console.error('usage: node client2.mjs <pin|auto|legacy> [--backend fake|real] <server-command> [args...]');
  process.exit(2);
}
const real = backend === 'real';
const DENIED = real ? 'print(fs.read("/etc/hostname"))' : 'deny("fs.read", "/etc/hostname")';
const SECRET = real ? 'print(fs.read("secrets/key"))' : 'print(secret())';
const APPROVAL = real ? 'print("before")\nfs.delete("scratch/none.txt")\n' : 'print("before")\nconfirm("fs.delete", "delete scratch/none.txt")\n';
const wantVersion = mode === 'legacy' ? '2025-11-25' : '2026-07-28';

let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} [${mode}] ${name}${detail ? ' :: ' + String(detail).slice(0, 300) : ''}`);
};
const textOf = (res) => (res.content ?? []).map((c) => c.text ?? '').join('\n');

const versionNegotiation = mode === 'pin' ? { mode: { pin: '2026-07-28' } } : mode === 'auto' ? { mode: 'auto' } : { mode: 'legacy' };
const transport = new StdioClientTransport({ command, args, stderr: 'pipe', env: { ...process.env } });
let serverStderr = '';
transport.stderr?.on('data', (d) => { serverStderr += d; });
const client = new Client({ name: 'aegis-interop-ts2', version: '0.0.0' }, { capabilities: { elicitation: { form: {} } }, versionNegotiation });
const transportErrors = [];
client.onerror = (e) => transportErrors.push(String(e));
let asked = [];
client.setRequestHandler('elicitation/create', async (req) => {
  asked.push(req.params.message);
  return { action: 'accept', content: { approved: true } };
});

try {
  await client.connect(transport);
  check(`connect negotiates ${wantVersion}`, client.getNegotiatedProtocolVersion() === wantVersion && client.getServerVersion()?.name === 'aegis-mcp',
    `${client.getNegotiatedProtocolVersion()} ${JSON.stringify(client.getServerVersion())}`);

  const { tools } = await client.listTools();
  check('tools/list', tools.length === 8 && tools.find((t) => t.name === 'aegis_run')?.outputSchema?.type === 'object', tools.map((t) => t.name).join(','));

  const ok = await client.callTool({ name: 'aegis_run', arguments: { script: 'print("two eras")' } });
  check('aegis_run: output and structuredContent', !ok.isError && textOf(ok) === 'two eras\n' && ok.structuredContent?.stdout === 'two eras\n', JSON.stringify(ok));

  const denied = await client.callTool({ name: 'aegis_run', arguments: { script: DENIED } });
  check('a denial is a tool error naming the fix', denied.isError === true && denied.structuredContent?.exit_kind === 'policy_denied' &&
    /read_allow|to allow it/.test(textOf(denied)), textOf(denied));

  const secret = await client.callTool({ name: 'aegis_run', arguments: { script: SECRET } });
  check('local-only value comes back [REDACTED]', textOf(secret).includes('[REDACTED]') && !JSON.stringify(secret).includes('sk-live'), JSON.stringify(secret));

  const pol = await client.callTool({ name: 'aegis_policy', arguments: {} });
  check('aegis_policy: one JSON text block under 2 KB', !pol.isError && textOf(pol).length <= 2048 && Array.isArray(JSON.parse(textOf(pol)).capabilities), textOf(pol).slice(0, 100));

  const { resources } = await client.listResources();
  const policy = await client.readResource({ uri: 'aegis://policy' });
  check('resources/list and resources/read', resources.length === 2 && typeof JSON.parse(policy.contents[0].text).source === 'string', resources.map((r) => r.uri).join(','));

  // Approval: in the 2026-07-28 era through input_required and the SDK's
  // automatic retry, in the legacy era through a server request; the same
  // handler answers both.
  asked = [];
  const appr = await client.callTool({ name: 'aegis_run', arguments: { script: APPROVAL } });
  check('approval asked once, answered, and the run resumed', asked.length === 1 && asked[0].includes('fs.delete') &&
    appr.structuredContent?.exit_kind !== 'confirm_denied' && appr.structuredContent?.stdout?.startsWith('before\n'), `${asked.length} ${JSON.stringify(appr)}`);

  try {
    await client.callTool({ name: 'aegis_rnu', arguments: {} });
    check('unknown tool -> error', false, 'no error');
  } catch (e) {
    check('unknown tool -> error with a suggestion', String(e.message).includes('aegis_run'), e.message);
  }
} catch (e) {
  check('unexpected exception', false, e?.stack ?? String(e));
} finally {
  await client.close();
  check('stdout carried only JSON-RPC (no transport errors)', transportErrors.length === 0, transportErrors.join(' | '));
  if (failed && serverStderr.trim()) console.log('--- server stderr ---\n' + serverStderr.trim());
  console.log(`client2.mjs: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

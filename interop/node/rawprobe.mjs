// Raw-wire probe for an MCP stdio server: writes exact bytes (malformed,
// oversized, out-of-order), reads stdout line by line and checks each
// answer. No SDK, so nothing smooths over a server's mistakes.
//
//   node rawprobe.mjs [--backend fake|real] <server-command> [args...]
//
// Prints PASS/FAIL per check and "rawprobe.mjs: N passed, N failed";
// exits non-zero on any failure.
import { spawn } from 'node:child_process';

let argv = process.argv.slice(2);
let backend = 'fake';
if (argv[0] === '--backend') {
  backend = argv[1];
  argv = argv.slice(2);
}
const [cmd, ...cmdArgs] = argv;
if (!cmd) {
  console.error('usage: node rawprobe.mjs [--backend fake|real] <server-command> [args...]');
  process.exit(2);
}
const SLOW = backend === 'real' ? 'while True:\n    pass\n' : 'sleep()';
// A call that needs approval (the real fixture lists fs.delete in requires_approval).
const APPROVAL = backend === 'real' ? 'print("before")\nfs.delete("scratch/none.txt")\n' : 'print("before")\nconfirm("fs.delete", "delete scratch/none.txt")\n';

let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' :: ' + String(detail).slice(0, 300) : ''}`);
};

// One server process with a line reader over its stdout.
function launch() {
  const p = spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  const s = { p, queue: [], waiters: [], junk: [], stderr: '', exited: null };
  let buf = '';
  p.stderr.on('data', (d) => { s.stderr += d; });
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let m;
      try { m = JSON.parse(line); } catch { s.junk.push(line); continue; }
      if (!m || typeof m !== 'object' || Array.isArray(m) || m.jsonrpc !== '2.0') { s.junk.push(line); continue; }
      Object.defineProperty(m, 'raw', { value: line, enumerable: false });
      s.queue.push(m);
      for (const w of s.waiters.splice(0)) w();
    }
  });
  s.exit = new Promise((resolve) => p.on('exit', (code, signal) => { s.exited = { code, signal }; resolve(s.exited); for (const w of s.waiters.splice(0)) w(); }));
  s.send = (m) => p.stdin.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\n');
  s.raw = (b) => p.stdin.write(b);
  // next resolves with the first queued message matching pred, or null after ms.
  s.next = (pred = () => true, ms = 5000) => new Promise((resolve) => {
    const deadline = Date.now() + ms;
    let settled = false; // a stale wake-up must not take a message meant for a later wait
    const finish = (v) => { settled = true; clearTimeout(timer); resolve(v); };
    const look = () => {
      if (settled) return;
      const i = s.queue.findIndex(pred);
      if (i >= 0) return finish(s.queue.splice(i, 1)[0]);
      if (s.exited || Date.now() > deadline) return finish(null);
      s.waiters.push(look);
    };
    const timer = setTimeout(look, ms + 1);
    look();
  });
  s.byId = (id, ms) => s.next((m) => JSON.stringify(m.id) === JSON.stringify(id), ms);
  s.alive = async (tag) => { s.send({ jsonrpc: '2.0', id: 'alive-' + tag, method: 'ping' }); return !!(await s.byId('alive-' + tag)); };
  return s;
}

async function initialized(version = '2025-11-25') {
  const s = launch();
  s.send({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'rawprobe', version: '0' } } });
  const r = await s.byId('init');
  s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return [s, r];
}

async function stop(s) {
  s.p.stdin.end();
  const t = setTimeout(() => s.p.kill('SIGKILL'), 5000);
  const ex = await s.exit;
  clearTimeout(t);
  return ex;
}

// Versions.
for (const [asked, want] of [['2025-11-25', '2025-11-25'], ['2025-06-18', '2025-06-18'], ['2025-03-26', '2025-03-26'], ['2024-11-05', '2024-11-05'], ['2026-07-28', '2025-11-25'], ['1999-01-01', '2025-11-25']]) {
  const [s, r] = await initialized(asked);
  check(`initialize ${asked} -> ${want}`, r?.result?.protocolVersion === want && !!r?.result?.capabilities?.tools && r?.result?.serverInfo?.name === 'aegis-mcp', JSON.stringify(r));
  await stop(s);
}

// Pre-initialize behaviour, then the main robustness run on one process.
{
  const s = launch();
  s.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  let r = await s.byId(1, 2000);
  check('tools/list before initialize -> prompt error', !!r?.error, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 'disc', method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } });
  r = await s.byId('disc', 2000);
  check('server/discover without clientCapabilities -> -32602 (a legacy client falls back on it)', r?.error?.code === -32602, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 2, method: 'initialize', params: { capabilities: {} } });
  r = await s.byId(2);
  check('initialize without protocolVersion -> -32602 with data.supported', r?.error?.code === -32602 && Array.isArray(r?.error?.data?.supported), JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 3, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } }, clientInfo: { name: 'p', version: '0' }, _meta: { x: 1 } } });
  r = await s.byId(3);
  check('initialize after early errors, unknown capability keys tolerated', r?.result?.protocolVersion === '2025-11-25', JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 4, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {} } });
  r = await s.byId(4);
  check('duplicate initialize -> error', !!r?.error, JSON.stringify(r));

  s.send('{"jsonrpc":"2.0","id":5,"method":"ping"');
  r = await s.next((m) => m.error?.code === -32700);
  check('malformed JSON -> -32700 with id null', r?.id === null, JSON.stringify(r));
  check('  ...and the server keeps serving', await s.alive('a'));
  s.raw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]));
  r = await s.next((m) => m.error && m.id === null);
  check('invalid UTF-8 -> error with id null', !!r, JSON.stringify(r));
  check('  ...and the server keeps serving', await s.alive('b'));
  s.send({ id: 9, method: 'ping' });
  r = await s.byId(9);
  check('missing "jsonrpc" -> -32600 with the id', r?.error?.code === -32600, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: null, method: 'ping' });
  r = await s.next((m) => m.id === null, 2000);
  check('id null -> -32600', r?.error?.code === -32600, JSON.stringify(r));
  s.send('{"jsonrpc":"2.0","id":1.5,"method":"ping"}');
  r = await s.next((m) => m.id === null, 2000);
  check('fractional id -> -32600', r?.error?.code === -32600, JSON.stringify(r));
  s.send([{ jsonrpc: '2.0', id: 10, method: 'ping' }]);
  r = await s.next(() => true, 2000);
  check('batch -> -32600, keeps serving', r?.error?.code === -32600 && (await s.alive('c')), JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 7, method: 'no/such/method' });
  r = await s.byId(7);
  check('unknown method -> -32601, same id', r?.error?.code === -32601, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', method: 'notifications/no_such_thing' });
  s.send({ jsonrpc: '2.0', id: 999, result: {} });
  s.send({ jsonrpc: '2.0', id: 8, method: 'ping' });
  r = await s.next();
  check('unknown notification and stray response -> no answer', r?.id === 8, JSON.stringify(r));
  // Ids that JSON-RPC libraries commonly mangle; compared as raw text.
  for (const id of ['"abc"', '""', '0', '-1', '9007199254740991', '18446744073709551616', '"\\u0041"']) {
    s.send(`{"jsonrpc":"2.0","id":${id},"method":"ping"}`);
    const m = await s.next();
    // Compare the raw text: JavaScript numbers cannot hold every id exactly.
    const echoed = m ? /"id":(-?[0-9]+|"(?:[^"\\]|\\.)*")/.exec(m.raw)?.[1] : 'none';
    check(`id ${id} echoed byte-exactly`, m && !m.error && echoed === id, echoed);
  }
  s.raw('{"jsonrpc":"2.0","id":11,"method":"ping"}\r\n');
  r = await s.byId(11);
  check('CRLF tolerated', !!r?.result, JSON.stringify(r));

  s.send({ jsonrpc: '2.0', id: 12, method: 'tools/list' });
  r = await s.byId(12);
  const tools = r?.result?.tools ?? [];
  check('tools/list shape', tools.length === 8 && tools.every((t) => /^[A-Za-z0-9_.-]{1,128}$/.test(t.name) && t.inputSchema?.type === 'object'), tools.map((t) => t.name).join(','));
  s.send({ jsonrpc: '2.0', id: 13, method: 'tools/call', params: { arguments: {} } });
  r = await s.byId(13);
  check('tools/call without name -> -32602', r?.error?.code === -32602, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 14, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
  r = await s.byId(14);
  check('unknown tool -> -32602', r?.error?.code === -32602, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 15, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: 5 } } });
  r = await s.byId(15);
  check('schema-invalid arguments -> isError', r?.result?.isError === true, JSON.stringify(r));
  const tricky = 'a\nb\r\nc\u2028d"\\</script>\u0000é😀';
  s.send({ jsonrpc: '2.0', id: 16, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: `print(${JSON.stringify(tricky)})` } } });
  r = await s.byId(16);
  check('newlines, NUL, U+2028 and emoji stay inside one line', r?.result?.content?.[0]?.text === tricky + '\n', JSON.stringify(r?.result ?? r));
  const pad = 'x'.repeat(64 << 20);
  s.send({ jsonrpc: '2.0', id: 18, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: `print("${pad}")` } } });
  r = await s.byId(18, 30000);
  check('64 MiB request -> error carrying its id', r?.error?.code === -32600, JSON.stringify(r?.error));
  check('  ...and the server keeps serving', await s.alive('d'));

  s.send({ jsonrpc: '2.0', id: 20, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: SLOW } } });
  await new Promise((res) => setTimeout(res, 200));
  const t0 = Date.now();
  s.send({ jsonrpc: '2.0', id: 21, method: 'ping' });
  r = await s.byId(21);
  check('ping answered while a script runs', !!r?.result, `${Date.now() - t0}ms`);
  s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 20, reason: 'probe' } });
  r = await s.byId(20, 3000);
  check('cancelled call gets no response', r === null, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent' } });
  s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: {} });
  check('unknown and malformed cancels ignored', await s.alive('e'));
  check('stdout carried only JSON-RPC 2.0 lines', s.junk.length === 0, s.junk.slice(0, 3).join(' | '));
  const t1 = Date.now();
  const ex = await stop(s);
  check('exit status 0 within a second of stdin EOF', ex?.code === 0 && Date.now() - t1 < 1000, `${JSON.stringify(ex)} after ${Date.now() - t1}ms`);
}

// MCP 2026-07-28: no handshake; every request carries its revision and the
// client's capabilities in _meta.
{
  const meta = (caps = {}) => ({
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'rawprobe', version: '0' },
    'io.modelcontextprotocol/clientCapabilities': caps,
  });
  const modernOK = (r) => r?.result?.resultType === 'complete' && r?.result?._meta?.['io.modelcontextprotocol/serverInfo']?.name === 'aegis-mcp';
  const cached = (r) => Number.isInteger(r?.result?.ttlMs) && ['public', 'private'].includes(r?.result?.cacheScope);
  const s = launch();
  s.send({ jsonrpc: '2.0', id: 'd', method: 'server/discover', params: { _meta: meta() } });
  let r = await s.byId('d');
  check('2026-07-28 server/discover -> supportedVersions, capabilities, resultType, cache hints, serverInfo',
    modernOK(r) && cached(r) && r.result.supportedVersions?.[0] === '2026-07-28' && r.result.supportedVersions.includes('2025-11-25') &&
    !!r.result.capabilities?.tools && !!r.result.capabilities?.resources, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 'v', method: 'tools/list', params: { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } });
  r = await s.byId('v');
  check('unknown revision in _meta -> -32022 with data.supported and data.requested',
    r?.error?.code === -32022 && r.error.data?.supported?.includes('2026-07-28') && r.error.data?.requested === '2099-01-01', JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 'l', method: 'tools/list', params: { _meta: meta() } });
  r = await s.byId('l');
  check('2026-07-28 tools/list without initialize -> tools, resultType, cache hints', modernOK(r) && cached(r) && r.result.tools?.length === 8, JSON.stringify(r).slice(0, 300));
  s.send({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'aegis_run', arguments: { script: 'print("modern")' }, _meta: meta() } });
  r = await s.byId('c');
  check('2026-07-28 tools/call -> complete result with structuredContent', modernOK(r) && r.result.structuredContent?.stdout === 'modern\n', JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 'p', method: 'ping', params: { _meta: meta() } });
  r = await s.byId('p');
  check('2026-07-28 ping -> -32601 (removed in that revision)', r?.error?.code === -32601, JSON.stringify(r));
  s.send({ jsonrpc: '2.0', id: 'rr', method: 'resources/read', params: { uri: 'aegis://docs/script-api', _meta: meta() } });
  r = await s.byId('rr');
  check('2026-07-28 resources/read -> the script API reference', modernOK(r) && cached(r) && r.result.contents?.[0]?.text?.includes('fs.read(path)'), JSON.stringify(r).slice(0, 200));

  // Approval by multi round-trip request: input_required, then a retry
  // with the answer and the echoed requestState. The server never sends a
  // request of its own to a 2026-07-28 client.
  const elicit = { elicitation: { form: {} } };
  for (const [action, approved] of [['accept', true], ['decline', false]]) {
    s.send({ jsonrpc: '2.0', id: `a-${action}`, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: APPROVAL }, _meta: meta(elicit) } });
    r = await s.byId(`a-${action}`);
    const [key, q] = Object.entries(r?.result?.inputRequests ?? {})[0] ?? [];
    check(`2026-07-28 approval (${action}): input_required with an elicitation/create and a requestState`,
      r?.result?.resultType === 'input_required' && q?.method === 'elicitation/create' && q.params?.message?.includes('fs.delete') &&
      typeof r.result.requestState === 'string' && r.result.content === undefined, JSON.stringify(r));
    const answer = action === 'accept' ? { action, content: { approved } } : { action };
    s.send({ jsonrpc: '2.0', id: `b-${action}`, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: APPROVAL },
      inputResponses: { [key]: answer }, requestState: r?.result?.requestState, _meta: meta(elicit) } });
    r = await s.byId(`b-${action}`);
    const sc = r?.result?.structuredContent;
    const wentPast = approved ? sc?.exit_kind !== 'confirm_denied' : sc?.exit_kind === 'confirm_denied';
    check(`2026-07-28 approval (${action}): the retry resumes the run`, modernOK(r) && wentPast && sc?.stdout?.startsWith('before\n'), JSON.stringify(r));
  }
  check('2026-07-28: the server sent no request of its own', s.queue.every((m) => m.method === undefined) && s.junk.length === 0);
  await stop(s);
}

// A request that arrives just before EOF is still answered.
{
  const [s] = await initialized();
  s.send({ jsonrpc: '2.0', id: 30, method: 'tools/call', params: { name: 'aegis_run', arguments: { script: 'print("last words")' } } });
  s.p.stdin.end();
  const r = await s.byId(30, 3000);
  check('request just before EOF is answered', r?.result?.content?.[0]?.text === 'last words\n', JSON.stringify(r));
  await s.exit;
}

console.log(`rawprobe.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

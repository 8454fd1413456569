import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAudit } from '../../src/audit/log.js';
import {
  connectVia,
  echoOnce,
  echoServer,
  fakeResolver,
  httpServer,
  policyBytes,
  rawRequest,
  startGateway,
  waitClosed,
} from './helpers.js';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

test('allow/deny matrix over CONNECT and plain HTTP, with audit lines', async () => {
  const echo = await echoServer();
  const web = await httpServer();
  const resolver = fakeResolver({
    'echo.test': ['127.0.0.1'],
    'api.echo.test': ['127.0.0.1'],
    'deep.api.echo.test': ['127.0.0.1'],
    'web.test': ['127.0.0.1'],
    'xn--bcher-kva.test': ['127.0.0.1'],
    'other.test': ['127.0.0.1'],
  });
  const { gw, dir, cleanup } = await startGateway({ resolver });
  try {
    const { socketPath, policyVersion } = await gw.applyPolicy(
      policyBytes('agent', [
        {
          name: 'echo',
          endpoints: [
            { host: 'echo.test', port: echo.port },
            { host: 'echo.test', port: echo.port, wildcard: true },
          ],
        },
        { name: 'idn', endpoints: [{ host: 'xn--bcher-kva.test', port: echo.port }] },
        {
          name: 'web',
          endpoints: [{ host: 'web.test', port: web.port, protocol: 'http', methods: ['GET'], paths: ['/api/**', '/one/*'] }],
        },
      ]),
    );
    assert.match(policyVersion, /^sha256:[0-9a-f]{64}$/);

    const cases: [string, number, string?][] = [
      [`echo.test:${echo.port}`, 200],
      [`ECHO.Test.:${echo.port}`, 200], // case and trailing dot
      [`api.echo.test:${echo.port}`, 200], // wildcard, one label
      [`deep.api.echo.test:${echo.port}`, 200], // wildcard, several labels
      [`XN--BCHER-KVA.test:${echo.port}`, 200], // IDNA, as clients send it on the wire (ASCII)
      [`echo.test:${echo.port + 1}`, 403, 'port_not_allowed'],
      [`other.test:${echo.port}`, 403, 'no_rule'],
      [`xecho.test:${echo.port}`, 403, 'no_rule'], // suffix without a dot boundary
      [`127.0.0.1:${echo.port}`, 403, 'ip_literal'],
      [`169.254.169.254:80`, 403, 'ssrf_blocked'],
      [`[::ffff:169.254.169.254]:80`, 403, 'ssrf_blocked'],
      [`10.0.0.1:443`, 403, 'ssrf_blocked'],
    ];
    for (const [authority, status, reason] of cases) {
      const r = await connectVia(socketPath, authority);
      assert.equal(r.status, status, authority);
      if (status === 200) {
        assert.equal((await echoOnce(r.socket, 'ping ' + authority)).toString(), 'ping ' + authority);
      } else {
        assert.equal(r.headers['x-nemoclaw-deny'], reason, authority);
        const body = JSON.parse(r.body);
        assert.equal(body.error, 'egress_denied');
        assert.equal(body.sandbox, 'agent');
        assert.equal(body.reason, reason);
        assert.ok(Array.isArray(body.next_steps) && body.next_steps.length > 0);
      }
      r.socket.destroy();
    }

    const get = (path: string, method = 'GET') =>
      rawRequest(
        socketPath,
        `${method} http://web.test:${web.port}${path} HTTP/1.1\r\nHost: web.test\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n`,
      );
    const ok = await get('/api/v1/items?token=hunter2');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).url, '/api/v1/items?token=hunter2');
    assert.equal(web.seen.at(-1)!.headers['proxy-authorization'], undefined, 'proxy credentials never forwarded');
    assert.equal(web.seen.at(-1)!.headers.host, `web.test:${web.port}`);
    ok.socket.destroy();
    for (const [path, method, reason] of [
      ['/one/a/b', 'GET', 'path_not_allowed'],
      ['/api/x', 'POST', 'method_not_allowed'],
      ['/api/../admin', 'GET', 'ambiguous_path'],
      ['/api/%2e%2e/admin', 'GET', 'ambiguous_path'],
    ] as const) {
      const r = await get(path, method);
      assert.equal(r.headers['x-nemoclaw-deny'], reason, `${method} ${path}`);
      r.socket.destroy();
    }
    const one = await get('/one/seg');
    assert.equal(one.status, 200);
    one.socket.destroy();

    await new Promise((r) => setTimeout(r, 50));
    gw.flushAudit();
    const records = readAudit(join(dir, 'gateway'));
    const closes = records.filter((r) => r.activity === 'close' && r.action === 'allowed');
    assert.ok(closes.length >= 5);
    const c = closes[0]!;
    assert.equal(c.sandbox, 'agent');
    assert.equal(c.policy_version, policyVersion);
    assert.equal(c.rule, 'echo');
    assert.equal(c.dst!.ip, '127.0.0.1');
    assert.ok((c.bytes_in ?? 0) > 0 && (c.bytes_out ?? 0) > 0);
    assert.deepEqual(c.test_hooks, ['resolver', 'allow_loopback']);
    const http = records.find((r) => r.class_uid === 4002 && r.action === 'allowed')!;
    assert.equal(http.http!.path, '/api/v1/items');
    const text = JSON.stringify(records);
    assert.ok(!text.includes('hunter2') && !text.includes('c2VjcmV0'), 'no query strings or credentials in the audit');
    assert.ok(records.some((r) => r.activity === 'deny' && r.reason === 'ssrf_blocked'));
  } finally {
    await cleanup();
    echo.server.close();
    web.server.close();
  }
});

test('targets: IDNA, trailing dot, case; refusals of malformed authorities', async () => {
  const { parseAuthority, parseAbsoluteUrl } = await import('../../src/gateway/target.js');
  assert.deepEqual(parseAuthority('Bücher.TEST.:443'), { host: 'xn--bcher-kva.test', port: 443, ipLiteral: false });
  assert.deepEqual(parseAuthority('[::1]:8080'), { host: '::1', port: 8080, ipLiteral: true });
  for (const bad of ['host', 'host:0', 'host:65536', '*.x.com:443', 'a b:1', 'user@host:443', '1.2.3:443', '0x7f000001:80', ':443']) {
    assert.equal(parseAuthority(bad), undefined, bad);
  }
  assert.deepEqual(parseAbsoluteUrl('http://Bücher.test/a?b'), { host: 'xn--bcher-kva.test', port: 80, ipLiteral: false, path: '/a?b' });
  assert.equal(parseAbsoluteUrl('http://u:p@host/'), undefined);
  assert.equal(parseAbsoluteUrl('/relative'), undefined);
});

test('SSRF: any internal address in the answer refuses; one lookup per request (no rebinding)', async () => {
  const echo = await echoServer();
  let n = 0;
  const resolver = fakeResolver({
    'mixed.test': ['127.0.0.1', '10.1.2.3'],
    'meta.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:192.168.1.1'],
    'v6meta.test': ['fd00:ec2::254'],
    'alibaba.test': ['100.100.100.200'],
    'cgnat.test': ['100.64.0.9'],
    'ula.test': ['fd12::1'],
    'ok-internal.test': ['10.20.1.1'],
    // first answer is fine, any later answer would point at a private address
    'rebind.test': () => (n++ === 0 ? ['127.0.0.1'] : ['10.9.9.9']),
  });
  const { gw, cleanup } = await startGateway({ resolver, connectTimeoutMs: 200 });
  try {
    const names = ['mixed', 'meta', 'mapped', 'v6meta', 'alibaba', 'cgnat', 'ula', 'ok-internal', 'rebind'];
    const { socketPath } = await gw.applyPolicy(
      policyBytes(
        'agent',
        names.map((h) => ({ name: h, endpoints: [{ host: `${h}.test`, port: echo.port }] })),
        { allowed_ips: ['10.20.0.0/16'] },
      ),
    );
    for (const h of ['mixed', 'meta', 'mapped', 'v6meta', 'alibaba', 'cgnat', 'ula']) {
      const r = await connectVia(socketPath, `${h}.test:${echo.port}`);
      assert.equal(r.status, 403, h);
      assert.equal(r.headers['x-nemoclaw-deny'], 'ssrf_blocked', h);
      r.socket.destroy();
    }
    // allowed_ips covers 10.20/16: passes the guard (the connect then fails: nothing listens there)
    const internal = await connectVia(socketPath, `ok-internal.test:${echo.port}`);
    assert.notEqual(internal.headers['x-nemoclaw-deny'], 'ssrf_blocked');
    internal.socket.destroy();

    const before = resolver.calls.filter((c) => c === 'rebind.test').length;
    const r = await connectVia(socketPath, `rebind.test:${echo.port}`);
    assert.equal(r.status, 200, 'connects to the address that was checked');
    assert.equal((await echoOnce(r.socket, 'x')).toString(), 'x');
    assert.equal(resolver.calls.filter((c) => c === 'rebind.test').length - before, 1, 'exactly one lookup');
    r.socket.destroy();
  } finally {
    await cleanup();
    echo.server.close();
  }
});

test('allowed_ips never opens loopback or metadata when the loopback hook is off', async (t) => {
  const { Gateway } = await import('../../src/gateway/gateway.js');
  const dir = tempDir(t, 'nemoclaw-gw-');
  const resolver = fakeResolver({ 'lo.test': ['127.0.0.1'], 'md.test': ['169.254.169.254'] });
  const gw = new Gateway({ stateDir: dir, testHooks: { resolver } });
  await gw.start();
  try {
    const { socketPath } = await gw.applyPolicy(
      policyBytes(
        'agent',
        [
          {
            name: 'x',
            endpoints: [
              { host: 'lo.test', port: 443 },
              { host: 'md.test', port: 80 },
            ],
          },
        ],
        { allowed_ips: ['0.0.0.0/0', '127.0.0.0/8', '169.254.0.0/16'] },
      ),
    );
    for (const a of ['lo.test:443', 'md.test:80']) {
      const r = await connectVia(socketPath, a);
      assert.equal(r.headers['x-nemoclaw-deny'], 'ssrf_blocked', a);
      r.socket.destroy();
    }
  } finally {
    await gw.stop();
  }
});

test('half-close is carried through a tunnel', async () => {
  const echo = await echoServer();
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({ 'echo.test': ['127.0.0.1'] }) });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', [{ name: 'e', endpoints: [{ host: 'echo.test', port: echo.port }] }]));
    const r = await connectVia(socketPath, `echo.test:${echo.port}`);
    const got: Buffer[] = [];
    r.socket.on('data', (c) => got.push(c));
    const ended = new Promise<void>((res) => r.socket.on('end', () => res()));
    r.socket.end('last words'); // FIN after data: the echo server replies, then ends
    await ended;
    assert.equal(Buffer.concat(got).toString(), 'last words');
    await waitClosed(r.socket);
  } finally {
    await cleanup();
    echo.server.close();
  }
});

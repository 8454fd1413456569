// WebSocket over plain http:// through the gateway: the upgrade request is checked like any
// request (method and path), a 101 turns the connection into a tunnel, and nothing lets later
// requests on the same connection skip the rules (a refused upgrade closes the connection; other
// upgrade protocols are forwarded without the Upgrade header).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Gateway } from '../../src/gateway/gateway.js';
import { fakeResolver, policyBytes, rawRequest, startGateway, waitClosed } from './helpers.js';

/** A server that upgrades /ws to an echo, refuses other upgrades with a keep-alive 404, and answers plain requests. */
async function wsServer() {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} upgrade=${req.headers.upgrade ?? '-'}`);
    res.end(`plain:${req.url}`);
  });
  server.on('upgrade', (req: IncomingMessage, sock: Socket) => {
    seen.push(`UPGRADE ${req.url} ${req.headers.upgrade} connection=${req.headers.connection}`);
    if (req.url === '/ws') {
      sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      sock.pipe(sock);
      return;
    }
    // Refuses but keeps the connection open, the way a server might, and serves what follows.
    sock.write('HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!');
    sock.on('data', (d) => {
      seen.push(`AFTER ${String(d).split('\r\n')[0]}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, seen };
}

/** A gateway whose sandbox `agent` may GET the given paths on the WebSocket server; cleaned up after `fn`. */
async function withGateway(
  paths: string[],
  fn: (c: { socketPath: string; ws: Awaited<ReturnType<typeof wsServer>>; gw: Gateway; dir: string }) => Promise<void>,
): Promise<void> {
  const ws = await wsServer();
  const { gw, dir, cleanup } = await startGateway({ resolver: fakeResolver({ 'ws.test': ['127.0.0.1'] }) });
  try {
    const { socketPath } = await gw.applyPolicy(
      policyBytes('agent', [{ name: 'ws', endpoints: [{ host: 'ws.test', port: ws.port, protocol: 'http', methods: ['GET'], paths }] }]),
    );
    await fn({ socketPath, ws, gw, dir });
  } finally {
    await cleanup();
    ws.server.close();
  }
}

const upgradeHead = (port: number, path: string, protocol = 'websocket') =>
  `GET http://ws.test:${port}${path} HTTP/1.1\r\nHost: ws.test:${port}\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function readAll(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d) => {
      out += d;
    });
    s.on('close', () => resolve(out));
  });
}

test('websocket over http://: allowed path upgrades to an echo tunnel; other paths are denied', () =>
  withGateway(['/ws', '/plain', '/h2'], async ({ socketPath, ws, gw, dir }) => {
    const r = await rawRequest(socketPath, upgradeHead(ws.port, '/ws'));
    assert.equal(r.status, 101);
    assert.equal(r.headers.upgrade, 'websocket');
    const echoed = new Promise<string>((resolve) => r.socket.once('data', (d) => resolve(String(d))));
    r.socket.write('frame-bytes');
    assert.equal(await echoed, 'frame-bytes');
    assert.ok(ws.seen.includes('UPGRADE /ws websocket connection=Upgrade'), ws.seen.join('\n'));
    r.socket.destroy();

    // Origin-form (no absolute URL) is not a proxy request, upgrade or not.
    const originForm = await rawRequest(
      socketPath,
      'GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(originForm.status, 400);
    assert.equal(originForm.headers['x-nemoclaw-deny'], 'bad_request');

    const denied = await rawRequest(socketPath, upgradeHead(ws.port, '/admin'));
    assert.equal(denied.status, 403);
    assert.ok(denied.headers['x-nemoclaw-deny']);
    assert.ok(!ws.seen.some((l) => l.includes('/admin')), 'a denied upgrade never reaches the server');

    let rec: { http?: { status?: number; path?: string }; upgrade?: string } | undefined;
    for (let i = 0; i < 100 && !rec; i++) {
      gw.flushAudit();
      const file = join(dir, 'gateway', 'audit.jsonl');
      const lines = existsSync(file)
        ? readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [];
      rec = lines.find((x) => x.upgrade === 'websocket');
      if (!rec) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(rec?.http?.status, 101);
    assert.equal(rec?.http?.path, '/ws');
  }));

test('a refused upgrade is relayed and the connection closed, so no request can follow on it', () =>
  withGateway(['/plain'], async ({ socketPath, ws }) => {
    const r = await rawRequest(socketPath, upgradeHead(ws.port, '/plain'));
    assert.equal(r.status, 404);
    assert.equal(r.body, 'no!');
    assert.equal(r.headers.connection, 'close');
    // A request for a path the rule does not allow, smuggled on the same connection.
    r.socket.write(`GET /secret HTTP/1.1\r\nHost: ws.test\r\n\r\n`);
    await waitClosed(r.socket);
    await new Promise((res) => setTimeout(res, 100));
    assert.ok(!ws.seen.some((l) => l.includes('/secret')), ws.seen.join('\n'));
  }));

test('an upgrade to anything but websocket is forwarded as a plain request without the Upgrade header', () =>
  withGateway(['/h2'], async ({ socketPath, ws }) => {
    const r = await rawRequest(socketPath, upgradeHead(ws.port, '/h2', 'h2c'));
    assert.equal(r.status, 200);
    assert.equal(r.body, 'plain:/h2');
    assert.ok(ws.seen.includes('GET /h2 upgrade=-'), ws.seen.join('\n'));
    const rest = await readAll(r.socket);
    assert.equal(rest, '', 'nothing after the response; the gateway closed the connection');
  }));

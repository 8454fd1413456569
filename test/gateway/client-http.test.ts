// The daemon client speaks HTTP/1.1 over the control socket itself (src/daemon/client.ts): every
// shape of answer node's HTTP server can give is read, and every failure is the GatewayError it
// was with node:http (probeGateway tells "absent" from "unknown" by it).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { call, GatewayError, probeGateway } from '../../src/daemon/client.js';
import { stateLayout } from '../../src/state/paths.js';
import { tempDir } from '../helpers/tmp.js';

/** A control socket whose every connection gets REPLY (raw bytes, in pieces), after the request arrived. */
async function fake(t: import('node:test').TestContext, reply: (req: string, s: Socket) => void): Promise<string> {
  const dir = tempDir(t, 'nemoclaw-client-');
  const path = stateLayout(dir).controlSocket;
  mkdirSync(dirname(path), { recursive: true });
  const server: Server = createServer((s) => {
    let req = '';
    s.on('data', (c) => {
      req += c.toString('latin1');
      const at = req.indexOf('\r\n\r\n');
      if (at < 0) return;
      const n = Number(/content-length: (\d+)/i.exec(req)?.[1] ?? 0);
      if (req.length >= at + 4 + n) reply(req, s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return dir;
}

test('content-length, chunked and until-close answers; the request carries method, path and JSON body', async (t) => {
  let seen = '';
  const dir = await fake(t, (req, s) => {
    seen = req;
    const body = '{"ok":true,"n":1}';
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len`);
    setTimeout(() => s.write(`gth: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`), 5);
    setTimeout(() => s.write(body.slice(5)), 10); // and the connection stays open: the length says it is all
    setTimeout(() => s.destroy(), 2000);
  });
  assert.deepEqual(await call(dir, 'PUT', '/v1/x/y', { a: 'é' }), { ok: true, n: 1 });
  assert.match(seen, /^PUT \/v1\/x\/y HTTP\/1\.1\r\n/);
  assert.ok(seen.endsWith(`Content-Length: 10\r\n\r\n${Buffer.from('{"a":"é"}').toString('latin1')}`), seen); // UTF-8 bytes, counted

  const chunked = await fake(t, (_q, s) =>
    s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n4\r\n:[1]\r\n1\r\n}\r\n0\r\n\r\n'),
  );
  assert.deepEqual(await call(chunked, 'GET', '/'), { a: [1] });
  const untilClose = await fake(t, (_q, s) => s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"b":2}'));
  assert.deepEqual(await call(untilClose, 'GET', '/'), { b: 2 });
});

test('errors: the daemon refusing (status and its message), a malformed reply, a hang-up, no answer in time, nothing listening', async (t) => {
  const refused = await fake(t, (_q, s) => s.end('HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 16\r\n\r\n{"error":"nope"}'));
  await assert.rejects(
    call(refused, 'GET', '/'),
    (e: GatewayError) => e instanceof GatewayError && e.status === 422 && e.message === 'nope',
  );
  const malformed = await fake(t, (_q, s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{{{'));
  await assert.rejects(call(malformed, 'GET', '/'), /malformed reply/);
  const garbage = await fake(t, (_q, s) => s.end('SMTP ready\r\n\r\n'));
  await assert.rejects(call(garbage, 'GET', '/'), /malformed reply/);
  const hangup = await fake(t, (_q, s) => s.end());
  await assert.rejects(call(hangup, 'GET', '/'), (e: GatewayError) => e.errno === 'ECONNRESET');
  const silent = await fake(t, () => {});
  await assert.rejects(call(silent, 'GET', '/', undefined, 200), /did not answer in time/);
  assert.equal((await probeGateway(silent)).state, 'unknown');

  const none = tempDir(t, 'nemoclaw-client-');
  await assert.rejects(call(none, 'GET', '/'), (e: GatewayError) => e.errno === 'ENOENT');
  assert.equal((await probeGateway(none)).state, 'absent');
  rmSync(none, { recursive: true, force: true });
});

// The control API's client speaks just enough HTTP/1.1 for our own server; anything else it
// receives is an error that names the gateway, never a half-read answer.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { call, GatewayError, probeGateway } from '../../src/daemon/client.js';
import { stateLayout } from '../../src/state/paths.js';
import { tempDir } from '../helpers/tmp.js';

/** A state directory whose control socket answers every connection with REPLY (raw bytes). */
async function fakeGateway(t: TestContext, reply: (request: string) => string | null): Promise<{ state: string; seen: string[] }> {
  const state = tempDir(t, 'nemoclaw-control-client-');
  const socket = stateLayout(state).controlSocket;
  mkdirSync(join(socket, '..'), { recursive: true });
  const seen: string[] = [];
  // Half-open like node:http's server: a client's FIN after its request does not end the answer.
  const server: Server = createServer({ allowHalfOpen: true }, (c) => {
    let req = '';
    c.on('end', () => c.destroy());
    c.on('data', (d) => {
      req += d.toString('latin1');
      const end = req.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length: (\d+)/i.exec(req)?.[1] ?? 0);
      if (req.length < end + 4 + len) return;
      seen.push(req);
      const out = reply(req);
      if (out !== null) c.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { state, seen };
}

const json = (status: string, body: string) =>
  `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test('a request carries its body with a length; a 200 JSON answer is returned', async (t) => {
  const gw = await fakeGateway(t, () => json('200 OK', '{"removed":true}'));
  assert.deepEqual(await call(gw.state, 'PUT', '/v1/x', { a: 1 }), { removed: true });
  assert.match(gw.seen[0]!, /^PUT \/v1\/x HTTP\/1\.1\r\n/);
  assert.match(gw.seen[0]!, /\r\nContent-Length: 7\r\n/);
  assert.ok(gw.seen[0]!.endsWith('\r\n\r\n{"a":1}'));
});

test('an error status is a GatewayError with the server’s message and status', async (t) => {
  const gw = await fakeGateway(t, () => json('404 Not Found', '{"error":"unknown endpoint"}'));
  await assert.rejects(call(gw.state, 'GET', '/v1/nope'), (e: unknown) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.message, 'unknown endpoint');
    assert.equal(e.status, 404);
    return true;
  });
});

test('answers that are not whole HTTP with a Content-Length are malformed, not half-read', async (t) => {
  for (const bad of [
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}', // no length
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}', // short body
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}', // two lengths
    'SSH-2.0-OpenSSH\r\n\r\n', // not HTTP
    json('200 OK', 'not json'),
  ]) {
    const gw = await fakeGateway(t, () => bad);
    await assert.rejects(call(gw.state, 'GET', '/v1/health'), /gateway sent a malformed reply/, JSON.stringify(bad));
  }
});

test('a gateway that never answers times out; one that is not there is absent', async (t) => {
  const gw = await fakeGateway(t, () => null);
  await assert.rejects(call(gw.state, 'GET', '/v1/health', undefined, 300), /gateway did not answer in time/);
  assert.equal((await probeGateway(tempDir(t, 'nemoclaw-control-none-'))).state, 'absent');
});

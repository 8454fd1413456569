import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import {
  connectVia,
  delay,
  echoOnce,
  echoServer,
  fakeResolver,
  httpServer,
  policyBytes,
  rawRequest,
  startGateway,
  waitClosed,
} from './helpers.js';

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fuzzCase(r: () => number, port: number): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const kind = Math.floor(r() * 10);
  switch (kind) {
    case 0:
      return bytes(1 + Math.floor(r() * 2000));
    case 1:
      return Buffer.from(
        `CONNECT ${pick(['', ':', 'a:', ':1', 'x'.repeat(300) + ':443', '[::1', 'h:99999', 'echo.test:' + port + ' extra'])} HTTP/1.1\r\n\r\n`,
      );
    case 2:
      return Buffer.from(
        `${pick(['GET', 'POST', 'FOO', '', 'G\0T'])} ${pick(['http://', 'http://echo.test:' + port + '/\r\n', '/', '*', 'http://[zz]/', 'http://echo.test:0/'])} HTTP/1.1\r\n\r\n`,
      );
    case 3:
      return Buffer.from(`GET http://web.test/ HTTP/1.1\r\n${'X-A: ' + 'b'.repeat(20000)}\r\n\r\n`);
    case 4:
      return Buffer.from(`GET http://web.test/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
    case 5:
      return Buffer.from(`GET http://web.test/ HTTP/1.1\r\n Folded: x\r\n\r\n`);
    case 6:
      return Buffer.from(`CONNECT echo.test:${port} HTTP/1.1\r\n` + 'A: b\r\n'.repeat(Math.floor(r() * 3000)) + '\r\n');
    case 7: {
      const b = Buffer.from(`CONNECT echo.test:${port} HTTP/1.1\r\n\r\n`);
      b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    }
    case 8:
      return Buffer.concat([Buffer.from('GET http://web.test/ HTTP/1.1\r\nContent-Length: '), bytes(8), Buffer.from('\r\n\r\n')]);
    default:
      return Buffer.from(`HTTP/1.1 200 OK\r\n\r\n${'\n'.repeat(Math.floor(r() * 100))}`);
  }
}

function sendAndWait(path: string, data: Buffer, ms = 500): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('error', () => {});
    s.on('close', () => resolve());
    s.end(data);
    setTimeout(() => {
      s.destroy();
    }, ms).unref();
  });
}

test('malformed and random input never crashes the gateway (seeded fuzz, 400 cases)', async () => {
  const echo = await echoServer();
  const web = await httpServer();
  const { gw, cleanup } = await startGateway({
    resolver: fakeResolver({ 'echo.test': ['127.0.0.1'], 'web.test': ['127.0.0.1'] }),
    headersTimeoutMs: 300,
  });
  try {
    const { socketPath } = await gw.applyPolicy(
      policyBytes('agent', [
        {
          name: 'e',
          endpoints: [
            { host: 'echo.test', port: echo.port },
            { host: 'web.test', port: 80, protocol: 'http' },
          ],
        },
      ]),
    );
    const r = rng(0xc0ffee);
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 20 }, () => sendAndWait(socketPath, fuzzCase(r, echo.port))));
    }
    // still serving, and a well-formed request after all that works
    const t = await connectVia(socketPath, `echo.test:${echo.port}`);
    assert.equal(t.status, 200);
    assert.equal((await echoOnce(t.socket, 'alive')).toString(), 'alive');
    t.socket.destroy();
    const big = await rawRequest(socketPath, `GET http://web.test/ HTTP/1.1\r\nX: ${'y'.repeat(20000)}\r\n\r\n`);
    assert.equal(big.status, 431, 'oversized head is refused');
    big.socket.destroy();
  } finally {
    await cleanup();
    echo.server.close();
    web.server.close();
  }
});

test('slow clients are timed out', async () => {
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({}), headersTimeoutMs: 200 });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', []));
    // slowloris: a partial head that never completes
    const slow = connect(socketPath);
    slow.on('error', () => {});
    const got: Buffer[] = [];
    slow.on('data', (c) => got.push(c));
    slow.write('CONNECT a.test:443 HTTP/1.1\r\nX: ');
    await waitClosed(slow);
    assert.match(Buffer.concat(got).toString(), /^HTTP\/1\.1 408 /);
  } finally {
    await cleanup();
  }
});

test('the per-sandbox connection cap answers 503 and frees slots on close', async () => {
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({}), headersTimeoutMs: 10_000, maxConnectionsPerSandbox: 5 });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', []));

    const idle: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      const s = connect(socketPath);
      s.on('error', () => {});
      idle.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await delay(20);
    const over = await rawRequest(socketPath, 'CONNECT a.test:443 HTTP/1.1\r\n\r\n');
    assert.equal(over.status, 503);
    assert.equal(over.headers['x-nemoclaw-deny'], 'connection_limit');
    over.socket.destroy();
    for (const s of idle) s.destroy();
    await delay(50);
    const after = await rawRequest(socketPath, 'CONNECT a.test:443 HTTP/1.1\r\n\r\n');
    assert.equal(after.status, 403, 'slots come back when connections close');
    after.socket.destroy();
  } finally {
    await cleanup();
  }
});

test('1,000 concurrent tunnels all carry data', async () => {
  const echo = await echoServer();
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({ 'echo.test': ['127.0.0.1'] }) });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', [{ name: 'e', endpoints: [{ host: 'echo.test', port: echo.port }] }]));
    const tunnels: Socket[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const opened = await Promise.all(Array.from({ length: 100 }, () => connectVia(socketPath, `echo.test:${echo.port}`)));
      for (const t of opened) {
        assert.equal(t.status, 200);
        tunnels.push(t.socket);
      }
    }
    assert.equal(gw.status().sandboxes[0]!.connections.flows, 1000);
    const replies = await Promise.all(tunnels.map((s, i) => echoOnce(s, `#${i}`)));
    replies.forEach((b, i) => assert.equal(b.toString(), `#${i}`));
    for (const s of tunnels) s.destroy();
    for (let i = 0; i < 100 && gw.status().sandboxes[0]!.connections.flows > 0; i++) await delay(20);
    assert.equal(gw.status().sandboxes[0]!.connections.flows, 0);
  } finally {
    await cleanup();
    echo.server.close();
  }
});

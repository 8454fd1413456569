// Plain-HTTP upstream connection reuse: per sandbox, only after complete responses, closed on a
// reload, bounded. The origin counts the TCP connections it accepted, which is what reuse changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { readAudit } from '../../src/audit/log.js';
import type { HttpRequestRecord } from '../../src/audit/record.js';
import { join } from 'node:path';
import { fakeResolver, policyBytes, startGateway, waitClosed } from './helpers.js';

/** An origin that counts its connections; `/big` answers 8 MiB, `/hold` waits for `release()`. */
async function origin() {
  const accepted: Socket[] = [];
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': 8 * 2 ** 20 });
        res.end(Buffer.alloc(8 * 2 ** 20, 1));
      } else if (req.url === '/hold') held.push(() => res.end('held'));
      else res.end(`ok ${req.url}`);
    });
  });
  server.on('connection', (s: Socket) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    accepted,
    open: () => accepted.filter((s) => !s.destroyed).length,
    held,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One request through the gateway on a keep-alive client agent; resolves with the body. */
function get(socketPath: string, agent: Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent, path: url, headers: { host: new URL(url).host } }, (res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const webPolicy = (sandbox: string, port: number) =>
  policyBytes(sandbox, [{ name: 'web', endpoints: [{ host: 'web.test', port, protocol: 'http', methods: ['GET'], paths: ['/**'] }] }]);

test('upstream connection reuse for plain HTTP', async (t) => {
  const web = await origin();
  const { gw, dir, cleanup } = await startGateway({ resolver: fakeResolver({ 'web.test': ['127.0.0.1'] }) });
  const agents: Agent[] = [];
  const agent = () => {
    const a = new Agent({ keepAlive: true, maxSockets: 4 });
    agents.push(a);
    return a;
  };
  const base = `http://web.test:${web.port}`;
  try {
    const a = await gw.applyPolicy(webPolicy('alpha', web.port));
    const b = await gw.applyPolicy(webPolicy('beta', web.port));

    await t.test('a second request on a keep-alive client connection reuses the upstream connection', async () => {
      const ag = agent();
      assert.deepEqual(await get(a.socketPath, ag, `${base}/one`), { status: 200, body: 'ok /one' });
      assert.deepEqual(await get(a.socketPath, ag, `${base}/two`), { status: 200, body: 'ok /two' });
      assert.deepEqual(await get(a.socketPath, agent(), `${base}/three`), { status: 200, body: 'ok /three' });
      assert.equal(web.accepted.length, 1, 'the origin saw one TCP connection for three requests');
      gw.flushAudit();
      const recs = readAudit(join(dir, 'gateway')).filter((r): r is HttpRequestRecord => r.class_uid === 4002 && r.activity === 'request');
      assert.deepEqual(
        recs.map((r) => [r.http.path, r.http.status]),
        [
          ['/one', 200],
          ['/two', 200],
          ['/three', 200],
        ],
      );
      // Each record counts its own request's bytes, not the pooled connection's running total.
      for (const r of recs) assert.ok(r.bytes_in > 0 && r.bytes_in < 400 && r.bytes_out > 0 && r.bytes_out < 400, JSON.stringify(r));
    });

    await t.test('two sandboxes never share an upstream connection', async () => {
      const before = web.accepted.length;
      assert.equal((await get(b.socketPath, agent(), `${base}/beta`)).body, 'ok /beta');
      assert.equal(web.accepted.length, before + 1, 'beta opened its own connection');
      assert.equal((await get(a.socketPath, agent(), `${base}/alpha`)).body, 'ok /alpha');
      assert.equal((await get(b.socketPath, agent(), `${base}/beta2`)).body, 'ok /beta2');
      assert.equal(web.accepted.length, before + 1, 'each sandbox reused its own');
      assert.equal(gw.pool.size(), 2);
    });

    await t.test('a response not read to its end is not reused', async () => {
      gw.pool.closeSandbox('alpha');
      const before = web.accepted.length;
      await new Promise<void>((resolve, reject) => {
        const req = request({ socketPath: a.socketPath, path: `${base}/big`, headers: { host: 'web.test' } }, (res) => {
          res.once('data', () => {
            req.destroy(); // the client leaves after the first chunk
            resolve();
          });
        });
        req.on('error', () => {});
        req.on('close', () => resolve());
        req.once('error', reject);
        req.end();
      });
      const first = web.accepted.at(-1)!;
      assert.equal(web.accepted.length, before + 1);
      await waitClosed(first); // the gateway closed the half-read connection
      assert.equal((await get(a.socketPath, agent(), `${base}/after`)).body, 'ok /after');
      assert.equal(web.accepted.length, before + 2, 'the next request needed a new connection');
    });

    await t.test('a reload that revokes the destination closes the pooled connection', async () => {
      assert.equal((await get(a.socketPath, agent(), `${base}/warm`)).body, 'ok /warm');
      const pooled = web.accepted.at(-1)!;
      assert.ok(!pooled.destroyed);
      await gw.applyPolicy(policyBytes('alpha', [{ name: 'other', endpoints: [{ host: 'other.test', port: 80, protocol: 'http' }] }]));
      await waitClosed(pooled);
      const denied = await get(a.socketPath, agent(), `${base}/warm`);
      assert.equal(denied.status, 403);
      assert.equal(gw.pool.size(), 1, "only beta's connection is left");
    });
  } finally {
    for (const ag of agents) ag.destroy();
    await cleanup();
    await web.close();
  }
});

test('the pool keeps at most its bound of idle connections', async () => {
  const web = await origin();
  const { gw, cleanup } = await startGateway({
    resolver: fakeResolver({ 'web.test': ['127.0.0.1'] }),
    upstreamPool: { maxPerKey: 2, maxTotal: 2 },
  });
  const agents = [0, 1, 2, 3].map(() => new Agent({ keepAlive: true }));
  try {
    const { socketPath } = await gw.applyPolicy(webPolicy('alpha', web.port));
    // Four requests in flight at once need four upstream connections.
    const pending = agents.map((ag) => get(socketPath, ag, `http://web.test:${web.port}/hold`));
    while (web.held.length < 4) await new Promise((r) => setTimeout(r, 10));
    assert.equal(web.accepted.length, 4);
    for (const release of web.held) release();
    for (const r of await Promise.all(pending)) assert.equal(r.body, 'held');
    while (web.open() > 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(gw.pool.size(), 2);
    assert.equal(web.open(), 2, 'the two connections over the bound were closed');
  } finally {
    for (const ag of agents) ag.destroy();
    await cleanup();
    await web.close();
  }
});

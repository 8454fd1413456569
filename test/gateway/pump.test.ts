// Bulk tunnels move from Node to nemoclaw-pump (splice) mid-stream: no byte may be lost,
// duplicated or reordered at the hand-over, half-close still works, the audit counts every byte,
// and a reload that no longer allows the tunnel still closes it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pumpBinary } from '../../src/paths.js';
import { requireCapability } from '../helpers/capability.js';
import { connectVia, echoServer, fakeResolver, policyBytes, startGateway, waitClosed } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a tunnel handed to the pump mid-stream delivers every byte both ways, then half-closes', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const echo = await echoServer();
  const { gw, dir, cleanup } = await startGateway({ resolver: fakeResolver({ 'bulk.test': ['127.0.0.1'] }), pumpAfterBytes: 256 * 1024 });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]));
    const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
    // 24 MiB of random bytes in odd-sized writes, so the hand-over lands inside a chunk.
    const payload = randomBytes(24 * 2 ** 20 + 12345);
    const got: Buffer[] = [];
    r.socket.on('data', (c) => got.push(c));
    const ended = new Promise<void>((res) => r.socket.on('end', () => res()));
    for (let off = 0; off < payload.length;) {
      const n = Math.min(payload.length - off, 65_521 + (off % 7919));
      if (!r.socket.write(payload.subarray(off, off + n))) await new Promise((res) => r.socket.once('drain', res));
      off += n;
    }
    r.socket.end(); // FIN: the echo server replies with everything, then ends
    await ended;
    const back = Buffer.concat(got);
    assert.equal(back.length, payload.length);
    assert.equal(sha(back), sha(payload), 'byte-exact through Node and then the pump');
    await waitClosed(r.socket);

    // The close record counts Node's bytes and the pump's.
    let rec: { bytes_out?: number; bytes_in?: number; relay?: string } | undefined;
    for (let i = 0; i < 100 && !rec; i++) {
      gw.flushAudit();
      const lines = existsSync(join(dir, 'gateway', 'audit.jsonl')) ? readFileSync(join(dir, 'gateway', 'audit.jsonl'), 'utf8').trim().split('\n') : [];
      rec = lines.map((l) => JSON.parse(l)).find((x) => x.activity === 'close' && x.dst?.hostname === 'bulk.test');
      if (!rec) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(rec, 'a close record');
    assert.equal(rec!.relay, 'pump', 'the tunnel was handed to the pump');
    assert.equal(rec!.bytes_out, payload.length);
    assert.equal(rec!.bytes_in, payload.length);
  } finally {
    await cleanup();
    echo.server.close();
  }
});

test('a reload that no longer allows a pumped tunnel closes it', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const echo = await echoServer();
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({ 'bulk.test': ['127.0.0.1'] }), pumpAfterBytes: 64 * 1024 });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]));
    const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
    let received = 0;
    r.socket.on('data', (c) => { received += c.length; });
    r.socket.write(randomBytes(1024 * 1024));
    for (let i = 0; i < 200 && received < 1024 * 1024; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(received, 1024 * 1024, 'echoed through the pump');
    await gw.applyPolicy(policyBytes('agent', [{ name: 'other', endpoints: [{ host: 'other.test', port: 443 }] }]));
    await waitClosed(r.socket);
  } finally {
    await cleanup();
    echo.server.close();
  }
});

// Bulk tunnels move from Node to nemoclaw-pump mid-stream: no byte may be lost,
// duplicated or reordered at the hand-over, half-close still works, the audit counts every byte,
// and a reload that no longer allows the tunnel, the idle timeout or a reset still close it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatewayStatus } from '../../src/daemon/client.js';
import { pumpBinary } from '../../src/util/package-paths.js';
import { nemoclawBin } from '../helpers/cli.js';
import { requireCapability } from '../helpers/capability.js';
import { connectVia, echoServer, fakeResolver, policyBytes, startGateway, waitClosed } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a tunnel handed to the pump mid-stream delivers every byte both ways, then half-closes', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const echo = await echoServer();
  const { gw, dir, cleanup } = await startGateway({ resolver: fakeResolver({ 'bulk.test': ['127.0.0.1'] }), pumpAfterBytes: 256 * 1024 });
  try {
    const { socketPath } = await gw.applyPolicy(
      policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]),
    );
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
      const lines = existsSync(join(dir, 'gateway', 'audit.jsonl'))
        ? readFileSync(join(dir, 'gateway', 'audit.jsonl'), 'utf8')
            .trim()
            .split('\n')
        : [];
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
    const { socketPath } = await gw.applyPolicy(
      policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]),
    );
    const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
    let received = 0;
    r.socket.on('data', (c) => {
      received += c.length;
    });
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

function closedWithin(s: Socket, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    waitClosed(s),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Child pids of PID whose command is NAME. */
function childrenNamed(pid: number, name: string): string[] {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids.filter((k) => {
    try {
      return readFileSync(`/proc/${k}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

/** Running nemoclaw-pump processes started by this (test) process, where the gateway runs. */
const pumpChildren = () => childrenNamed(process.pid, 'nemoclaw-pump').length;

/** Open a tunnel through a gateway that hands over after 64 KiB and push it over that line. */
async function pumpedTunnel(opts: { tunnelIdleMs?: number }) {
  const echo = await echoServer();
  const { gw, cleanup } = await startGateway({
    resolver: fakeResolver({ 'bulk.test': ['127.0.0.1'] }),
    pumpAfterBytes: 64 * 1024,
    ...opts,
  });
  const { socketPath } = await gw.applyPolicy(
    policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]),
  );
  const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
  let received = 0;
  r.socket.on('data', (c) => {
    received += c.length;
  });
  r.socket.on('error', () => {});
  r.socket.write(randomBytes(512 * 1024));
  for (let i = 0; i < 200 && received < 512 * 1024; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(received, 512 * 1024, 'echoed through the pump');
  return {
    echo,
    socket: r.socket,
    received: () => received,
    cleanup: async () => {
      await cleanup();
      echo.server.close();
    },
  };
}

test('a pumped tunnel that stays idle past the idle timeout is closed', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const p = await pumpedTunnel({ tunnelIdleMs: 400 });
  try {
    // Still alive while traffic flows more often than the timeout.
    for (let i = 0; i < 4; i++) {
      await new Promise((res) => setTimeout(res, 200));
      p.socket.write('ping');
    }
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(p.socket.destroyed, false, 'traffic keeps the tunnel open');
    assert.equal(p.received(), 512 * 1024 + 16);
    await closedWithin(p.socket, 5_000, 'closed after going idle');
  } finally {
    await p.cleanup();
  }
});

test('a destination that resets a pumped tunnel ends the sandbox side too', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const p = await pumpedTunnel({});
  try {
    for (const s of p.echo.sockets) s.resetAndDestroy();
    await closedWithin(p.socket, 5_000, 'the reset reached the sandbox side');
  } finally {
    await p.cleanup();
  }
});

test('at most maxPumps tunnels are in the pump at once; the rest stay in Node and still deliver every byte', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const echo = await echoServer();
  const { gw, dir, cleanup } = await startGateway({
    resolver: fakeResolver({ 'bulk.test': ['127.0.0.1'] }),
    pumpAfterBytes: 64 * 1024,
    maxPumps: 1,
  });
  const relays = async (): Promise<string[]> => {
    gw.flushAudit();
    const file = join(dir, 'gateway', 'audit.jsonl');
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
    return lines.filter((x) => x.activity === 'close' && x.dst?.hostname === 'bulk.test').map((x) => x.relay);
  };
  try {
    const { socketPath } = await gw.applyPolicy(
      policyBytes('agent', [{ name: 'bulk', endpoints: [{ host: 'bulk.test', port: echo.port }] }]),
    );
    // Three tunnels past the hand-over threshold, all still open at the same time.
    const open = await Promise.all(
      [0, 1, 2].map(async () => {
        const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
        const payload = randomBytes(2 * 2 ** 20);
        const got: Buffer[] = [];
        let n = 0;
        r.socket.on('data', (c) => {
          got.push(c);
          n += c.length;
        });
        r.socket.write(payload.subarray(0, 512 * 1024));
        for (let i = 0; i < 200 && n < 512 * 1024; i++) await new Promise((res) => setTimeout(res, 10));
        return { r, payload, got };
      }),
    );
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(pumpChildren(), 1, 'one pump at a time');
    // A tunnel left in Node may move to the pump once the slot is free again; never two at once.
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, pumpChildren());
    }, 5);
    await Promise.all(
      open.map(async ({ r, payload, got }) => {
        const ended = new Promise<void>((res) => r.socket.on('end', () => res()));
        r.socket.end(payload.subarray(512 * 1024));
        await ended;
        assert.equal(sha(Buffer.concat(got)), sha(payload));
        await waitClosed(r.socket);
      }),
    );
    clearInterval(sampler);
    assert.equal(most, 1, 'never more than maxPumps at once');
    let seen: string[] = [];
    for (let i = 0; i < 100 && seen.length < 3; i++) {
      seen = await relays();
      if (seen.length < 3) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(seen.length, 3);
    assert.ok(seen.includes('pump'), `relays: ${seen.join(', ')}`);
    const bulk = async () => {
      const r = await connectVia(socketPath, `bulk.test:${echo.port}`);
      const payload = randomBytes(2 * 2 ** 20);
      const got: Buffer[] = [];
      r.socket.on('data', (c) => got.push(c));
      const ended = new Promise<void>((res) => r.socket.on('end', () => res()));
      r.socket.end(payload);
      await ended;
      assert.equal(sha(Buffer.concat(got)), sha(payload));
      await waitClosed(r.socket);
    };
    await bulk(); // the slot is free again once the pumped tunnel ended
    for (let i = 0; i < 100 && seen.length < 4; i++) {
      seen = await relays();
      if (seen.length < 4) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(seen[3], 'pump');
  } finally {
    await cleanup();
    echo.server.close();
  }
});

test('pumps die with the gateway: a killed daemon leaves no tunnel running without policy', async (t) => {
  if (!requireCapability(t, existsSync(pumpBinary), `nemoclaw-pump not built at ${pumpBinary}`)) return;
  const echo = await echoServer();
  const dir = tempDir(t, 'nemoclaw-gw-');
  const env = { ...process.env, NO_COLOR: '1', NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1' };
  const cli = (args: string[]) =>
    new Promise<number>((resolve) => {
      spawn(process.execPath, [nemoclawBin, ...args, '--state-dir', dir], { env, stdio: 'ignore' }).on('close', (c) => resolve(c ?? -1));
    });
  try {
    assert.equal(await cli(['gateway', '--detach']), 0);
    const egress = join(dir, 'egress.json');
    writeFileSync(egress, policyBytes('agent', [{ name: 'local', endpoints: [{ host: 'localhost', port: echo.port }] }]));
    assert.equal(await cli(['gateway', 'register', '--egress', egress]), 0);
    const status = await gatewayStatus(dir);
    const r = await connectVia(status.sandboxes[0]!.socket, `localhost:${echo.port}`);
    // Past the daemon's 4 MiB hand-over, then kept open.
    let n = 0;
    r.socket.on('data', (c) => {
      n += c.length;
    });
    r.socket.on('error', () => {});
    r.socket.write(randomBytes(6 * 2 ** 20));
    for (let i = 0; i < 500 && n < 6 * 2 ** 20; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(n, 6 * 2 ** 20);
    const pumps = childrenNamed(status.pid, 'nemoclaw-pump');
    assert.equal(pumps.length, 1, 'the tunnel is in the pump');
    process.kill(status.pid, 'SIGKILL');
    await closedWithin(r.socket, 5_000, 'the tunnel ended with the gateway');
    for (let i = 0; i < 100 && existsSync(`/proc/${pumps[0]}`); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(existsSync(`/proc/${pumps[0]}`), false, 'the pump is gone');
  } finally {
    await cli(['gateway', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    echo.server.close();
  }
});

// Issue 14, break 2 (gateway side): a full disk under the gateway's state must not disable it.
// A real tmpfs of 256 KiB is mounted as the state's gateway/ directory and filled; the daemon is
// the real detached process. It must stay responsive and idle (no crash-handler loop), refuse new
// flows it cannot audit (503 audit_unavailable), say so in status, and recover by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readAudit } from '../../src/audit/log.js';
import { requireCapability } from '../helpers/capability.js';
import { runCliAsync } from '../helpers/cli.js';
import { connectVia, delay, httpServer, policyBytes, rawRequest } from './helpers.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Fill the filesystem holding `file` until the kernel says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 0x61);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

test('a full disk: the gateway stays up and idle, refuses flows it cannot audit, reports it, and recovers', async (t) => {
  if (!requireCapability(t, process.getuid?.() === 0, 'mounting a tmpfs needs root')) return;
  const upstream = await httpServer();
  const dir = makeTempDir('nemoclaw-gw-');
  const gwDir = join(dir, 'gateway');
  const sd = ['--state-dir', dir];
  mkdirSync(gwDir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', gwDir]);
  const filler = join(gwDir, 'filler');
  const status = async () => JSON.parse((await runCliAsync(['gateway', 'status', '--json', ...sd])).stdout);
  const get = (socket: string, path: string) =>
    rawRequest(socket, `GET http://localhost:${upstream.port}${path} HTTP/1.1\r\nHost: localhost:${upstream.port}\r\n\r\n`);
  try {
    assert.equal((await runCliAsync(['gateway', '--detach', ...sd])).status, 0);
    const egress = join(dir, 'egress.json');
    writeFileSync(
      egress,
      policyBytes('agent', [{ name: 'local', endpoints: [{ host: 'localhost', port: upstream.port, protocol: 'http' }] }]),
    );
    const reg = await runCliAsync(['gateway', 'register', '--egress', egress, '--json', ...sd]);
    assert.equal(reg.status, 0, reg.stderr);
    const socket = JSON.parse(reg.stdout).socketPath as string;
    const before = await get(socket, '/before');
    assert.equal(before.status, 200);
    before.socket.destroy();

    fill(filler);
    // Records still fit in the audit file's last page; keep asking until the gateway sees ENOSPC.
    let s = await status();
    for (let i = 0; i < 200 && s.audit.writable; i++) {
      (await get(socket, `/filling/${i}`)).socket.destroy();
      s = await status();
    }
    assert.equal(s.audit.writable, false, 'the failed write is noticed');
    assert.match(s.audit.error, /^ENOSPC/);

    const pid = s.pid as number;
    const t0 = cpuTicks(pid);
    await delay(1000);
    const used = cpuTicks(pid) - t0;
    assert.ok(used < 30, `daemon used ${used} ticks of CPU in ~1 s with a full disk (a loop uses ~50-100)`);

    const refused = await get(socket, '/refused');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['x-nemoclaw-deny'], 'audit_unavailable');
    assert.equal(JSON.parse(refused.body).reason, 'audit_unavailable');
    assert.doesNotMatch(refused.body, new RegExp(dir), 'no host path reaches the sandbox');
    refused.socket.destroy();
    const tunnel = await connectVia(socket, `localhost:${upstream.port}`);
    assert.equal(tunnel.status, 503);
    assert.equal(JSON.parse(tunnel.body).reason, 'audit_unavailable');
    tunnel.socket.destroy();
    assert.ok(!upstream.seen.some((r) => r.url === '/refused'), 'the refused request never left');

    assert.match((await runCliAsync(['gateway', 'status', ...sd])).stdout, /audit: CANNOT BE WRITTEN since .*ENOSPC.*audit_unavailable/);
    assert.match((await runCliAsync(['status', ...sd])).stdout, /audit: CANNOT BE WRITTEN since .*ENOSPC/);

    rmSync(filler);
    for (let i = 0; i < 100 && !s.audit.writable; i++) {
      await delay(100);
      s = await status();
    }
    assert.equal(s.audit.writable, true, 'writable again once space returns');
    const after = await get(socket, '/after');
    assert.equal(after.status, 200);
    after.socket.destroy();
    let records = readAudit(gwDir);
    for (let i = 0; i < 100 && !records.some((r) => r.activity === 'request' && r.http.path === '/after'); i++) {
      await delay(50);
      records = readAudit(gwDir);
    }
    assert.ok(
      records.some((r) => r.activity === 'request' && r.http.path === '/after'),
      'requests are audited again',
    );
    assert.ok(records.some((r) => r.activity === 'recover' && /ENOSPC/.test(r.detail)));
    assert.ok(
      records.some((r) => r.activity === 'deny' && r.reason === 'audit_unavailable'),
      'the refusals were kept and written later',
    );

    const stop = await runCliAsync(['gateway', 'stop', ...sd]);
    assert.match(stop.stdout, /gateway stopped/);
  } finally {
    await runCliAsync(['gateway', 'stop', ...sd]);
    execFileSync('umount', ['-l', gwDir]);
    upstream.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

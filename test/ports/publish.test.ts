// Published ports end to end: `ports:` in nemoclaw.yaml, applied under the daemon; a host client
// reaches a server listening inside the sandbox through the host address, and each connection is
// audited (sandbox, host address, peer, bytes, duration). Embedded runtime and docker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { env } from '../reconciler/harness.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';

/** A free host port on loopback (bound and released: the daemon binds it next). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sends `ping`, reads until EOF; retries while the sandbox's server is still coming up. */
async function ask(port: number, deadlineMs = 20_000): Promise<string> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const got = await new Promise<string>((resolve) => {
      const c = connect(port, '127.0.0.1');
      let buf = '';
      c.on('data', (d) => (buf += d));
      c.on('end', () => resolve(buf));
      c.on('error', () => resolve(''));
      c.on('connect', () => c.end('ping\n'));
    });
    if (got || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function inboundRecords(state: string): Record<string, unknown>[] {
  const dir = join(state, 'gateway');
  const out: Record<string, unknown>[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith('audit.jsonl'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as Record<string, unknown>;
      if (r.activity === 'inbound') out.push(r);
    }
  }
  return out;
}

const nodeDir = dirname(realpathSync(process.execPath));
// Inside the sandbox: answer "pong:<what came in>" on 127.0.0.1:18789.
const SERVER = `require('node:net').createServer((c)=>c.once('data',(d)=>c.end('pong:'+String(d).trim()+'\\n'))).listen(18789,'127.0.0.1')`;

test('ports (embedded): a host client reaches the sandbox server through the published port; audited', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const port = await freePort();
  await e.write(`version: 1
sandboxes:
  web:
    runtime: process
    command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(SERVER)}]
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64, ${JSON.stringify(nodeDir)}]
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 256 }
    network:
      listen: [18789]
    ports:
      - { host: "127.0.0.1:${port}", sandbox: 18789 }
`);
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(await ask(port), 'pong:ping\n');
  const st = await e.run('status');
  assert.match(st.stdout, new RegExp(`port +127\\.0\\.0\\.1:${port} → sandbox port 18789`), 'status shows the published port');
  await new Promise((r) => setTimeout(r, 300)); // the record is written when both sides closed
  const recs = inboundRecords(e.state);
  assert.ok(recs.length >= 1, 'an inbound record');
  const r = recs.at(-1)!;
  assert.equal(r.sandbox, 'web');
  assert.equal(r.host, `127.0.0.1:${port}`);
  assert.equal(r.sandbox_port, 18789);
  assert.match(String(r.peer), /^127\.0\.0\.1:\d+$/);
  assert.equal(r.bytes_in, 5);
  assert.equal(r.bytes_out, 10); // "pong:ping\n"
  assert.equal(typeof r.duration_ms, 'number');
});

test('ports (docker): the same relay through the container’s init', async (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const imageId = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const e = env(t);
  t.after(() => {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', 'label=dev.nemoclaw.sandbox=dweb'], { encoding: 'utf8' }).split('\n');
    for (const c of ids.filter(Boolean)) execFileSync('docker', ['rm', '-f', c]);
  });
  const port = await freePort();
  await e.write(`version: 1
sandboxes:
  dweb:
    runtime: docker
    image: nemoclaw-test/busybox@${imageId}
    command: [/bin/sh, -c, 'while true; do echo pong | nc -l -p 18789 127.0.0.1; done']
    filesystem:
      read_only: [/bin]
      read_write: [/tmp]
    network:
      listen: [18789]
    ports:
      - { host: "127.0.0.1:${port}", sandbox: 18789 }
`);
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  assert.match(await ask(port), /^pong\n/);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(inboundRecords(e.state).some((r) => r.sandbox === 'dweb' && r.host === `127.0.0.1:${port}`));
});

// Break 4 of issue 14 for docker: as root, every docker sandbox runs in a user namespace of its
// own over its own host id range, built by the container's init (Docker has one userns-remap per
// daemon). Two containers side by side, against a real engine: different host uids (the host's
// /proc), one exhausting inotify instances leaves the other its own, the agent sees uid 1000 with
// no capabilities and two stacked filters, and `connect` lands in the agent's namespace likewise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { dockerDriver } from '../../src/reconciler/drivers/docker.js';
import { connectContainer } from '../../src/reconciler/drivers/docker-connect.js';
import type { EnforcementReport } from '../../src/init-protocol/report.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { FIRST_HOST_ID, RANGE_SIZE } from '../../src/state/uid-ranges.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir, tempFiles } from '../helpers/tmp.js';

/** Host pids of every process under PID (children of children...). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) out.push(k, ...descendants(k));
  }
  return out;
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (text: string, name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(text)?.[1]?.trim();
const hostUid = (pid: number) => Number(field(status(pid), 'Uid')?.split(/\s+/)[0]);

async function waitForLog(id: string, needle: RegExp): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const logs = execFileSync('docker', ['logs', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (needle.test(logs)) return logs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${needle} never appeared in the container's output`);
}

test('docker as root: two sandboxes in their own host uid ranges, own inotify limit, agent and connect uid 1000 without capabilities', async (t) => {
  if (!requireCapability(t, process.getuid?.() === 0, 'per-sandbox host id ranges are used when nemoclaw runs as root')) return;
  const cc = spawnSync('cc', ['--version']);
  if (!requireCapability(t, cc.status === 0, 'a C compiler (cc) is needed to build the test program')) return;
  const build = tempDir(t);
  const prog = join(build, 'inotify');
  const r = spawnSync('cc', ['-O1', '-static', '-o', prog, join(repoRoot, 'test/runtime/uid-range.inotify.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const probe = ensureBusyboxImage({ 'bin/inotify': prog });
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const image = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();

  const max = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'));
  const report = 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp_filters):" /proc/self/status; echo ready; sleep 600';
  const scripts = { hog: '/bin/inotify hog', other: `/bin/inotify one; ${report}` };
  const yaml =
    'version: 1\nsandboxes:\n' +
    Object.entries(scripts)
      .map(
        ([name, script]) => `  ${name}:
    runtime: docker
    image: nemoclaw-test/busybox@${image}
    command: [/bin/sh, -c, ${JSON.stringify(script)}]
    workdir: /tmp
    filesystem:
      read_only: [/bin]
      read_write: [/tmp]
    process:
      limits: { pids: 32, nofile: ${max + 64}, disk: 32MiB }
`,
      )
      .join('');
  const dir = tempFiles(t, { 'nemoclaw.yaml': yaml });
  const sbs = (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes;
  const [hogSb, otherSb] = [sbs.find((s) => s.name === 'hog')!, sbs.find((s) => s.name === 'other')!];
  const ctx = { stateDir: tempDir(t) };
  // Data an earlier version left in the shared-uid days (host uid 1000) is handed over to the range.
  const old = sandboxPaths(ctx.stateDir, 'other').rwDir('/tmp');
  mkdirSync(old, { recursive: true });
  writeFileSync(join(old, 'earlier'), 'x');
  execFileSync('chown', ['-R', '1000:1000', old]);

  const made: { name: string; id: string | null }[] = [];
  // Registered after tempDir's hooks, so it runs before them: containers first, then the disk mounts.
  t.after(async () => {
    for (const m of made) await dockerDriver.destroy(ctx, m.name, m.id);
  });
  const hog = await dockerDriver.create(ctx, hogSb);
  made.push({ name: 'hog', id: hog.id });
  const hogLine = /hog (\d+) (\d+)/.exec(await waitForLog(hog.id!, /hog \d+ \d+/))!;
  assert.equal(Number(hogLine[2]), 24, 'EMFILE');
  assert.equal(Number(hogLine[1]), max, 'the hog got every instance its host uid may have (the fd limit is higher)');

  const other = await dockerDriver.create(ctx, otherSb);
  made.push({ name: 'other', id: other.id });
  const logs = await waitForLog(other.id!, /ready/);
  assert.match(logs, /^one 0 uid 1000 file 0$/m, 'the other sandbox still gets an inotify instance; its agent is uid 1000 inside');
  assert.match(logs, /^CapEff:\s+0{16}$/m, 'the agent has no capabilities');
  assert.match(logs, /^CapBnd:\s+0{16}$/m);
  assert.match(logs, /^NoNewPrivs:\s+1$/m);
  assert.match(logs, /^Seccomp_filters:\s+2$/m, "Docker's filter and the agent's own");

  // The host's view: pid 1 of each container and its agent run as BASE+1000 of their own range.
  const agentOf = (pid: number, comm: string) => descendants(pid).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm);
  const hogAgent = agentOf(hog.pid!, 'inotify');
  assert.ok(hogAgent, 'the hog agent is running');
  const uidA = hostUid(hogAgent);
  const uidB = hostUid(other.pid!);
  assert.ok(uidA >= FIRST_HOST_ID + 1000 && uidB >= FIRST_HOST_ID + 1000, `${uidA} ${uidB}`);
  assert.equal((uidA - FIRST_HOST_ID) % RANGE_SIZE, 1000);
  assert.equal(Math.abs(uidA - uidB), RANGE_SIZE, 'different ranges');
  assert.equal(hostUid(hog.pid!), uidA, "pid 1 dropped to the agent's host uid");
  assert.equal(field(status(hog.pid!), 'CapEff'), '0000000000000000', 'pid 1 kept no capability');
  assert.equal(field(status(hogAgent), 'CapEff'), '0000000000000000');
  // Status/observe: the agent's uid, and the host's.
  const seen = await dockerDriver.observe(ctx);
  assert.ok(seen.known);
  for (const [name, uid] of [
    ['hog', uidA],
    ['other', uidB],
  ] as const) {
    const seenReport: EnforcementReport | null | undefined = seen.sandboxes.get(name)?.report;
    assert.equal(seenReport?.uid, 1000);
    assert.equal(seenReport?.host_uid, uid);
    assert.equal(seenReport?.host_gid, uid, 'gid 1000 of the same range');
  }
  // rw data is the range's (on the sandbox's own disk, mounted on the host while the container runs).
  for (const f of ['owned', 'earlier'])
    assert.equal(
      Number(execFileSync('stat', ['-c', '%u', join(sandboxPaths(ctx.stateDir, 'other').diskRwDir('/tmp'), f)], { encoding: 'utf8' })),
      uidB,
      f,
    );

  // connect: the agent's user namespace, uid 1000, no capabilities, the agent's filter stacked.
  const otherAgent = agentOf(other.pid!, 'sleep') ?? agentOf(other.pid!, 'sh');
  assert.ok(otherAgent);
  const c = await connectContainer(
    ctx.stateDir,
    otherSb,
    other.id!,
    [
      '/bin/sh',
      '-c',
      'id -u; id -g; readlink /proc/self/ns/user; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp_filters):" /proc/self/status; unshare -U true 2>/dev/null && echo UNSHARE || echo denied-unshare',
    ],
    'pipe',
  );
  let out = '';
  let err = '';
  c.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  c.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  assert.equal(await c.exited, 0, err);
  const lines = out.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['1000', '1000', readlinkSync(`/proc/${otherAgent}/ns/user`)], out);
  assert.match(out, /^CapEff:\s+0{16}$/m);
  assert.match(out, /^CapPrm:\s+0{16}$/m);
  assert.match(out, /^CapBnd:\s+0{16}$/m);
  assert.match(out, /^NoNewPrivs:\s+1$/m);
  assert.match(out, /^Seccomp_filters:\s+2$/m);
  assert.match(out, /denied-unshare/, "the agent's filter holds for connect too");
});

// limits.disk for the docker runtime (issue 14): the container's read_write paths live on the
// sandbox's own ext4 image, loop-mounted on the host while the container exists.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { dockerDriver } from '../../src/reconciler/drivers/docker.js';
import { isMounted, TEST_NO_LOOP_ENV } from '../../src/reconciler/drivers/docker-disk.js';
import { runCli } from '../helpers/cli.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { notEnforced } from '../../src/init-protocol/report.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir, tempFiles } from '../helpers/tmp.js';

function busyboxImageId(t: TestContext): string | undefined {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return undefined;
  if (!requireCapability(t, process.getuid?.() === 0 && existsSync('/dev/loop-control'), 'needs root and loop devices')) return undefined;
  return execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
}

async function waitForLog(id: string, needle: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const logs = execFileSync('docker', ['logs', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (logs.includes(needle)) return logs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`"${needle}" never appeared in the container's output`);
}

const config = (id: string, sandboxes: Record<string, string>, limits = 'disk: 32MiB') =>
  `version: 1\nsandboxes:\n` +
  Object.entries(sandboxes)
    .map(
      ([name, script]) => `  ${name}:
    runtime: docker
    image: nemoclaw-test/busybox@${id}
    command: [/bin/sh, -c, ${JSON.stringify(script)}]
    filesystem:
      read_only: [/bin]
    process:
      limits: { ${limits} }
`,
    )
    .join('');

async function compile(t: TestContext, yaml: string) {
  const dir = tempFiles(t, { 'nemoclaw.yaml': yaml });
  return (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes;
}

test('docker + limits.disk: ENOSPC past the limit inside the container, data kept across a replace, destroy unmounts', async (t) => {
  const id = busyboxImageId(t);
  if (!id) return;
  const fill =
    'cat /sandbox/kept 2>/dev/null && echo FOUND-KEPT; echo data > /sandbox/kept; ' +
    'dd if=/dev/zero of=/sandbox/big bs=1M count=48 2>&1 | tail -n 3; rm -f /sandbox/big; echo done; sleep 600';
  const [sb] = await compile(t, config(id, { filler: fill }));
  const ctx = { stateDir: tempDir(t) };
  const paths = sandboxPaths(ctx.stateDir, 'filler');

  let obs = await dockerDriver.create(ctx, sb!);
  try {
    await fillAndReplace();
  } finally {
    await dockerDriver.destroy(ctx, 'filler', obs.id);
  }
  async function fillAndReplace(): Promise<void> {
    assert.ok(isMounted(paths.diskMount), 'the image is mounted on the host while the container exists');
    assert.equal(obs.report?.disk, 'own_filesystem');
    assert.deepEqual(notEnforced(obs.report!), []);
    const logs = await waitForLog(obs.id!, 'done');
    assert.match(logs, /No space left on device/, 'writing past the limit fails inside the container');
    assert.doesNotMatch(logs, /FOUND-KEPT/);
    // The state file system did not take the 48 MiB: the image stays within its size.
    assert.equal(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4] === paths.diskMount).length,
      1,
    );

    // Replace: destroy, then create again: the same image, mounted once, with the data.
    await dockerDriver.destroy(ctx, 'filler', obs.id);
    assert.equal(isMounted(paths.diskMount), false, 'destroy unmounts');
    obs = await dockerDriver.create(ctx, sb!);
    const logs2 = await waitForLog(obs.id!, 'done');
    assert.match(logs2, /data\nFOUND-KEPT/, 'data persists across a replace');
    await dockerDriver.destroy(ctx, 'filler', obs.id);
    assert.equal(isMounted(paths.diskMount), false);
    assert.equal(execFileSync('losetup', ['-n', '-j', paths.diskImage], { encoding: 'utf8' }).trim(), '', 'no loop device left');
  }
});

test('docker + best_effort without loop devices: starts, status says NOT ENFORCED, the audit log records it; hard_requirement refuses', async (t) => {
  const id = busyboxImageId(t);
  if (!id) return;
  const dir = tempDir(t);
  const file = join(dir, 'nemoclaw.yaml');
  const env = { [TEST_NO_LOOP_ENV]: '1' };
  const state = join(dir, 'state');
  const yaml = (enforcement: string) => config(id, { loose: 'echo up; sleep 600' }, `disk: 32MiB, disk_enforcement: ${enforcement}`);
  writeFileSync(file, yaml('best_effort'));
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  try {
    const applied = runCli(['apply', '-f', file, '--auto-approve', '--state-dir', state], { env });
    assert.equal(applied.status, 0, applied.stderr);
    assert.equal(isMounted(sandboxPaths(state, 'loose').diskMount), false, 'nothing mounted without the means');
    const status = runCli(['status', '--state-dir', state]);
    assert.match(status.stdout, /NOT ENFORCED \(best_effort\): disk limit/);
    const json = JSON.parse(runCli(['status', '--json', '--state-dir', state]).stdout) as {
      sandboxes: { name: string; not_enforced: string[] }[];
    };
    assert.equal(json.sandboxes.find((s) => s.name === 'loose')?.not_enforced.length, 1);
    const records = runCli(['audit', '--json', '--state-dir', state, '--sandbox', 'loose'])
      .stdout.split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { activity: string; not_enforced?: string[] });
    const rec = records.find((r) => r.activity === 'degraded');
    assert.ok(rec, 'a degraded record at start');
    assert.match(rec.not_enforced![0]!, /^disk limit .*loop devices/);

    // The same host, hard_requirement: refused, nothing started.
    writeFileSync(file, yaml('hard_requirement'));
    assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
    const refused = runCli(['apply', '-f', file, '--auto-approve', '--state-dir', state], { env });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr + refused.stdout, /disk limit .*needs loop devices/);
  } finally {
    runCli(['destroy', '--all', '--auto-approve', '--state-dir', state]);
  }
});

test('docker + limits.disk: a container Docker restarts without its disk mounted (after a reboot) fails to start, never writes to the state fs', async (t) => {
  const id = busyboxImageId(t);
  if (!id) return;
  const [sb] = await compile(t, config(id, { boot: 'echo up; sleep 600' }));
  const ctx = { stateDir: tempDir(t) };
  const paths = sandboxPaths(ctx.stateDir, 'boot');
  const obs = await dockerDriver.create(ctx, sb!);
  try {
    execFileSync('docker', ['stop', '-t', '1', obs.id!], { stdio: 'ignore' });
    execFileSync('umount', [paths.diskMount]); // what a reboot does
    const r = spawnSync('docker', ['start', obs.id!], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'Docker must not start it');
    assert.equal(existsSync(paths.diskRwDir('/sandbox')), false, 'no directory made on the state file system');
  } finally {
    await dockerDriver.destroy(ctx, 'boot', obs.id);
  }
});

// The reconciler with the docker driver on a real engine (local busybox image, no registry):
// create, no-op, replace, a crash right after the container started, destroy — and never a
// leftover container.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { cli, env, inventoryNames, status } from './harness.js';

const containers = (state: string): string[] => {
  const ids = execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', 'label=dev.nemoclaw.sandbox=boxed'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  // Only this test's state directory: the driver labels containers with a hash of it.
  return ids.filter((id) =>
    execFileSync('docker', ['inspect', '--format', '{{range .Mounts}}{{.Source}} {{end}}', id], { encoding: 'utf8' }).includes(state),
  );
};

test('docker sandboxes: create, no-op, replace, crash after start, destroy; no leftover containers', async (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const e = env(t);
  t.after(() => {
    for (const c of containers(e.state)) execFileSync('docker', ['rm', '-f', c]);
  });
  const cfg = (cmd: string) =>
    `version: 1\nsandboxes:\n  boxed:\n    runtime: docker\n    image: nemoclaw-test/busybox@${id}\n    command: [/bin/sh, -c, ${JSON.stringify(cmd)}]\n    filesystem:\n      read_only: [/bin]\n`;
  await e.write(cfg('while true; do echo one; sleep 1; done'));
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  let s = await status(e);
  assert.equal(s.sandboxes[0]!.state, 'running');
  assert.deepEqual(s.sandboxes[0]!.drift, []);
  assert.equal(containers(e.state).length, 1);
  assert.equal((await e.run('plan', '-f', e.file, '--detailed-exitcode')).status, 0);
  const first = containers(e.state)[0];

  await e.write(cfg('while true; do echo two; sleep 1; done'));
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 2);
  assert.match(p.stdout, /replace:[\s\S]*command changed/);
  assert.equal((await e.run('apply', '-f', e.file, '--auto-approve')).status, 0);
  assert.deepEqual(containers(e.state).length, 1);
  assert.notEqual(containers(e.state)[0], first);
  assert.match((await e.run('logs', 'boxed', '-n', '1')).stdout, /two/);

  // Crash right after "start boxed" (step 5 of a replace: gateway, record, stop, policy, start).
  await e.write(cfg('while true; do echo three; sleep 1; done'));
  const c = await cli(['apply', '-f', e.file, '--auto-approve', '--state-dir', e.state], { NEMOCLAW_CRASH_AFTER_STEP: '5' });
  assert.equal(c.signal, 'SIGKILL');
  const r = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(containers(e.state).length, 1, 'the container started before the crash was replaced, not duplicated');
  s = await status(e);
  assert.deepEqual(s.sandboxes[0]!.drift, []);

  const d = await e.run('destroy', 'boxed', '--auto-approve');
  assert.equal(d.status, 0, d.stderr);
  assert.deepEqual(containers(e.state), []);
  assert.deepEqual(inventoryNames(e.state), []);
});

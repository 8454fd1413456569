// nemoclaw run, embedded runtime: an out-of-memory kill is named (from the memory cgroup's
// oom_kill counter, not guessed from 137), and the gateway policy the run registered is gone
// once it exits (status no longer shows a stale sandbox).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatewayStatus } from '../../src/daemon/client.js';
import { probeHost } from '../../src/runtime/process/host.js';
import { requireCapability } from '../helpers/capability.js';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { BASE_YAML, requireProcessRuntime } from './process-fixture.js';

function writeConfig(dir: string, yaml: string): string {
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(file, yaml);
  const c = runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]);
  assert.equal(c.status, 0, c.stderr);
  return file;
}

test('run: a memory hog under a 64 MiB limit is reported as killed at the memory limit, a plain exit is not', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const h = await probeHost();
  if (!requireCapability(t, h.cgroups.memory && h.cgroups.writable, 'no writable memory cgroup')) return;
  const dir = tempDir(t);
  const file = writeConfig(
    dir,
    BASE_YAML('hog').replace('limits: { pids: 64, nofile: 256 }', 'limits: { pids: 64, nofile: 256, memory: 64MiB }'),
  );
  const state = join(dir, 'state');
  // tail keeps a line that never ends in memory: /dev/zero has no newline.
  const hog = runCli(['run', 'hog', '-f', file, '--state-dir', state, '--', '/bin/sh', '-c', 'exec tail /dev/zero']);
  assert.equal(hog.status, 137, hog.stderr);
  assert.match(hog.stderr, /^hog: killed: memory limit 64 MiB reached$/m);
  const plain = runCli(['run', 'hog', '-f', file, '--state-dir', state, '--', '/bin/sh', '-c', 'exit 3']);
  assert.equal(plain.status, 3);
  assert.match(plain.stderr, /^hog: exited with code 3$/m);
  assert.doesNotMatch(plain.stderr, /memory limit/);
  // SIGKILL without memory pressure is a 137 too, and is not called an OOM kill.
  const killed = runCli(['run', 'hog', '-f', file, '--state-dir', state, '--', '/bin/sh', '-c', 'kill -9 $$']);
  assert.equal(killed.status, 137);
  assert.match(killed.stderr, /^hog: exited with code 137$/m);
});

test('run: the gateway policy is registered for the run and unregistered when it exits', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  // The test tells the agent to exit through a host directory bound read-only (binds are live);
  // its rw /tmp may be on the sandbox's own disk, which the host never mounts.
  const signal = join(dir, 'signal');
  mkdirSync(signal, { mode: 0o755 });
  const yaml = BASE_YAML(
    'briefly',
    `    network:\n      egress:\n        - name: web\n          endpoints: [{ host: example.com, port: 443 }]\n`,
  ).replace('read_only: [/usr, /bin, /lib, /lib64]', `read_only: [/usr, /bin, /lib, /lib64, ${signal}]`);
  const file = writeConfig(dir, yaml);
  const gw = runCli(['gateway', '--detach', '--state-dir', state]);
  assert.equal(gw.status, 0, gw.stderr);
  // The agent waits for the test's go-ahead: a file in its writable /tmp.
  const go = join(signal, 'go');
  const run = runCliAsync([
    'run',
    'briefly',
    '-f',
    file,
    '--state-dir',
    state,
    '--',
    '/bin/sh',
    '-c',
    `while [ ! -e ${go} ]; do sleep 0.05; done`,
  ]);
  let registered = false;
  for (let i = 0; i < 400 && !registered; i++) {
    registered = (await gatewayStatus(state)).sandboxes.some((s) => s.name === 'briefly');
    if (!registered) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(registered, 'the run registered its policy');
  writeFileSync(go, '');
  const r = await run;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /egress through the gateway, policy/);
  assert.deepEqual(
    (await gatewayStatus(state)).sandboxes.map((s) => s.name),
    [],
  );
  const st = runCli(['status', '--state-dir', state]);
  assert.doesNotMatch(st.stdout + st.stderr, /briefly/);
});

test('status and logs of an applied sandbox name the OOM kill that ended its last run', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const h = await probeHost();
  if (!requireCapability(t, h.cgroups.memory && h.cgroups.writable, 'no writable memory cgroup')) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const yaml = BASE_YAML('hoggy')
    .replace("command: [/bin/sh, -c, 'exit 0']", "command: [/bin/sh, -c, 'echo starting; exec tail /dev/zero']")
    .replace('limits: { pids: 64, nofile: 256 }', 'limits: { pids: 64, nofile: 256, memory: 64MiB }');
  const file = writeConfig(dir, yaml);
  // The health check fails (the agent never stays up); what matters is what status and logs say.
  runCli(['apply', '-f', file, '--auto-approve', '--state-dir', state]);
  let shown = '';
  for (let i = 0; i < 200 && !/last +killed/.test(shown); i++) {
    shown = runCli(['status', '--state-dir', state]).stdout;
    if (!/last +killed/.test(shown)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(shown, /^ {2}last +killed: memory limit 64 MiB reached$/m);
  const json = JSON.parse(runCli(['status', '--state-dir', state, '--json']).stdout);
  assert.equal(json.sandboxes.find((s: { name: string }) => s.name === 'hoggy').last_exit, 'killed: memory limit 64 MiB reached');
  const logs = runCli(['logs', 'hoggy', '--state-dir', state]);
  assert.match(logs.stdout, /^starting\nnemoclaw: hoggy: killed: memory limit 64 MiB reached$/m);
  runCli(['destroy', '--all', '--auto-approve', '--state-dir', state]);
});

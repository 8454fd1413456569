// Drift on a real host: a killed sandbox (the supervisor restarts it), a hand-edited state file,
// a foreign policy in the gateway, a killed gateway daemon. status and plan --refresh-only
// report each one; apply heals it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningPid } from '../../src/daemon/daemon.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, fetchLoop, httpServer, orphans, sandboxSockets, status, until, yaml } from './harness.js';

test('drift: reported by status and plan --refresh-only, healed by apply', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const srv = await httpServer(t);
  await e.write(yaml([{ name: 'web', command: fetchLoop([srv.port]), egress: [{ host: 'localhost', port: srv.port }] }]));
  {
    const r = await e.run('apply', '-f', e.file, '--auto-approve');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  let s = await status(e);
  const web = () => s.sandboxes.find((x) => x.name === 'web')!;
  const firstPid = web().pid!;

  // 1. The sandbox dies: the supervisor restarts it with backoff and counts it.
  process.kill(firstPid, 'SIGKILL');
  await until(async () => {
    s = await status(e);
    return web().state === 'running' && web().pid !== firstPid;
  }, 'the supervisor to restart web');
  assert.equal(web().restarts, 1);
  assert.deepEqual(web().drift, []);

  // 2. A stored blueprint file edited by hand.
  const digest = web().applied_digest!.replace('sha256:', '');
  const egressPath = join(e.state, 'blueprints', digest, 'egress.json');
  const original = readFileSync(egressPath, 'utf8');
  writeFileSync(egressPath, original.replace('"on_deny":"deny"', '"on_deny":"ask"'));
  s = await status(e);
  assert.deepEqual(
    web().drift.map((d) => d.kind),
    ['file_edited'],
  );
  assert.match(web().drift[0]!.detail, /egress\.json in the state directory was modified/);
  const refresh = await e.run('plan', '-f', e.file, '--refresh-only', '--detailed-exitcode');
  assert.equal(refresh.status, 2, refresh.stderr);
  assert.match(refresh.stdout, /Refresh only/);
  assert.match(refresh.stdout, /egress\.json in the state directory was modified/);
  assert.match(refresh.stdout, /0 to create, 0 to replace, 0 to reload, 0 to delete/);
  const heal1 = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(heal1.status, 0, heal1.stderr);
  assert.equal(readFileSync(egressPath, 'utf8'), original);
  s = await status(e);
  assert.deepEqual(web().drift, []);

  // 3. Someone registers another policy for it with the gateway directly.
  const foreign = join(e.dir, 'foreign.json');
  writeFileSync(foreign, original.replace('"on_deny":"deny"', '"on_deny":"ask"'));
  {
    const r = await e.run('gateway', 'register', '--egress', foreign);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  s = await status(e);
  assert.deepEqual(
    web().drift.map((d) => d.kind),
    ['policy_mismatch'],
  );
  const pidBefore = web().pid;
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 2);
  assert.match(p.stdout, /reload:\n {2}~ web[\s\S]*drift: the gateway enforces policy/);
  {
    const r = await e.run('apply', '-f', e.file, '--auto-approve');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  s = await status(e);
  assert.deepEqual(web().drift, []);
  assert.equal(web().pid, pidBefore, 'healing a policy does not restart the sandbox');

  // 4. The gateway daemon is killed: its sandboxes die with it (PDEATHSIG).
  const daemon = runningPid(e.state)!;
  process.kill(daemon, 'SIGKILL');
  await until(() => runningPid(e.state) === undefined, 'the daemon to die');
  s = await status(e);
  assert.equal(s.gateway.running, false);
  assert.deepEqual(
    web()
      .drift.map((d) => d.kind)
      .sort(),
    ['policy_missing', 'process_gone'],
  );
  const r2 = await e.run('plan', '-f', e.file, '--refresh-only', '--detailed-exitcode');
  assert.equal(r2.status, 2);
  assert.match(r2.stdout, /the sandbox process is not running/);
  const heal = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(heal.status, 0, heal.stderr);
  s = await status(e);
  assert.equal(web().state, 'running');
  assert.deepEqual(web().drift, []);
  assert.deepEqual(orphans(e.state, [web().pid!], s.gateway.pid), []);
  {
    const r = await e.run('plan', '-f', e.file, '--detailed-exitcode');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  assert.deepEqual(sandboxSockets(e.state), ['web']);
});

// Reboot: the daemon is killed with SIGKILL (its sandboxes die with it) and started again, as
// nemoclaw-gateway.service would after a reboot. The supervisor restores every sandbox in the
// inventory and the gateway its policies before any reconcile tick runs; the tick after that
// finds nothing to do.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { runningPid } from '../../src/daemon/daemon.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, fetchLoop, httpServer, status, until, yaml } from '../reconciler/harness.js';
import { makeRepo } from './repo.js';

test('after SIGKILL of the daemon, starting it again restores every sandbox before the first tick', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const repo = makeRepo(e.dir);
  const a = await httpServer(t);
  await repo.commit(yaml([{ name: 'one', command: fetchLoop([a.port]), egress: [{ host: 'localhost', port: a.port }] }, { name: 'two' }]), {
    sign: 'trusted',
  });
  const r1 = await e.run('reconcile', '--once', '--settle', '1s', '--source', repo.remote, '--allowed-signers', repo.allowedSigners);
  assert.equal(r1.status, 0, r1.stdout + r1.stderr);
  const before = await status(e);
  const pids = before.sandboxes.map((s) => s.pid!);
  const policies = before.sandboxes.map((s) => s.policy_version);

  const daemon = runningPid(e.state)!;
  process.kill(daemon, 'SIGKILL');
  await until(() => !existsSync(`/proc/${daemon}`) && pids.every((p) => !existsSync(`/proc/${p}`)), 'the daemon and its sandboxes to die');

  const started = await e.run('gateway', '--detach');
  assert.equal(started.status, 0, started.stderr);
  const after = await status(e); // the supervisor answers once its restore is done
  assert.deepEqual(
    after.sandboxes.map((s) => [s.name, s.state]),
    [
      ['one', 'running'],
      ['two', 'running'],
    ],
  );
  assert.ok(
    after.sandboxes.every((s, i) => s.pid !== pids[i]),
    'new processes',
  );
  assert.deepEqual(
    after.sandboxes.map((s) => s.policy_version),
    policies,
  );
  assert.deepEqual(
    after.sandboxes.map((s) => s.drift),
    [[], []],
  );
  const hits = a.hits();
  await until(() => a.hits() > hits, 'the restored sandbox to reach its endpoint through the restored policy');

  const r2 = await e.run('reconcile', '--once', '--settle', '1s');
  assert.equal(r2.status, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /Ready=True Succeeded: at [0-9a-f]{12}, nothing to do/);
});

// logs, protect, destroy and uninstall against a real host: only what the inventory lists is
// removed, and nothing is left running.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningPid } from '../../src/daemon/daemon.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, orphans, status, until, yaml } from './harness.js';

test('logs, protect, destroy, uninstall: exactly what nemoclaw created, nothing left running', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(
    yaml([
      { name: 'talker', command: 'i=0; while true; do i=$((i+1)); echo "line $i"; echo "err $i" >&2; sleep 0.1; done' },
      { name: 'keeper', protect: true },
    ]),
  );
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  await until(async () => /line 3\n/.test((await e.run('logs', 'talker')).stdout), 'talker output in the log');
  const tail = await e.run('logs', 'talker', '-n', '2');
  assert.equal(tail.stdout.trim().split('\n').length, 2);
  // The whole log (apply's settle time lets talker write more than the default tail of 200 lines).
  assert.match((await e.run('logs', 'talker', '-n', '100000')).stdout, /err 1\n/);
  assert.equal((await e.run('logs', 'nope')).status, 1);

  // A file nemoclaw did not create, next to its own: it must survive uninstall.
  mkdirSync(join(e.state, 'mine'));
  writeFileSync(join(e.state, 'mine', 'keep.txt'), 'x');

  // protect: destroy and uninstall refuse without --allow-destroy.
  const refused = await e.run('destroy', 'keeper', '--auto-approve');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /keeper has protect: true; delete needs --allow-destroy/);
  const unknown = await e.run('destroy', 'stranger', '--auto-approve');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /not in the inventory/);
  const u1 = await e.run('uninstall', '--yes');
  assert.equal(u1.status, 1);
  const s = await status(e);
  assert.deepEqual(
    s.sandboxes.map((x) => x.state),
    ['running', 'running'],
    'a refused uninstall changes nothing',
  );

  const pids = s.sandboxes.map((x) => x.pid!);
  const u2 = await e.run('uninstall', '--yes', '--allow-destroy');
  assert.equal(u2.status, 0, u2.stderr);
  assert.equal(runningPid(e.state), undefined);
  for (const p of pids) assert.equal(existsSync(`/proc/${p}`), false);
  assert.deepEqual(orphans(e.state, [], null), []);
  assert.deepEqual(readdirSync(e.state), ['mine']);
});

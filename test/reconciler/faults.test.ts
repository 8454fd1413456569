// Fault injection: SIGKILL the apply right after each journal step (NEMOCLAW_CRASH_AFTER_STEP,
// the journal's test hook), then a plain apply must converge with no orphan processes, sockets
// or inventory entries. Plus the single-writer lock: concurrent applies and a dead holder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootId } from '../../src/reconciler/lock.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { cli, env, inventoryNames, orphans, sandboxSockets, status, yaml, type Env } from './harness.js';

async function converged(e: Env, names: string[], sockets: string[] = names): Promise<void> {
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 0, `plan after recovery:\n${p.stdout}${p.stderr}`);
  const s = await status(e);
  assert.deepEqual(
    s.sandboxes.map((x) => [x.name, x.state]),
    names.map((n) => [n, 'running']),
  );
  assert.deepEqual(inventoryNames(e.state), names);
  assert.deepEqual(sandboxSockets(e.state), sockets);
  assert.deepEqual(
    orphans(
      e.state,
      s.sandboxes.map((x) => x.pid!),
      s.gateway.pid,
    ),
    [],
  );
  for (const x of s.sandboxes) assert.deepEqual(x.drift, []);
}

const crashApply = (e: Env, n: number) =>
  cli(['apply', '-f', e.file, '--auto-approve', '--state-dir', e.state], { NEMOCLAW_CRASH_AFTER_STEP: String(n) });

test('a crash after any step of a create or a delete: the next apply converges', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const one = yaml([{ name: 'f', egress: [{ host: 'localhost', port: 9 }] }]);
  const none = 'version: 1\nsandboxes: {}\n';
  // create: gateway, record, policy, start, ready, generation; delete: gateway, mark, stop, unregister, files, forget, generation.
  for (let n = 1; n <= 7; n++) {
    if (n <= 6) {
      await e.write(one);
      const c = await crashApply(e, n);
      assert.equal(c.signal, 'SIGKILL', `create crash ${n}: ${c.stderr}`);
      const r = await e.run('apply', '-f', e.file, '--auto-approve');
      assert.equal(r.status, 0, `create recovery after step ${n}:\n${r.stdout}${r.stderr}`);
      if (n < 6) assert.match(r.stderr, /was interrupted after step \d+/);
      await converged(e, ['f']);
    }
    await e.write(none);
    const d = await crashApply(e, n);
    assert.equal(d.signal, 'SIGKILL', `delete crash ${n}: ${d.stderr}`);
    const r = await e.run('apply', '-f', e.file, '--auto-approve');
    assert.equal(r.status, 0, `delete recovery after step ${n}:\n${r.stdout}${r.stderr}`);
    await converged(e, []);
    if (n === 6) {
      await e.write(one);
      assert.equal((await e.run('apply', '-f', e.file, '--auto-approve')).status, 0);
    }
  }
});

test('two concurrent applies: one waits or refuses, nothing is corrupted', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'a' }, { name: 'b' }]));
  const [x, y] = await Promise.all([e.run('apply', '-f', e.file, '--auto-approve'), e.run('apply', '-f', e.file, '--auto-approve')]);
  const codes = [x.status, y.status].sort();
  assert.ok(codes[0] === 0, `${x.stderr}\n${y.stderr}`);
  for (const r of [x, y]) if (r.status !== 0) assert.match(r.stderr, /holds the lock/);
  await converged(e, ['a', 'b'], []); // no egress: no gateway socket
  // With --wait both succeed, one after the other.
  await e.write(yaml([{ name: 'a' }]));
  const [w1, w2] = await Promise.all([
    e.run('apply', '-f', e.file, '--auto-approve', '--wait'),
    e.run('apply', '-f', e.file, '--auto-approve', '--wait'),
  ]);
  assert.equal(w1.status, 0, w1.stderr);
  assert.equal(w2.status, 0, w2.stderr);
  await converged(e, ['a'], []);
  JSON.parse(readFileSync(join(e.state, 'inventory.json'), 'utf8'));
});

test('a lock left by a dead process or another boot is taken over', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'a' }]));
  const dead = spawnSync('true').pid!;
  const lock = join(e.state, 'reconciler', 'lock');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(e.state, 'reconciler'), { recursive: true });
  writeFileSync(lock, JSON.stringify({ pid: dead, start: '1', boot_id: bootId(), command: 'apply', since: 'then' }));
  assert.equal((await e.run('apply', '-f', e.file, '--auto-approve')).status, 0);
  // A live pid (ours) but another boot: stale too.
  writeFileSync(lock, JSON.stringify({ pid: process.pid, start: null, boot_id: 'another-boot', command: 'apply', since: 'then' }));
  assert.equal((await e.run('plan', '-f', e.file)).status, 0);
  const r = await e.run('destroy', 'a', '--auto-approve');
  assert.equal(r.status, 0, r.stderr);
  // A live holder on this boot: refused without --wait.
  writeFileSync(lock, JSON.stringify({ pid: process.pid, start: null, boot_id: bootId(), command: 'apply', since: 'now' }));
  const refused = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, new RegExp(`pid ${process.pid}.*holds the lock`));
});

// The loop never deletes or replaces a protect: true sandbox: a signed commit that would do so
// leaves it running and reports WaitingForHuman, while the rest of the commit is applied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, status, yaml } from '../reconciler/harness.js';
import { makeRepo } from './repo.js';

test('reconcile waits for a human before deleting or replacing a protected sandbox', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const repo = makeRepo(e.dir);
  await repo.commit(yaml([{ name: 'guarded', protect: true }, { name: 'plain' }]), { sign: 'trusted' });
  const r1 = await e.run('reconcile', '--once', '--settle', '1s', '--source', repo.remote, '--allowed-signers', repo.allowedSigners);
  assert.equal(r1.status, 0, r1.stdout + r1.stderr);
  const pid = (await status(e)).sandboxes.find((s) => s.name === 'guarded')!.pid;

  // Remove guarded, replace... plain gets a new read_write path (a replace, allowed).
  await repo.commit(yaml([{ name: 'plain', readWrite: ['/tmp', '/data'] }]), { sign: 'trusted' });
  const r2 = await e.run('reconcile', '--once', '--settle', '1s');
  assert.equal(r2.status, 1, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /Ready=False WaitingForHuman: waiting for a human: guarded has protect: true; delete needs --allow-destroy/);
  const s = await status(e);
  const guarded = s.sandboxes.find((x) => x.name === 'guarded')!;
  assert.equal(guarded.state, 'running');
  assert.equal(guarded.pid, pid, 'the protected sandbox was not touched');
  assert.equal(s.sandboxes.find((x) => x.name === 'plain')!.drift.length, 0, 'the rest of the commit was applied');
});

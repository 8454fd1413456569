// Many sandboxes in one apply: they start side by side (bounded), the journal and the inventory
// (written in batches) still say exactly what happened, and one sandbox that cannot start is
// reported without keeping the others from starting.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JournalRecord } from '../../src/reconciler/journal.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, inventoryNames, status, yaml } from './harness.js';

const N = 20;
const names = Array.from({ length: N }, (_, i) => `s${String(i).padStart(2, '0')}`);
const journal = (state: string) => JSON.parse(readFileSync(join(state, 'reconciler', 'journal.json'), 'utf8')) as JournalRecord;
const inventory = (state: string) =>
  (
    JSON.parse(readFileSync(join(state, 'inventory.json'), 'utf8')) as {
      sandboxes: Record<string, { status: string; driver: { id: string | null } }>;
    }
  ).sandboxes;

test(`${N} sandboxes in one apply, one of which cannot start: the others start, the failure is reported, state is exact`, async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const bad = 's07';
  // A secret whose variable is not set stops that sandbox from starting (fail closed).
  const lines = yaml(names.map((name) => ({ name }))).split('\n');
  const at = lines.indexOf(`  ${bad}:`);
  lines.splice(at + 1, 0, '    secrets: { TOKEN: env:NEMOCLAW_TEST_SCALE_UNSET_VARIABLE }');
  await e.write(lines.join('\n'));

  const r = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /apply failed at step \d+: sandbox "s07" cannot start:\n.*NEMOCLAW_TEST_SCALE_UNSET_VARIABLE/);
  assert.match(r.stderr, /run apply again to converge/);

  const others = names.filter((n) => n !== bad);
  const s = await status(e);
  assert.deepEqual(
    s.sandboxes.filter((x) => x.state === 'running').map((x) => x.name),
    others,
    'every sandbox but the bad one runs',
  );

  // The inventory (written in batches) has every sandbox, the others ready with their driver id.
  assert.deepEqual(inventoryNames(e.state), names);
  const inv = inventory(e.state);
  for (const n of others) {
    assert.equal(inv[n]!.status, 'ready', n);
    assert.ok(inv[n]!.driver.id, `${n} has its driver id recorded`);
  }
  assert.notEqual(inv[bad]!.status, 'ready');

  // The journal: every step of the others done, the bad one's start failed, nothing left running.
  const j = journal(e.state);
  assert.equal(j.state, 'failed');
  for (const n of others)
    assert.deepEqual(
      j.steps.filter((x) => x.sandbox === n).map((x) => x.state),
      ['done', 'done', 'done', 'done'],
      n,
    );
  const badSteps = j.steps.filter((x) => x.sandbox === bad);
  assert.deepEqual(
    badSteps.map((x) => x.state),
    ['done', 'done', 'failed', 'pending'],
  );
  assert.match(badSteps[2]!.error ?? '', /NEMOCLAW_TEST_SCALE_UNSET_VARIABLE/);
  assert.ok(!j.steps.some((x) => x.state === 'started'));

  // Without the secret, the next apply starts the one that failed and touches none of the others.
  await e.write(yaml(names.map((name) => ({ name }))));
  const fixed = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.doesNotMatch(fixed.stderr, /\b(start|stop) s(0[0-689]|1\d)\b/, 'only s07 is started again');
  assert.deepEqual(
    (await status(e)).sandboxes.filter((x) => x.state === 'running').map((x) => x.name),
    names,
  );
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 0, `converged:\n${p.stdout}${p.stderr}`);
});

test('registrations are batched: one the gateway cannot put in force names its sandbox, the others of the batch start', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const few = names.slice(0, 8);
  const bad = 's03';
  const config = yaml(few.map((name) => ({ name, egress: [{ host: 'localhost', port: 9 }] })));
  await e.write(config);
  // Something in the way of s03's gateway socket: its registration fails in the daemon.
  const blocked = join(e.state, 'gateway', 'sandboxes', bad, 'proxy.sock');
  mkdirSync(join(blocked, 'in-the-way'), { recursive: true });

  const r = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`apply failed at step \\d+: gateway policy of ${bad}: `));
  const others = few.filter((n) => n !== bad);
  assert.deepEqual(
    (await status(e)).sandboxes.filter((x) => x.state === 'running').map((x) => x.name),
    others,
    'every sandbox but the one whose registration failed runs',
  );
  const j = journal(e.state);
  for (const n of others)
    assert.deepEqual(
      j.steps.filter((x) => x.sandbox === n).map((x) => x.state),
      ['done', 'done', 'done', 'done'],
      n,
    );
  const badSteps = j.steps.filter((x) => x.sandbox === bad);
  assert.deepEqual(
    badSteps.map((x) => x.state),
    ['done', 'failed', 'pending', 'pending'],
  );
  assert.match(badSteps[1]!.error ?? '', new RegExp(`gateway policy of ${bad}: `));

  rmSync(blocked, { recursive: true });
  const fixed = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.doesNotMatch(fixed.stderr, /\bstart s0[0-24-7]\b/, `only ${bad} is started again`);
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 0, `converged:\n${p.stdout}${p.stderr}`);
});

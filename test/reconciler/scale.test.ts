// Many sandboxes in one apply: they start side by side (bounded), the journal and the inventory
// (written in batches) still say exactly what happened, and one sandbox that cannot start is
// reported without keeping the others from starting.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JournalRecord } from '../../src/reconciler/journal.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, inventoryNames, status, yaml } from './harness.js';

const N = 20;
const names = Array.from({ length: N }, (_, i) => `s${String(i).padStart(2, '0')}`);
const journal = (state: string) => JSON.parse(readFileSync(join(state, 'journal.json'), 'utf8')) as JournalRecord;
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
  assert.match(r.stderr, new RegExp(`apply failed at step \\d+: .*NEMOCLAW_TEST_SCALE_UNSET_VARIABLE`));
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

  // With the variable set, the next apply starts only the one that failed.
  const again = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.notEqual(again.status, 0, 'still unset: still refused');
  const fixed = await runWith(e, { NEMOCLAW_TEST_SCALE_UNSET_VARIABLE: 'x' });
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.deepEqual(
    (await status(e)).sandboxes.filter((x) => x.state === 'running').map((x) => x.name),
    names,
  );
  const p = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p.status, 0, `converged:\n${p.stdout}${p.stderr}`);
});

async function runWith(e: ReturnType<typeof env>, extra: Record<string, string>) {
  const { cli } = await import('./harness.js');
  return cli(['apply', '-f', e.file, '--auto-approve', '--settle', '0', '--state-dir', e.state], extra);
}

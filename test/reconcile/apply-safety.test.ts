// The safety rules hold for plain `apply` too: a crash-looping agent fails the apply with its exit
// and log; a second config on the same state directory is refused until --adopt; the adopted
// move deletes the first file's sandbox but keeps its data, which only `destroy --purge` removes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findUidRange } from '../../src/state/uid-ranges.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { cli, env, yaml } from '../reconciler/harness.js';

test('apply: health check, one source per state dir, data kept after delete until destroy --purge', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(
    yaml([
      { name: 'keeper', readWrite: ['/tmp', '/data'] },
      { name: 'crasher', command: 'echo about-to-fail; exit 7' },
    ]),
  );
  const r1 = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '1s');
  assert.equal(r1.status, 1, r1.stdout + r1.stderr);
  assert.doesNotMatch(r1.stdout, /Apply complete/);
  assert.match(r1.stderr, /Health check failed[\s\S]*crasher did not stay up[\s\S]*code 7[\s\S]*about-to-fail/);
  assert.doesNotMatch(r1.stderr, /keeper did not stay up/);

  // Heal the file; keeper's workspace gets a file.
  await e.write(yaml([{ name: 'keeper', readWrite: ['/tmp', '/data'] }]));
  assert.equal((await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '1s')).status, 0);
  const data = join(e.state, 'sandboxes', 'keeper', 'rw', 'data', 'work.txt');
  mkdirSync(join(data, '..'), { recursive: true });
  writeFileSync(data, 'precious\n');

  // Another file on the same state directory: refused, nothing touched.
  const other = join(e.dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'nemoclaw.yaml'), yaml([{ name: 'newcomer' }]));
  const c = await cli(['compile', '-f', join(other, 'nemoclaw.yaml'), '--update-lock', '--out', join(other, 'out')]);
  assert.equal(c.status, 0, c.stderr);
  const refused = await e.run('apply', '-f', join(other, 'nemoclaw.yaml'), '--auto-approve');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /follows .*nemoclaw\.yaml, not .*other\/nemoclaw\.yaml[\s\S]*--adopt/);
  assert.equal(readFileSync(data, 'utf8'), 'precious\n');

  // --adopt moves the directory: keeper is deleted, its data kept aside and listed.
  const adopted = await e.run('apply', '-f', join(other, 'nemoclaw.yaml'), '--auto-approve', '--adopt', '--settle', '1s');
  assert.equal(adopted.status, 0, adopted.stdout + adopted.stderr);
  assert.equal(existsSync(data), false);
  const st = JSON.parse((await e.run('status', '--json')).stdout) as { retained: { sandbox: string; path: string }[] };
  const kept = st.retained.filter((r) => r.sandbox === 'keeper');
  assert.equal(kept.length, 1);
  assert.equal(readFileSync(join(kept[0]!.path, 'rw', 'data', 'work.txt'), 'utf8'), 'precious\n');
  assert.match((await e.run('status')).stdout, /kept data of deleted sandbox keeper/);

  // As root each sandbox got a host id range; it stays with the kept data.
  const root = process.getuid?.() === 0;
  if (root) assert.ok(findUidRange(e.state, 'keeper') && findUidRange(e.state, 'crasher'));

  // destroy --purge removes exactly the kept data of that name, and frees its host id range.
  const purged = await e.run('destroy', 'keeper', '--purge', '--auto-approve');
  assert.equal(purged.status, 0, purged.stderr);
  assert.equal(existsSync(kept[0]!.path), false);
  const left = (JSON.parse((await e.run('status', '--json')).stdout) as { retained: { sandbox: string }[] }).retained;
  assert.deepEqual(
    left.map((r) => r.sandbox),
    ['crasher'],
    "only keeper's data was purged",
  );
  if (root) {
    assert.equal(findUidRange(e.state, 'keeper'), null, "keeper's range is free again");
    assert.ok(findUidRange(e.state, 'crasher'), "crasher's data still exists, so its range stays");
  }
});

// Retention of kept data of deleted sandboxes: off by default (kept until destroy --purge); with
// `reconcile --retention`, a tick removes what is older and says so in its log line and status;
// `status` lists what is kept with its age and expiry. The age counts from the delete time in the
// directory's name, so back-dated names stand in for a clock.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { retainedPathFor } from '../../src/state/source.js';
import { tempDir } from '../helpers/tmp.js';
import { cli } from '../reconciler/harness.js';
import { makeRepo } from './repo.js';

const DAY = 86_400_000;

test('reconcile --retention removes kept data past it on a tick; off keeps it; status shows age and expiry', async (t) => {
  const dir = tempDir(t);
  const repo = makeRepo(dir);
  const state = join(dir, 'state');
  await repo.commit('version: 1\nsandboxes: {}\n', { sign: null });
  const keep = (name: string, ageMs: number) => {
    const p = retainedPathFor(state, name, new Date(Date.now() - ageMs));
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'notes.txt'), 'agent work\n');
    return p;
  };
  const old = keep('old', 40 * DAY);
  const recent = keep('recent', 2 * DAY);
  const sd = ['--state-dir', state];

  const off = await cli(['reconcile', '--once', '--no-verify', '--source', repo.remote, ...sd]);
  assert.equal(off.status, 0, off.stdout + off.stderr);
  assert.ok(existsSync(old) && existsSync(recent), 'off (the default) keeps everything');
  let st = JSON.parse((await cli(['status', '--json', ...sd])).stdout);
  assert.equal(st.source.retention_ms, null);
  assert.deepEqual(
    st.retained.map((r: { sandbox: string; expires_at: string | null }) => [r.sandbox, r.expires_at]),
    [
      ['old', null],
      ['recent', null],
    ],
  );
  assert.ok(st.retained[0].age_ms >= 40 * DAY - 60_000);

  const bad = await cli(['reconcile', '--once', '--retention', 'soon', ...sd]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--retention: "soon" is not a duration/);

  const on = await cli(['reconcile', '--once', '--retention', '30d', ...sd]);
  assert.equal(on.status, 0, on.stdout + on.stderr);
  assert.match(on.stdout, /removed kept data of deleted sandbox old \(deleted .*retention 30d\)/);
  assert.equal(existsSync(old), false, 'older than 30 days: removed');
  assert.equal(existsSync(recent), true, 'younger: kept');

  st = JSON.parse((await cli(['status', '--json', ...sd])).stdout);
  assert.equal(st.source.retention_ms, 30 * DAY);
  assert.deepEqual(
    st.source.removed_kept_data.map((r: { sandbox: string }) => r.sandbox),
    ['old'],
  );
  assert.equal(st.retained.length, 1);
  const expires = Date.parse(st.retained[0].expires_at);
  assert.ok(Math.abs(expires - (Date.parse(st.retained[0].deleted_at) + 30 * DAY)) < 1000);
  const text = (await cli(['status', ...sd], { NO_COLOR: '1' })).stdout;
  assert.match(text, /kept data of deleted sandbox recent \(deleted [^,]+, age 2d, removed after \d{4}-/);

  // Remembered: a plain tick applies the setting; suspended, nothing is removed.
  const older = keep('older', 31 * DAY);
  assert.equal((await cli(['reconcile', 'suspend', ...sd])).status, 0);
  await cli(['reconcile', '--once', ...sd]);
  assert.equal(existsSync(older), true, 'a suspended loop removes nothing');
  assert.equal((await cli(['reconcile', 'resume', ...sd])).status, 0);
  assert.equal((await cli(['reconcile', '--once', ...sd])).status, 0);
  assert.equal(existsSync(older), false);
  assert.equal((await cli(['reconcile', '--once', '--retention', 'off', ...sd])).status, 0);
  st = JSON.parse((await cli(['status', '--json', ...sd])).stdout);
  assert.equal(st.source.retention_ms, null);
  assert.equal(st.retained[0].expires_at, null);
});

// The journal: the record written whole at the start and the end of an apply, the changes of its
// steps appended to journal.log in between, and readJournal putting them together (as the next
// apply does after a crash).
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal, interruptedNote, readJournal, type JournalRecord } from '../../src/reconciler/journal.js';
import { tempDir } from '../helpers/tmp.js';

const steps = ['record a', 'start a', 'record b', 'start b'].map((description, i) => ({ sandbox: i < 2 ? 'a' : 'b', description }));

test('changes of steps are lines in journal.log until the end writes the whole record', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'journal.json');
  const j = new Journal(file, steps);
  const first = JSON.parse(readFileSync(file, 'utf8')) as JournalRecord;
  assert.equal(first.state, 'running');
  assert.ok(first.steps.every((s) => s.state === 'pending'));

  await j.run(1, async () => {
    assert.equal(readJournal(file)!.steps[0]!.state, 'started', 'started is on disk before the step runs');
  });
  await Promise.all([j.run(3, async () => {}), j.run(2, async () => {})]);
  await assert.rejects(
    j.run(4, async () => {
      throw new Error('no such program');
    }),
  );
  const merged = readJournal(file)!;
  assert.deepEqual(
    merged.steps.map((s) => s.state),
    ['done', 'done', 'done', 'failed'],
  );
  assert.equal(merged.steps[3]!.error, 'no such program');
  assert.equal(
    (JSON.parse(readFileSync(file, 'utf8')) as JournalRecord).steps[0]!.state,
    'pending',
    'journal.json itself is not rewritten',
  );
  assert.match(interruptedNote(merged) ?? '', /interrupted after step 4 of 4 \(start b\)/);

  // A crash cuts the last line short, and an older apply's lines are left over: both are ignored.
  appendFileSync(join(dir, 'journal.log'), '{"id":"000000000000","n":1,"state":"failed"}\n{"id":"' + merged.id + '","n":2,"sta');
  assert.deepEqual(
    readJournal(file)!.steps.map((s) => s.state),
    ['done', 'done', 'done', 'failed'],
  );

  await j.finish(false);
  assert.ok(!existsSync(join(dir, 'journal.log')), 'the log goes once the record holds it all');
  const last = JSON.parse(readFileSync(file, 'utf8')) as JournalRecord;
  assert.equal(last.state, 'failed');
  assert.deepEqual(
    last.steps.map((s) => s.state),
    ['done', 'done', 'done', 'failed'],
  );
  assert.deepEqual(readJournal(file), last);
  assert.equal(interruptedNote(last), null);

  // The next apply's journal starts a fresh log.
  const next = new Journal(file, steps.slice(0, 1));
  await next.run(1, async () => {});
  assert.equal(readJournal(file)!.steps[0]!.state, 'done');
  assert.equal(readFileSync(join(dir, 'journal.log'), 'utf8').split('\n').filter(Boolean).length, 2);
  await next.finish(true);
});

// The gateway gives memory back once it goes quiet: three collections a little apart after the
// last connection closed, then one malloc trim; a new connection in between calls it off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idleCollector } from '../../src/gateway/idle-gc.js';
import { mallocTrim } from '../../src/util/malloc-trim.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('quiet after a busy spell: three collections, then one trim', async () => {
  const calls: string[] = [];
  const c = idleCollector(
    20,
    () => calls.push('gc'),
    () => calls.push('trim'),
  );
  c.opened();
  c.opened();
  c.closed();
  await sleep(60);
  assert.deepEqual(calls, [], 'a connection is still open');
  c.closed();
  await sleep(800);
  assert.deepEqual(calls, ['gc', 'gc', 'gc', 'trim']);
  // Quiet without a new busy spell: nothing more.
  c.closed();
  await sleep(100);
  assert.equal(calls.length, 4);
});

test('a connection opened before the quiet time is up calls the collection off', async () => {
  const calls: string[] = [];
  const c = idleCollector(
    100,
    () => calls.push('gc'),
    () => calls.push('trim'),
  );
  c.opened();
  c.closed();
  await sleep(30);
  c.opened();
  await sleep(200);
  assert.deepEqual(calls, []);
});

test('malloc_trim can be called here (glibc) and is a no-op elsewhere', () => {
  mallocTrim();
  mallocTrim();
});

// Batcher: concurrent callers share round trips; each gets its own result or error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from '../../src/util/batch.js';

test('calls of one turn go out together, calls made while a batch is in flight go in the next one', async () => {
  const sent: number[][] = [];
  const b = new Batcher<number, number>(async (xs) => {
    sent.push(xs);
    await new Promise((r) => setTimeout(r, 20));
    return xs.map((x) => x * 2);
  });
  const first = [1, 2, 3].map((x) => b.run(x));
  await new Promise((r) => setTimeout(r, 5)); // the first batch is in flight
  const second = [4, 5].map((x) => b.run(x));
  assert.deepEqual(await Promise.all([...first, ...second]), [2, 4, 6, 8, 10]);
  assert.deepEqual(sent, [
    [1, 2, 3],
    [4, 5],
  ]);
});

test('an Error result fails only its own caller; a failed send fails its whole batch, not the next', async () => {
  let calls = 0;
  const b = new Batcher<string, string>(async (xs) => {
    if (++calls === 2) throw new Error('unreachable');
    return xs.map((x) => (x === 'bad' ? new Error(`refused ${x}`) : x.toUpperCase()));
  });
  const r = await Promise.allSettled(['a', 'bad', 'c'].map((x) => b.run(x)));
  assert.deepEqual(
    r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message)),
    ['A', 'refused bad', 'C'],
  );
  await assert.rejects(b.run('d'), /unreachable/);
  assert.equal(await b.run('e'), 'E');
});

test('batches respect the item and size bounds; one item larger than the bound still goes alone', async () => {
  const sent: string[][] = [];
  const b = new Batcher<string, number>(
    async (xs) => {
      sent.push(xs);
      return xs.map((x) => x.length);
    },
    { maxItems: 3, maxSize: 10, size: (x) => x.length },
  );
  await Promise.all(['aaaa', 'bbbb', 'cc', 'd', 'e', 'ffffffffffffffff', 'g'].map((x) => b.run(x)));
  assert.deepEqual(sent, [['aaaa', 'bbbb', 'cc'], ['d', 'e'], ['ffffffffffffffff'], ['g']]);
});

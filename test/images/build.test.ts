// nemoclaw image build: the same definition and inputs give the same digest and the same bytes,
// from a cold cache and from a warm one; the build cache hands back unchanged layers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { tempDir } from '../helpers/tmp.js';
import { aptAvailable, fixture, imageCli } from './helpers.js';

const fileSha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('two builds from separate cold caches give the same digest and byte-identical archives', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const dir = tempDir(t);
  const a = imageCli(['build', fixture('tiny'), '--out', join(dir, 'a.tar')], join(dir, 'state-a'), join(dir, 'cache-a'));
  const b = imageCli(['build', fixture('tiny'), '--out', join(dir, 'b.tar')], join(dir, 'state-b'), join(dir, 'cache-b'));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(a.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(a.stdout, b.stdout);
  assert.equal(fileSha(join(dir, 'a.tar')), fileSha(join(dir, 'b.tar')));
  assert.match(a.stderr, /0 from cache/);
});

test('a warm build reuses every layer; changing one input changes only its layer and the digest', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const cache = join(dir, 'cache');
  const first = imageCli(['build', fixture('tiny'), '--json'], state, cache);
  assert.equal(first.status, 0, first.stderr);
  const again = imageCli(['build', fixture('tiny'), '--json'], state, cache);
  assert.equal(again.status, 0, again.stderr);
  const r1 = JSON.parse(first.stdout) as { digest: string; layers: { digest: string; cached: boolean }[] };
  const r2 = JSON.parse(again.stdout) as typeof r1;
  assert.equal(r2.digest, r1.digest);
  assert.deepEqual(
    r2.layers.map((l) => l.cached),
    [true, true],
  );

  const copy = join(dir, 'tiny');
  cpSync(fixture('tiny'), copy, { recursive: true });
  writeFileSync(join(copy, 'hello.txt'), 'changed\n');
  const changed = JSON.parse(imageCli(['build', copy, '--json'], state, cache).stdout) as typeof r1;
  assert.notEqual(changed.digest, r1.digest);
  assert.equal(changed.layers[0]!.digest, r1.layers[0]!.digest, 'the Debian layer is unchanged');
  assert.equal(changed.layers[0]!.cached, true);
  assert.notEqual(changed.layers[1]!.digest, r1.layers[1]!.digest);
});

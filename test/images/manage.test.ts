// nemoclaw image ls|rm|prune: a rebuilt tag leaves the old image untagged; prune removes untagged
// images (--all: every unused one) and their blobs; neither rm nor prune ever removes an image a
// sandbox in the inventory pins. An image's unpacked root (process sandboxes) goes with it.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { tempDir } from '../helpers/tmp.js';
import { ensureImageRoot, listUnpackedRoots } from '../../src/runtime/process/image-root.js';
import { aptAvailable, fixture, imageCli } from './helpers.js';

interface Row {
  ref: string | null;
  digest: string;
  config: string;
  used_by: string[];
}

/** An inventory entry whose applied sandbox.json pins `image`, as apply leaves it. */
function pinInInventory(state: string, sandbox: string, image: string): void {
  const bp = 'sha256:' + 'ab'.repeat(32);
  mkdirSync(join(state, 'blueprints', bp.slice(7)), { recursive: true });
  writeFileSync(join(state, 'blueprints', bp.slice(7), 'sandbox.json'), JSON.stringify({ name: sandbox, image }));
  const entry = {
    name: sandbox,
    runtime: 'docker',
    blueprint_digest: bp,
    artifacts: {},
    driver: { kind: 'docker', id: null },
    status: 'ready',
  };
  writeFileSync(join(state, 'inventory.json'), JSON.stringify({ format_version: 1, sandboxes: { [sandbox]: entry } }));
}

test('ls, rm and prune; an image in use is never removed', async (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const ls = (): Row[] => JSON.parse(imageCli(['ls', '--json'], state).stdout) as Row[];

  assert.match(imageCli(['ls'], state).stdout, /no images/);
  const v1 = imageCli(['build', fixture('tiny')], state);
  assert.equal(v1.status, 0, v1.stderr);
  // Rebuild the same tag from changed content: the first image stays, untagged.
  const copy = join(dir, 'tiny');
  cpSync(fixture('tiny'), copy, { recursive: true });
  writeFileSync(join(copy, 'hello.txt'), 'v2\n');
  const v2 = imageCli(['build', copy], state);
  assert.equal(v2.status, 0, v2.stderr);
  const other = imageCli(['build', copy, '--tag', 'other:1'], state);
  assert.equal(other.status, 0, other.stderr);
  assert.equal(other.stdout, v2.stdout, 'same content, same digest, whatever the tag');

  let rows = ls();
  assert.equal(rows.length, 2);
  const old = rows.find((r) => r.digest === v1.stdout.trim())!;
  assert.equal(old.ref, null);
  assert.equal(rows.find((r) => r.digest === v2.stdout.trim())!.ref, 'other:1', 'the last build of that content named it');
  const text = imageCli(['ls'], state).stdout;
  assert.match(text, /^REF\s+DIGEST\s+IMAGE ID\s+SIZE\s+USED BY/);
  assert.match(text, /<none>/);

  // The untagged image is pinned by a sandbox (docker pins the config digest, Docker's image id).
  pinInInventory(state, 'assistant', `nemoclaw-test/tiny@${old.config}`);
  assert.deepEqual(ls().find((r) => r.digest === old.digest)!.used_by, ['assistant']);
  const refused = imageCli(['rm', old.digest], state);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /used by sandbox assistant/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  const pruneAll = imageCli(['prune', '--all'], state);
  assert.equal(pruneAll.status, 0, pruneAll.stderr);
  rows = ls();
  assert.deepEqual(
    rows.map((r) => r.digest),
    [old.digest],
    'prune --all removed the unused image and kept the one in use',
  );

  // Once nothing pins it, prune (untagged only) removes it, and its blobs and unpacked root go with it.
  const root = await ensureImageRoot(state, old.digest);
  assert.deepEqual(listUnpackedRoots(state), [root]);
  writeFileSync(join(state, 'inventory.json'), JSON.stringify({ format_version: 1, sandboxes: {} }));
  const pruned = imageCli(['prune'], state);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.match(pruned.stdout, /and its unpacked root/);
  assert.deepEqual(ls(), []);
  assert.deepEqual(listUnpackedRoots(state), [], 'the unpacked root is gone');
  assert.deepEqual(readdirSync(join(state, 'images', 'oci', 'built', 'blobs', 'sha256')), []);

  const missing = imageCli(['rm', 'nope:1'], state);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no image nope:1/);
});

test('an inventory whose blueprint cannot be read stops prune: nothing is removed', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  assert.equal(imageCli(['build', fixture('tiny'), '--tag', 'x:1'], state).status, 0);
  pinInInventory(state, 'assistant', 'whatever');
  writeFileSync(join(state, 'blueprints', 'ab'.repeat(32), 'sandbox.json'), '{not json');
  const r = imageCli(['prune', '--all'], state);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot tell which image sandbox assistant uses/);
  writeFileSync(join(state, 'inventory.json'), JSON.stringify({ format_version: 1, sandboxes: {} }));
  assert.equal((JSON.parse(imageCli(['ls', '--json'], state).stdout) as Row[]).length, 1, 'the image is still there');
});

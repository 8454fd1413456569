// Unpacking an OCI image into a process sandbox's root: once per digest, layers in order,
// whiteouts, no path outside the root, verified digests.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureImageRoot, listUnpackedRoots, removeUnpackedRoot, resolveImageRef } from '../../src/runtime/process/image-root.js';
import { UserError } from '../../src/util/errors.js';
import { layoutTar, makeOciLayout, type Layer } from '../helpers/oci-layout.js';
import { tempDir } from '../helpers/tmp.js';

const base: Layer = {
  entries: [
    { path: 'etc', type: 'dir' },
    { path: 'etc/keep', type: 'file', content: 'keep\n' },
    { path: 'etc/gone', type: 'file', content: 'gone\n' },
    { path: 'opt/app', type: 'dir' },
    { path: 'opt/app/old', type: 'file', content: 'old\n' },
    { path: 'usr/bin/tool', type: 'file', content: '#!/bin/sh\n', mode: 0o4755 },
    { path: 'lib', type: 'symlink', target: 'usr/lib' },
    { path: 'abs', type: 'symlink', target: '/etc' },
  ],
};
const top: Layer = {
  gzip: false,
  entries: [
    { path: 'etc/.wh.gone', type: 'file', content: '' },
    { path: 'opt/app/.wh..wh..opq', type: 'file', content: '' },
    { path: 'opt/app/new', type: 'file', content: 'new\n' },
    { path: 'lib/libx.so', type: 'file', content: 'lib\n' }, // through the link: lands in usr/lib
    { path: 'abs/through', type: 'file', content: 'inside\n' }, // absolute link: resolved inside the root
    { path: 'usr/bin/tool-link', type: 'hardlink', target: 'usr/bin/tool' },
  ],
};

test('an image is unpacked once into images/roots/<digest>, layers in order, whiteouts honoured', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(state, 'images', 'oci', 'app'), [base, top]);
  assert.equal(await resolveImageRef(state, img.ref), img.dir);

  const r = await ensureImageRoot(state, img.ref);
  assert.equal(r.path, join(state, 'images', 'roots', img.manifestHex));
  assert.equal(r.digest, img.digest);
  assert.equal(readFileSync(join(r.path, 'etc/keep'), 'utf8'), 'keep\n');
  assert.equal(existsSync(join(r.path, 'etc/gone')), false, 'whiteout removes the lower file');
  assert.equal(existsSync(join(r.path, 'etc/.wh.gone')), false, 'whiteout markers are not files of the root');
  assert.deepEqual(readdirSync(join(r.path, 'opt/app')), ['new'], 'opaque whiteout hides the lower directory, keeps its own layer');
  assert.equal(readFileSync(join(r.path, 'usr/lib/libx.so'), 'utf8'), 'lib\n');
  assert.equal(readFileSync(join(r.path, 'etc/through'), 'utf8'), 'inside\n');
  assert.equal(readlinkSync(join(r.path, 'abs')), '/etc', 'links are kept as written');
  const tool = statSync(join(r.path, 'usr/bin/tool'));
  assert.equal(tool.mode & 0o7777, 0o755, 'no setuid bit, no group/other write');
  assert.equal(statSync(join(r.path, 'usr/bin/tool-link')).ino, tool.ino, 'hard link');
  if (process.getuid?.() === 0) assert.equal(tool.uid, 0);
  assert.equal(readdirSync(join(state, 'images', 'tmp')).length, 0, 'no temp dir left behind');

  // Unpacked once: a second call finds it and does not touch the layout (even if it is gone).
  const mtime = lstatSync(r.path).mtimeMs;
  writeFileSync(join(img.dir, 'index.json'), 'broken');
  const again = await ensureImageRoot(state, img.ref);
  assert.equal(again.path, r.path);
  assert.equal(lstatSync(r.path).mtimeMs, mtime);

  assert.deepEqual(listUnpackedRoots(state), [{ digest: img.digest, path: r.path }]);
  assert.equal(removeUnpackedRoot(state, img.digest), true);
  assert.deepEqual(listUnpackedRoots(state), []);
  assert.equal(removeUnpackedRoot(state, img.digest), false);
});

test('an image layout given as a tar is found and unpacked', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(dir, 'layout'), [base]);
  mkdirSync(join(state, 'images', 'oci'), { recursive: true });
  layoutTar(img.dir, join(state, 'images', 'oci', 'app.tar'));
  assert.equal(await resolveImageRef(state, img.ref), join(state, 'images', 'oci', 'app.tar'));
  const r = await ensureImageRoot(state, img.ref);
  assert.equal(readFileSync(join(r.path, 'etc/keep'), 'utf8'), 'keep\n');
  // An extra layout (from the lock or the command line) is looked at too.
  const other = await makeOciLayout(join(dir, 'other'), [top]);
  assert.equal(await resolveImageRef(state, other.ref), null);
  assert.equal(await resolveImageRef(state, other.ref, [other.dir]), other.dir);
});

test('an entry escaping the root is refused and nothing is unpacked', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(state, 'images', 'oci', 'evil'), [
    {
      entries: [
        { path: 'etc', type: 'dir' },
        { path: '../../escaped', type: 'file', content: 'x' },
      ],
    },
  ]);
  await assert.rejects(ensureImageRoot(state, img.ref), (e: Error) => e instanceof UserError && /escapes the root/.test(e.message));
  assert.deepEqual(listUnpackedRoots(state), []);
  assert.equal(existsSync(join(state, 'images', 'escaped')), false);
  assert.equal(existsSync(join(dir, 'escaped')), false);

  // A link pointing out of the root, then a file through it: lands inside the root, not on the host.
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  const link = await makeOciLayout(join(state, 'images', 'oci', 'link'), [
    { entries: [{ path: 'out', type: 'symlink', target: outside }] },
    { entries: [{ path: 'out/planted', type: 'file', content: 'x' }] },
  ]);
  const r = await ensureImageRoot(state, link.ref);
  assert.deepEqual(readdirSync(outside), [], 'nothing written outside the root');
  assert.equal(readFileSync(join(r.path, outside, 'planted'), 'utf8'), 'x');
  // A hard link to a host file is refused.
  const hard = await makeOciLayout(join(state, 'images', 'oci', 'hard'), [
    { entries: [{ path: 'passwd', type: 'hardlink', target: '../../../../../../etc/passwd' }] },
  ]);
  await assert.rejects(ensureImageRoot(state, hard.ref), /escapes the root/);
});

test('a blob whose content does not match its digest is refused', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(state, 'images', 'oci', 'app'), [base, top]);
  writeFileSync(join(img.dir, 'blobs', 'sha256', img.layerHexes[1]!), 'tampered');
  await assert.rejects(
    ensureImageRoot(state, img.ref),
    (e: Error) => e instanceof UserError && /does not match its digest/.test(e.message),
  );
  assert.deepEqual(listUnpackedRoots(state), []);
  // An image that is not in the store: a clear error naming where it looked.
  await assert.rejects(ensureImageRoot(state, `x@sha256:${'0'.repeat(64)}`), /not in the local store/);
  await assert.rejects(ensureImageRoot(state, 'x:latest'), /not pinned by digest/);
});

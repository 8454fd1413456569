// The archive `image build --out` writes is accepted by `docker load`, and the image runs: Node 24
// from the npm registry on Debian's libc, as the image's user, with no registry involved.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { dockerReachable } from '../helpers/busybox-image.js';
import { tempDir } from '../helpers/tmp.js';
import { loadIntoDocker } from '../../src/image/docker-load.js';
import { ImageStore } from '../../src/image/store.js';
import { aptAvailable, fixture, imageCli } from './helpers.js';

const docker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });

test('docker load accepts the archive and docker run runs node 24 from it', (t) => {
  const d = dockerReachable();
  const apt = aptAvailable();
  if (!requireCapability(t, d.ok && apt.ok, d.reason || apt.reason)) return;
  const dir = tempDir(t);
  const tag = `nemoclaw-test/node:load-${process.pid}`;
  t.after(() => docker(['rmi', '-f', tag]));
  const b = imageCli(['build', fixture('node'), '--tag', tag, '--out', join(dir, 'node.tar'), '--json'], join(dir, 'state'));
  assert.equal(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout) as { digest: string; config: string };

  const load = docker(['load', '-i', join(dir, 'node.tar')]);
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stdout, new RegExp(`Loaded image: ${tag}`));
  assert.equal(
    docker(['image', 'inspect', '--format', '{{.Id}}', tag]).stdout.trim(),
    built.config,
    "Docker's image id is the config digest",
  );

  const run = docker(['run', '--rm', '--network', 'none', tag]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^v24\.\d+\.\d+\n$/);
  const who = docker([
    'run',
    '--rm',
    '--network',
    'none',
    tag,
    'node',
    '-e',
    'console.log(process.getuid(), require("os").userInfo().username)',
  ]);
  assert.equal(who.stdout, '1000 sandbox\n', who.stderr);
});

test('image build --load loads through the Docker API', (t) => {
  const d = dockerReachable();
  const apt = aptAvailable();
  if (!requireCapability(t, d.ok && apt.ok, d.reason || apt.reason)) return;
  const dir = tempDir(t);
  const tag = `nemoclaw-test/tiny:load-${process.pid}`;
  t.after(() => docker(['rmi', '-f', tag]));
  const b = imageCli(['build', fixture('tiny'), '--tag', tag, '--load'], join(dir, 'state'));
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, new RegExp(`Loaded image: ${tag}`));
  const run = docker(['run', '--rm', '--network', 'none', tag]);
  assert.equal(run.stdout, 'hello from a registry-free image\n', run.stderr);
});

test('loadIntoDocker (init, runtime docker) loads an image the engine lacks, and skips one it has under that name', async (t) => {
  const d = dockerReachable();
  const apt = aptAvailable();
  if (!requireCapability(t, d.ok && apt.ok, d.reason || apt.reason)) return;
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const tag = `nemoclaw-test/tiny:init-load-${process.pid}`;
  t.after(() => docker(['rmi', '-f', tag]));
  const b = imageCli(['build', fixture('tiny'), '--tag', tag, '--json'], state);
  assert.equal(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout) as { digest: string; config: string };
  const store = ImageStore.open(state);
  const image = store.find(built.digest)!;
  const prev = process.env.NEMOCLAW_CACHE_DIR;
  process.env.NEMOCLAW_CACHE_DIR = join(dir, 'cache'); // where the temp archive goes
  t.after(() => (prev === undefined ? delete process.env.NEMOCLAW_CACHE_DIR : (process.env.NEMOCLAW_CACHE_DIR = prev)));
  assert.match(await loadIntoDocker(store, image, tag, state), new RegExp(`Loaded image: ${tag} \\(image id ${built.config}\\)`));
  assert.equal(docker(['image', 'inspect', '--format', '{{.Id}}', tag]).stdout.trim(), built.config);
  assert.deepEqual(readdirSync(join(dir, 'cache')), [], 'the temp archive is gone');
  assert.equal(await loadIntoDocker(store, image, tag, state), `${tag} is already in Docker (image id ${built.config})`);
});

// compile --update-lock pins an image nemoclaw built, by what its build produced: for a docker
// sandbox, the config digest (Docker's image id after `image build --load`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { runCli } from '../helpers/cli.js';
import { tempFiles } from '../helpers/tmp.js';
import { aptAvailable, fixture, imageCli } from './helpers.js';

test('compile --update-lock pins a locally built image', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const ref = 'nemoclaw-test/tiny:lock';
  const dir = tempFiles(t, {
    'nemoclaw.yaml': `version: 1\nsandboxes:\n  box:\n    runtime: docker\n    image: ${ref}\n    command: [/bin/busybox, "true"]\n`,
  });
  const state = join(dir, 'state');
  const built = imageCli(['build', fixture('tiny'), '--tag', ref, '--json'], state);
  assert.equal(built.status, 0, built.stderr);
  const { config } = JSON.parse(built.stdout) as { config: string };

  const file = join(dir, 'nemoclaw.yaml');
  const env = { NEMOCLAW_STATE_DIR: state };
  const r = runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')], { env });
  assert.equal(r.status, 0, r.stderr);
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8')) as { images: Record<string, string> };
  assert.equal(lock.images[ref], config);
  const sandbox = JSON.parse(readFileSync(join(dir, 'out', 'box', 'sandbox.json'), 'utf8')) as { image: string };
  assert.equal(sandbox.image, `nemoclaw-test/tiny@${config}`);
  assert.equal(runCli(['compile', '-f', file, '--out', join(dir, 'out')], { env }).status, 0, 'the lock pins it');
});

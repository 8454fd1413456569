import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { runCli } from '../helpers/cli.js';
import { tempFiles } from '../helpers/tmp.js';

test('compile --update-lock pins a docker image tag to what the engine has, and compile uses the pin', (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const config = `version: 1
sandboxes:
  box:
    runtime: docker
    image: ${probe.image}
    command: [/bin/busybox, "true"]
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': config });
  const file = join(dir, 'nemoclaw.yaml');
  const unpinned = runCli(['lint', '-f', file]);
  assert.equal(unpinned.status, 1);
  assert.match(unpinned.stdout, /image-not-pinned/);

  const r = runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]);
  assert.equal(r.status, 0, r.stderr);
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.images[probe.image], id);
  const sandbox = JSON.parse(readFileSync(join(dir, 'out', 'box', 'sandbox.json'), 'utf8'));
  assert.equal(sandbox.image, `${probe.image.replace(/:[^/:]+$/, '')}@${id}`);
  assert.equal(runCli(['compile', '-f', file, '--out', join(dir, 'out')]).status, 0, 'the lock now pins it');
});

// nemoclaw doctor on this host: examples judged by what is really here, and its flags.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerReachable } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('doctor: the openclaw-assistant example does not "run" while its pinned image is not on this host', (t) => {
  const d = dockerReachable();
  if (!requireCapability(t, d.ok, d.reason)) return;
  const r = runCli(['doctor', '--json', '--state-dir', join(tempDir(t), 'state')]);
  const report = JSON.parse(r.stdout);
  const assistant = report.configs.find((c: { sandbox: string }) => c.sandbox === 'assistant');
  const lock = JSON.parse(readFileSync(join(repoRoot, 'examples', 'openclaw-assistant', 'nemoclaw.lock'), 'utf8'));
  const digest = Object.values(lock.images as Record<string, string>)[0]!;
  // The verdict follows the host: refused unless an image with the pinned digest is really here.
  let present = false;
  try {
    execFileSync('docker', ['image', 'inspect', digest], { stdio: 'ignore' });
    present = true;
  } catch {
    /* absent */
  }
  if (present) assert.equal(assistant.verdict, 'runs');
  else {
    assert.equal(assistant.verdict, 'refused');
    assert.match(assistant.reasons.join('\n'), /image: ghcr\.io\/openclaw\/openclaw pinned at sha256:.* is not on this host/);
  }
  // The quickstart's /bin/sh is found in its read-only binds: it runs (on a host that can enforce).
  const hello = report.configs.find((c: { sandbox: string }) => c.sandbox === 'hello');
  if (report.process_runtime_ready) assert.equal(hello.verdict, 'runs', hello.reasons.join('\n'));
});

test('doctor --state-dir is accepted and reported; a misspelt flag is refused as typed', (t) => {
  const dir = tempDir(t);
  const r = runCli(['doctor', '--state-dir', join(dir, 'state')]);
  assert.match(r.stdout, new RegExp(`state dir +${join(dir, 'state')}: absent`));
  const w = runCli(['doctor', '--state-dir', dir]);
  assert.match(w.stdout, new RegExp(`state dir +${dir}: writable`));
  const bad = runCli(['doctor', '--stat-dir', dir]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'nemoclaw: Unknown option `--stat-dir`\n');
});

// nemoclaw run with runtime docker: output and exit code in the foreground, the container removed
// afterwards, and an out-of-memory kill named from Docker's State.OOMKilled.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('run: a docker sandbox runs in the foreground, exits with its code, is removed, and an OOM kill is named', (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const dir = tempDir(t);
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(
    file,
    `version: 1
sandboxes:
  boxed:
    runtime: docker
    image: ${probe.image}
    command: [/bin/sh, -c, 'echo out-$((6*7)); exit 42']
    workdir: /sandbox
    filesystem:
      read_only: [/bin]
      read_write: [/tmp, /sandbox]
    process:
      limits: { pids: 64, nofile: 256, memory: 64MiB }
`,
  );
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  const state = join(dir, 'state');
  const r = runCli(['run', 'boxed', '-f', file, '--state-dir', state]);
  assert.equal(r.status, 42, r.stderr);
  assert.equal(r.stdout, 'out-42\n');
  assert.match(r.stderr, /^boxed: container [0-9a-f]{12}: Landlock ABI \d+/m);
  assert.match(r.stderr, /^boxed: exited with code 42$/m);
  const id = /container ([0-9a-f]{12})/.exec(r.stderr)![1]!;
  assert.equal(execFileSync('docker', ['ps', '-aq', '--filter', `id=${id}`], { encoding: 'utf8' }).trim(), '', 'container removed');

  const hog = runCli(['run', 'boxed', '-f', file, '--state-dir', state, '--', '/bin/sh', '-c', 'exec tail /dev/zero']);
  assert.equal(hog.status, 137, hog.stderr);
  assert.match(hog.stderr, /^boxed: killed: memory limit 64 MiB reached$/m);
});

test('status of an applied docker sandbox that Docker restarted names the OOM kill (from the engine events)', async (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const dir = tempDir(t);
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(
    file,
    `version: 1
sandboxes:
  hogd:
    runtime: docker
    image: ${probe.image}
    command: [/bin/sh, -c, 'exec tail /dev/zero']
    workdir: /sandbox
    filesystem:
      read_only: [/bin]
      read_write: [/tmp, /sandbox]
    process:
      limits: { pids: 64, nofile: 256, memory: 64MiB }
`,
  );
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  const state = join(dir, 'state');
  // Destroyed here, not in an after-hook: those run after the temp dir's, which takes the state with it.
  try {
    runCli(['apply', '-f', file, '--auto-approve', '--state-dir', state]); // its health check fails: the agent never stays up
    let shown = '';
    for (let i = 0; i < 200 && !/last +killed/.test(shown); i++) {
      shown = runCli(['status', '--state-dir', state]).stdout;
      if (!/last +killed/.test(shown)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(shown, /^ {2}last +killed: memory limit 64 MiB reached$/m);
  } finally {
    runCli(['destroy', '--all', '--auto-approve', '--state-dir', state]);
  }
});

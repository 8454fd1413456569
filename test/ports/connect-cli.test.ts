// `nemoclaw connect` end to end through the CLI: an applied sandbox under the daemon's supervisor
// (embedded runtime) and a docker sandbox (real engine); a stopped sandbox is refused clearly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { cli, env, yaml, type Env } from '../reconciler/harness.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';

/** `nemoclaw connect NAME --state-dir S -- CMD…`: options must come before `--`. */
const connect = (e: Env, name: string, ...cmd: string[]) => cli(['connect', name, '--state-dir', e.state, '--', ...cmd]);

test('connect (embedded): id -u, no /etc/shadow; after destroy it is refused clearly', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'shell' }]));
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);

  const id = await connect(e, 'shell', '/usr/bin/id', '-u');
  assert.equal(id.status, 0, id.stderr);
  assert.equal(id.stdout, '1000\n');
  const shadow = await connect(e, 'shell', '/bin/cat', '/etc/shadow');
  assert.notEqual(shadow.status, 0);
  assert.match(shadow.stderr, /Permission denied/);
  const code = await connect(e, 'shell', '/bin/sh', '-c', 'exit 7');
  assert.equal(code.status, 7, 'the command’s exit code is connect’s');

  assert.equal((await e.run('destroy', 'shell', '--auto-approve')).status, 0);
  const gone = await connect(e, 'shell', '/usr/bin/id');
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /no sandbox "shell" in the inventory|is not running/);
  assert.doesNotMatch(gone.stderr, /at .*\.js:\d+/, 'no stack trace');
});

test('connect (docker): the container’s uid, Landlock applied by the init, seccomp active', async (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const imageId = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const e = env(t);
  t.after(() => {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', 'label=dev.nemoclaw.sandbox=dshell'], { encoding: 'utf8' }).split('\n');
    for (const c of ids.filter(Boolean)) execFileSync('docker', ['rm', '-f', c]);
  });
  await e.write(
    `version: 1\nsandboxes:\n  dshell:\n    runtime: docker\n    image: nemoclaw-test/busybox@${imageId}\n    command: [/bin/sh, -c, 'while true; do sleep 1; done']\n    filesystem:\n      read_only: [/bin]\n      read_write: [/tmp]\n    network:\n      listen: [18789]\n`,
  );
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  const r = await connect(
    e,
    'dshell',
    '/bin/sh',
    '-c',
    'id -u; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; ls /etc >/dev/null 2>&1 || echo no-etc',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^1000\n/);
  assert.match(r.stdout, /Seccomp:\s+2/);
  assert.match(r.stdout, /NoNewPrivs:\s+1/);
  assert.match(r.stdout, /no-etc/, 'Landlock: /etc is outside the sandbox’s rules');
  // busybox nc binds: listed port ok, another refused.
  const bind = await connect(e, 'dshell', '/bin/sh', '-c', 'timeout 1 nc -l -p 18790 127.0.0.1; echo rc=$?');
  assert.match(bind.stderr + bind.stdout, /Permission denied|rc=1/);
});

// A process sandbox whose root is an OCI image: it runs a program the host does not have on its
// PATH (busybox from the image), sees none of the host's paths, writes its read_write paths, and
// Landlock and seccomp still hold; /proc shows no host path (cmdline, environ, mountinfo).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startSandbox, type RunningSandbox } from '../../src/runtime/process/start.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { requireCapability } from '../helpers/capability.js';
import { busyboxLayer, hostHasStaticBusybox, makeOciLayout } from '../helpers/oci-layout.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { compileYaml, requireProcessRuntime } from './process-fixture.js';

function collect(sb: RunningSandbox): { out: () => string; err: () => string } {
  let out = '',
    err = '';
  sb.child!.stdout?.on('data', (d) => (out += d));
  sb.child!.stderr?.on('data', (d) => (err += d));
  return { out: () => out, err: () => err };
}

const yaml = (ref: string, extra = '') => `version: 1
sandboxes:
  img:
    runtime: process
    image: "${ref}"
    command: [sh, -c, 'exit 0']
    workdir: /sandbox
    env: { PATH: /bin }
    filesystem:
      read_only: [/bin, /etc]
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 256 }
${extra}`;

async function imageState(t: TestContext, dir: string) {
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(state, 'images', 'oci', 'busybox'), [
    busyboxLayer(),
    { entries: [{ path: 'opt/secret', type: 'file', content: 'not granted\n' }] },
  ]);
  return { state, img };
}

async function ready(t: TestContext): Promise<boolean> {
  if (!(await requireProcessRuntime(t))) return false;
  return requireCapability(t, hostHasStaticBusybox(), 'a static busybox at /bin/busybox (Debian: busybox-static)');
}

test('image root: busybox from the image runs; host paths are absent; read_write persists; Landlock and seccomp hold', async (t) => {
  if (!(await ready(t))) return;
  const dir = tempDir(t);
  const { state, img } = await imageState(t, dir);
  const s = await compileYaml(dir, yaml(img.ref), 'img');
  assert.equal(s.artifacts.sandbox.image, img.ref);
  const script = [
    'busybox | head -n 1',
    '[ -e /usr ] && echo usr:visible || echo usr:absent',
    '[ -e /lib ] && echo lib:visible || echo lib:absent',
    'echo persisted > /sandbox/f && cat /sandbox/f',
    'touch /etc/x 2>/dev/null && echo etc:writable || echo etc:readonly',
    'cat /opt/secret 2>/dev/null && echo opt:readable || echo opt:denied',
    'echo uid:$(id -u)',
    'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status',
  ].join('; ');
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', 'pipe', 'pipe'],
    command: ['sh', '-c', script],
  });
  const io = collect(sb);
  assert.equal((await sb.wait()).code, 0, io.err());
  const out = io.out();
  assert.match(out, /^BusyBox v/m, "the image's busybox ran");
  assert.match(out, /^usr:absent$/m, "the host's /usr is not in the sandbox");
  assert.match(out, /^lib:absent$/m);
  assert.match(out, /^persisted$/m);
  assert.match(out, /^etc:readonly$/m);
  assert.match(out, /^opt:denied$/m, 'Landlock: a path of the image not in read_only is not readable');
  assert.match(out, /^uid:1000$/m);
  assert.match(out, /^Seccomp:\s+2$/m);
  assert.match(out, /^NoNewPrivs:\s+1$/m);
  assert.equal(sb.report.landlock.enforced, true);
  const paths = sandboxPaths(state, 'img');
  if (sb.report.disk === 'own_filesystem') {
    // On the sandbox's own file system (limits.disk): read it from the image, which the host never mounts.
    const r = spawnSync('debugfs', ['-R', 'cat /rw/sandbox/f', paths.diskImage], { encoding: 'utf8' });
    assert.equal(r.stdout, 'persisted\n', r.stderr);
  } else assert.equal(readFileSync(join(paths.rwDir('/sandbox'), 'f'), 'utf8'), 'persisted\n');
  // The image is unpacked once, beside the sandbox, never inside its rw data.
  assert.ok(existsSync(join(state, 'images', 'roots', img.manifestHex, 'bin', 'busybox')));
});

test('image root: /proc/1/cmdline, environ and mountinfo show no host path', async (t) => {
  if (!(await ready(t))) return;
  const dir = tempDir(t);
  const { state, img } = await imageState(t, dir);
  const s = await compileYaml(dir, yaml(img.ref), 'img');
  const script = [
    'echo "cmdline:$(tr "\\0" " " < /proc/1/cmdline)"',
    'echo "environ:$(tr "\\0" " " < /proc/1/environ 2>&1)"',
    'echo "selfenv:$(tr "\\0" " " < /proc/self/environ)"',
    'cat /proc/self/mountinfo',
  ].join('; ');
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', 'pipe', 'pipe'],
    command: ['sh', '-c', script],
  });
  const io = collect(sb);
  assert.equal((await sb.wait()).code, 0, io.err());
  const out = io.out();
  assert.match(out, /^cmdline:/m);
  assert.match(out, /^cmdline:nemoclaw-init *$/m, 'pid 1 shows its name only (argv cleared)');
  assert.match(
    out,
    / \/ \/ ro,[^\n]* - overlay none [^\n]*lowerdir=lower,upperdir=upper,workdir=work/,
    'the root is the image overlay, its layers named relatively',
  );
  for (const hostPath of [dir, state, join(state, 'images'), img.manifestHex]) {
    assert.ok(!out.includes(hostPath), `the sandbox sees the host path ${hostPath}:\n${out}`);
  }
});

test('image root with the CLI: run finds the image in the store; a missing command is refused before the agent runs', async (t) => {
  if (!(await ready(t))) return;
  const dir = tempDir(t);
  const { state, img } = await imageState(t, dir);
  await compileYaml(dir, yaml(img.ref), 'img');
  const file = join(dir, 'nemoclaw.yaml');
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  const ok = runCli(['run', 'img', '-f', file, '--state-dir', state, '--', 'sh', '-c', 'echo from-image; exit 3']);
  assert.equal(ok.status, 3, ok.stderr);
  assert.equal(ok.stdout, 'from-image\n');
  const missing = runCli(['run', 'img', '-f', file, '--state-dir', state, '--', 'openclaw', 'gateway']);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /sandbox "img": command "openclaw" not found in the image's PATH \(\/bin\)/);
  assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
  // An image that is not in the store: named, with where it was looked for.
  mkdirSync(join(dir, 'empty'));
  const absent = runCli(['run', 'img', '-f', file, '--state-dir', join(dir, 'empty')]);
  assert.equal(absent.status, 1);
  assert.match(absent.stderr, /is not in the local store/);
});

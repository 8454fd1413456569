// nemoclaw init: flag mode, --no-build-image (a partial lock and the steps left), --image for both
// runtimes (pinned by the lock), overwrite refusal, nothing written on failure (an existing file
// survives --force), and the guided mode driven through a real pseudo-terminal (tmux). The real
// build of the OpenClaw image (`init --yes` with no flag) is test/slow/init-build.test.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { nemoclawBin, repoRoot, runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCapability } from '../helpers/capability.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { aptAvailable, fixture, imageCli } from '../images/helpers.js';

/** An image ref pinned by digest: compile takes it as is (nothing to look up on this host). */
const PINNED_IMAGE = `nemoclaw/openclaw@sha256:${'5'.repeat(64)}`;

/** init with its own (empty) state directory: no test sees another's image store. */
function init(args: string[], dir: string, env: Record<string, string> = {}, cwd?: string): CliResult {
  return runCli(['init', ...args], { cwd, env: { NEMOCLAW_STATE_DIR: join(dir, '.state'), ...env } });
}

/** What a directory holds besides init's own state directory (no temp file may be left). */
const filesIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n !== '.state')
    .sort();

function lintsClean(dir: string, imagePinned = true): void {
  const lint = runCli(['lint', '-f', join(dir, 'nemoclaw.yaml'), '--fail-on', 'warning']);
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  assert.match(lint.stdout, /0 errors, 0 warnings/);
  const validate = runCli(['validate', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(validate.status, 0, validate.stderr);
  const compile = runCli(['compile', '-f', join(dir, 'nemoclaw.yaml'), '--out', join(dir, 'out')], {
    env: { NEMOCLAW_STATE_DIR: join(dir, '.state') },
  });
  if (imagePinned) {
    // The lock it wrote is current: a check-mode compile (which refuses a stale lock) succeeds.
    assert.equal(compile.status, 0, compile.stderr);
  } else {
    // The lock is current for what it pins, but the image is not built yet: compile (and so plan
    // and apply) refuse to go on without its digest.
    assert.equal(compile.status, 1, compile.stdout);
    assert.match(compile.stderr, /image "nemoclaw\/openclaw:[^"]+" has no digest and nemoclaw\.lock does not pin it/);
  }
}

/** The steps --no-build-image prints, exactly. */
function nextSteps(name: string, runtime: 'process' | 'docker', cd?: string): string {
  const lines = [
    ...(cd ? [`cd ${cd}`] : []),
    `nemoclaw image build ${join(repoRoot, 'images', 'openclaw')}${runtime === 'docker' ? ' --load' : ''}`,
    'nemoclaw compile --update-lock',
    `nemoclaw explain ${name}`,
    'nemoclaw apply',
  ];
  return `next steps (apply refuses to start the agent until the lock pins its image):\n${lines.map((l) => `  ${l}\n`).join('')}`;
}

test('init --yes with flags (and --image) writes a commented openclaw@2 config and lock that validate and lint clean, then explains', (t) => {
  const dir = tempDir(t);
  const r = init(
    [
      '--yes',
      '--image',
      PINNED_IMAGE,
      '--dir',
      dir,
      '--name',
      'helper',
      '--provider',
      'anthropic',
      '--credential',
      'file:/etc/nemoclaw/keys/anthropic',
      '--presets',
      'github,pypi',
      '--on-deny',
      'deny',
    ],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /building/); // --image: nothing to build
  assert.match(r.stdout, /wrote .*nemoclaw\.yaml and .*nemoclaw\.lock \(valid\)/);
  assert.match(r.stdout, new RegExp(`Sandbox helper \\(process runtime, image ${PINNED_IMAGE}\\)`)); // explain's output
  assert.match(r.stdout, /aliases default → anthropic\/claude-/);
  assert.match(r.stdout, /HTTPS to pypi\.org:443/);
  assert.match(r.stdout, /other requests are refused\./);
  const text = readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8');
  assert.match(text, /^# Written by `nemoclaw init`/);
  const v = parse(text);
  assert.equal(v.sandboxes.helper.blueprint, 'openclaw@2');
  assert.equal(v.sandboxes.helper.image, PINNED_IMAGE);
  assert.equal(v.sandboxes.helper.network.on_deny, 'deny');
  assert.deepEqual(v.sandboxes.helper.network.presets, ['github', 'pypi']);
  assert.equal(v.inference.providers.anthropic.credential, 'file:/etc/nemoclaw/keys/anthropic');
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.deepEqual(Object.keys(lock.presets).sort(), ['github', 'pypi']);
  assert.equal(lock.blueprints.openclaw.version, 2);
  assert.deepEqual(lock.images, {}); // pinned in the file itself
  lintsClean(dir);
});

test('init --no-build-image writes the file and a lock without the image, prints the steps left, and exits 0', (t) => {
  const dir = tempDir(t);
  // Run in the directory: the steps are the four commands, exactly.
  const r = init(['--yes', '--no-build-image', '--name', 'coder'], dir, {}, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /building/);
  assert.match(r.stdout, /^wrote nemoclaw\.yaml and nemoclaw\.lock \(valid; the image is not built, so the lock does not pin it yet\)\n/);
  assert.ok(r.stdout.endsWith(nextSteps('coder', 'process')), r.stdout);
  assert.deepEqual(filesIn(dir), ['nemoclaw.lock', 'nemoclaw.yaml']);
  const v = parse(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'));
  assert.equal(v.sandboxes.coder.blueprint, 'openclaw@2');
  assert.equal(v.sandboxes.coder.image, undefined);
  assert.deepEqual(v.sandboxes.coder.inference.models, { default: { provider: 'nvidia', model: 'nvidia/nemotron-3-super-120b-a12b' } });
  // What can be pinned without the image: the blueprint and the presets.
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.blueprints.openclaw.version, 2);
  assert.match(lock.blueprints.openclaw.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(lock.presets), ['github']);
  assert.deepEqual(lock.images, {});
  lintsClean(dir, false);
  // apply refuses too, before it starts anything.
  const apply = runCli(['apply', '-f', join(dir, 'nemoclaw.yaml'), '--auto-approve', '--state-dir', join(dir, '.state')]);
  assert.equal(apply.status, 1, apply.stdout);
  assert.match(apply.stderr, /has no digest and nemoclaw\.lock does not pin it/);

  // From elsewhere, with docker: cd first, and the build loads the image into Docker.
  const other = tempDir(t);
  const d = init(['--yes', '--no-build-image', '--runtime', 'docker', '--dir', join(other, 'agent')], other);
  assert.equal(d.status, 0, d.stderr);
  assert.ok(d.stdout.endsWith(nextSteps('assistant', 'docker', join(other, 'agent'))), d.stdout);
  assert.equal(parse(readFileSync(join(other, 'agent', 'nemoclaw.yaml'), 'utf8')).sandboxes.assistant.runtime, 'docker');
});

test('--image with --build-image is refused, before anything is asked or written', (t) => {
  const dir = tempDir(t);
  const r = init(['--image', PINNED_IMAGE, '--build-image', '--dir', dir], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /give --image \(an image this host already has\) or --build-image, not both/);
  assert.deepEqual(filesIn(dir), []);
});

test('a failed init writes nothing, and an existing file and lock survive --force', (t) => {
  // The image named is on no host: compile cannot pin it.
  const empty = tempDir(t);
  const absent = init(['--yes', '--image', 'nemoclaw-test/absent:never', '--dir', empty], empty);
  assert.equal(absent.status, 1);
  assert.match(absent.stderr, /image-not-pinned|not pinned/);
  assert.deepEqual(filesIn(empty), []);

  const dir = tempDir(t);
  writeFileSync(join(dir, 'nemoclaw.yaml'), 'version: 1\nsandboxes: {} # mine\n');
  writeFileSync(join(dir, 'nemoclaw.lock'), '{"lock_version": 1, "blueprints": {}, "presets": {}}\n');
  const kept = () => {
    assert.equal(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'), 'version: 1\nsandboxes: {} # mine\n');
    assert.equal(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'), '{"lock_version": 1, "blueprints": {}, "presets": {}}\n');
    assert.deepEqual(filesIn(dir), ['nemoclaw.lock', 'nemoclaw.yaml']);
  };
  const compileFails = init(['--yes', '--force', '--image', 'nemoclaw-test/absent:never', '--dir', dir], dir);
  assert.equal(compileFails.status, 1);
  assert.match(compileFails.stderr, /not pinned/);
  kept();
  // The build fails (its cache cannot be created: /dev/null is not a directory).
  const buildFails = init(['--yes', '--force', '--dir', dir], dir, { NEMOCLAW_CACHE_DIR: '/dev/null/cache' });
  assert.equal(buildFails.status, 1, buildFails.stderr);
  assert.match(buildFails.stderr, /building the OpenClaw image from /);
  assert.match(buildFails.stderr, /nemoclaw: building the OpenClaw image failed: .*ENOTDIR/);
  kept();
});

test('--image of an image nemoclaw built runs it in the embedded runtime, pinned to its manifest digest', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const dir = tempDir(t);
  const ref = 'nemoclaw-test/tiny:init';
  const built = imageCli(['build', fixture('tiny'), '--tag', ref, '--json'], join(dir, '.state'));
  assert.equal(built.status, 0, built.stderr);
  const { digest } = JSON.parse(built.stdout) as { digest: string };
  const r = init(['--yes', '--image', ref, '--dir', dir], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Sandbox assistant \\(process runtime, image nemoclaw-test/tiny@${digest}\\)`));
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.deepEqual(lock.images, { [ref]: digest });
  lintsClean(dir);
});

test('init refuses to overwrite nemoclaw.yaml without --force, and bad flags, naming the flag and never echoing a key', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'nemoclaw.yaml'), 'version: 1\n');
  const refused = init(['--yes', '--dir', dir], dir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /nemoclaw\.yaml exists; pass --force to overwrite it/);
  assert.doesNotMatch(refused.stderr, /at .*\.js:\d+/); // no stack trace
  assert.equal(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'), 'version: 1\n');

  const key = 'sk-PASTED-KEY-0123456789';
  const badKey = init(['--yes', '--dir', dir, '--force', '--credential', key], dir);
  assert.equal(badKey.status, 1);
  assert.match(badKey.stderr, /env:NAME or file:\/absolute\/path, never the key itself/);
  assert.doesNotMatch(badKey.stderr + badKey.stdout, new RegExp(key));
  assert.equal(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'), 'version: 1\n');

  const badRuntime = init(['--yes', '--dir', dir, '--force', '--runtime', 'vm'], dir);
  assert.equal(badRuntime.status, 1);
  assert.match(badRuntime.stderr, /runtime "vm": must be process or docker/);

  const forced = init(
    ['--yes', '--dir', dir, '--force', '--image', PINNED_IMAGE, '--provider', 'http://127.0.0.1:11434/v1', '--model', 'qwen2.5'],
    dir,
  );
  assert.equal(forced.status, 0, forced.stderr);
  const v = parse(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'));
  assert.deepEqual(v.inference.providers.local, { api: 'openai', endpoint: 'http://127.0.0.1:11434/v1', model: 'qwen2.5' });
  lintsClean(dir);
});

test('init --runtime docker --image pins the image the engine has in the lock', (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const dir = tempDir(t);
  const r = init(['--yes', '--dir', dir, '--runtime', 'docker', '--image', probe.image], dir);
  assert.equal(r.status, 0, r.stderr);
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.images[probe.image], id);
  lintsClean(dir);
  // An image the engine does not have cannot be pinned: refused, and no file is left behind.
  const other = tempDir(t);
  const missing = init(['--yes', '--dir', other, '--runtime', 'docker', '--image', 'nemoclaw-test/absent:never'], other);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /image-not-pinned|not pinned/);
  assert.equal(existsSync(join(other, 'nemoclaw.yaml')), false);
  assert.deepEqual(filesIn(other), []);
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

test('init asks its questions on a terminal, re-asks after a bad answer, and writes what was answered', async (t) => {
  const has = spawnSync('tmux', ['-V']).status === 0;
  if (!requireCapability(t, has, 'tmux is not installed')) return;
  const dir = tempDir(t);
  const session = `nemoclaw-init-${process.pid}`;
  const sock = ['-L', session];
  const tm = (...args: string[]) => tmux(...sock, ...args);
  tm(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '200',
    '-y',
    '50',
    `NO_COLOR=1 NEMOCLAW_STATE_DIR=${join(dir, '.state')} ${process.execPath} ${nemoclawBin} init --dir ${dir}; echo "exit=$?"; sleep 60`,
  );
  t.after(() => spawnSync('tmux', [...sock, 'kill-server']));
  const answer = (text: string) => {
    if (text) tm('send-keys', '-t', session, '-l', text);
    tm('send-keys', '-t', session, 'Enter');
  };
  const screenShows = async (re: RegExp) => {
    // Polls the screen: what a user would see, not a timing assumption (no deadline but the test's).
    for (let i = 0; i < 600; i++) {
      const screen = tm('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
      if (re.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never saw ${re}:\n${tm('capture-pane', '-p', '-J', '-S', '-200', '-t', session)}`);
  };
  await screenShows(/Agent \(sandbox\) name\? \[assistant\]/);
  answer('Bad_Name');
  await screenShows(/agent name "Bad_Name": use a-z/);
  answer('coder');
  await screenShows(/Runtime, process/);
  answer(''); // default: process
  await screenShows(/Model provider/);
  answer('openai');
  await screenShows(/Where does its API key live.*\[env:OPENAI_API_KEY\]/);
  answer('env:TEAM_OPENAI_KEY');
  await screenShows(/presets from: .*github/);
  answer('npm, github');
  await screenShows(/ask \(queue it for approval\) or deny\?/);
  answer('deny');
  await screenShows(/Build the OpenClaw image now\? \(about 5–8 minutes the first time\) \[yes\]/);
  answer('maybe');
  await screenShows(/"maybe": answer yes or no/);
  answer('no');
  const screen = await screenShows(/exit=\d+/);
  assert.match(screen, /exit=0/);
  assert.match(screen, /the image is not built, so the lock does not pin it yet/);
  assert.match(screen, /nemoclaw image build \S+\/images\/openclaw\n/);
  assert.match(screen, /nemoclaw explain coder/);
  const v = parse(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'));
  assert.deepEqual(Object.keys(v.sandboxes), ['coder']);
  assert.equal(v.sandboxes.coder.runtime, 'process');
  assert.deepEqual(v.sandboxes.coder.network.presets, ['npm', 'github']);
  assert.equal(v.sandboxes.coder.network.on_deny, 'deny');
  assert.equal(v.inference.providers.openai.credential, 'env:TEAM_OPENAI_KEY');
  lintsClean(dir, false);
});

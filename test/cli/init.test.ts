// nemoclaw init: flag mode, overwrite refusal, the docker image pinned by the lock, and the
// guided mode driven through a real pseudo-terminal (tmux).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { nemoclawBin, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCapability } from '../helpers/capability.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';

function lintsClean(dir: string): void {
  const lint = runCli(['lint', '-f', join(dir, 'nemoclaw.yaml'), '--fail-on', 'warning']);
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  assert.match(lint.stdout, /0 errors, 0 warnings/);
  const validate = runCli(['validate', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(validate.status, 0, validate.stderr);
  // The lock it wrote is current: a check-mode compile (which refuses a stale lock) succeeds.
  const compile = runCli(['compile', '-f', join(dir, 'nemoclaw.yaml'), '--out', join(dir, 'out')]);
  assert.equal(compile.status, 0, compile.stderr);
}

test('init --yes with flags writes a commented config and lock that validate and lint clean, then explains', (t) => {
  const dir = tempDir(t);
  const r = runCli([
    'init',
    '--yes',
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
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*nemoclaw\.yaml and .*nemoclaw\.lock \(valid\)/);
  assert.match(r.stdout, /Sandbox helper \(process runtime\)/); // explain's output
  assert.match(r.stdout, /HTTPS to pypi\.org:443/);
  assert.match(r.stdout, /other requests are refused\./);
  const text = readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8');
  assert.match(text, /^# Written by `nemoclaw init`/);
  const v = parse(text);
  assert.equal(v.sandboxes.helper.network.on_deny, 'deny');
  assert.deepEqual(v.sandboxes.helper.network.presets, ['github', 'pypi']);
  assert.equal(v.inference.providers.anthropic.credential, 'file:/etc/nemoclaw/keys/anthropic');
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.deepEqual(Object.keys(lock.presets).sort(), ['github', 'pypi']);
  assert.equal(lock.blueprints.openclaw.version, 1);
  lintsClean(dir);
});

test('init refuses to overwrite nemoclaw.yaml without --force, and bad flags, naming the flag and never echoing a key', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'nemoclaw.yaml'), 'version: 1\n');
  const refused = runCli(['init', '--yes', '--dir', dir]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /nemoclaw\.yaml exists; pass --force to overwrite it/);
  assert.doesNotMatch(refused.stderr, /at .*\.js:\d+/); // no stack trace
  assert.equal(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'), 'version: 1\n');

  const key = 'sk-PASTED-KEY-0123456789';
  const badKey = runCli(['init', '--yes', '--dir', dir, '--force', '--credential', key]);
  assert.equal(badKey.status, 1);
  assert.match(badKey.stderr, /env:NAME or file:\/absolute\/path, never the key itself/);
  assert.doesNotMatch(badKey.stderr + badKey.stdout, new RegExp(key));
  assert.equal(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'), 'version: 1\n');

  const badRuntime = runCli(['init', '--yes', '--dir', dir, '--force', '--runtime', 'vm']);
  assert.equal(badRuntime.status, 1);
  assert.match(badRuntime.stderr, /runtime "vm": must be process or docker/);

  const forced = runCli(['init', '--yes', '--dir', dir, '--force', '--provider', 'http://127.0.0.1:11434/v1', '--model', 'qwen2.5']);
  assert.equal(forced.status, 0, forced.stderr);
  const v = parse(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'));
  assert.deepEqual(v.inference.providers.local, { api: 'openai', endpoint: 'http://127.0.0.1:11434/v1', model: 'qwen2.5' });
  lintsClean(dir);
});

test('init --runtime docker pins the image the engine has in the lock', (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const dir = tempDir(t);
  const r = runCli(['init', '--yes', '--dir', dir, '--runtime', 'docker', '--image', probe.image]);
  assert.equal(r.status, 0, r.stderr);
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.images[probe.image], id);
  lintsClean(dir);
  // An image the engine does not have cannot be pinned: refused, and no file is left behind.
  const other = tempDir(t);
  const missing = runCli(['init', '--yes', '--dir', other, '--runtime', 'docker', '--image', 'nemoclaw-test/absent:never']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /image-not-pinned|not pinned/);
  assert.equal(existsSync(join(other, 'nemoclaw.yaml')), false);
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
    `NO_COLOR=1 ${process.execPath} ${nemoclawBin} init --dir ${dir}; echo "exit=$?"; sleep 60`,
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
  const screen = await screenShows(/exit=\d+/);
  assert.match(screen, /exit=0/);
  assert.match(screen, /Sandbox coder \(process runtime\)/);
  const v = parse(readFileSync(join(dir, 'nemoclaw.yaml'), 'utf8'));
  assert.deepEqual(Object.keys(v.sandboxes), ['coder']);
  assert.equal(v.sandboxes.coder.runtime, 'process');
  assert.deepEqual(v.sandboxes.coder.network.presets, ['npm', 'github']);
  assert.equal(v.sandboxes.coder.network.on_deny, 'deny');
  assert.equal(v.inference.providers.openai.credential, 'env:TEAM_OPENAI_KEY');
  lintsClean(dir);
});

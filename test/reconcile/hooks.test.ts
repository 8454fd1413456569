// nemoclaw hooks install|uninstall in a real clone: `git pull` runs the drift check and shows
// its output; uninstall removes only our hook; a foreign hook is never overwritten.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv, stdio: 'pipe' });
const YAML = (cmd: string) => `version: 1\nsandboxes:\n  agent:\n    runtime: process\n    command: [/bin/sh, -c, "${cmd}"]\n`;

test('hooks install: a pull runs plan --refresh-only; uninstall removes exactly the hook', (t) => {
  const dir = tempDir(t);
  const upstream = join(dir, 'upstream');
  const state = join(dir, 'state');
  git(dir, 'init', '--quiet', '--initial-branch=main', upstream);
  writeFileSync(join(upstream, 'nemoclaw.yaml'), YAML('sleep 1000'));
  assert.equal(runCli(['compile', '-f', join(upstream, 'nemoclaw.yaml'), '--update-lock', '--out', join(dir, 'o')]).status, 0);
  git(upstream, 'add', '.');
  git(upstream, 'commit', '--quiet', '-m', 'one');
  const clone = join(dir, 'clone');
  git(dir, 'clone', '--quiet', upstream, clone);

  const inst = runCli(['hooks', 'install', '--state-dir', state], { cwd: clone });
  assert.equal(inst.status, 0, inst.stderr);
  const hook = join(clone, '.git', 'hooks', 'post-merge');
  assert.match(readFileSync(hook, 'utf8'), /plan' '--refresh-only' '-f' '[^']*clone\/nemoclaw\.yaml' '--state-dir'/);

  writeFileSync(join(upstream, 'nemoclaw.yaml'), YAML('sleep 2000'));
  assert.equal(runCli(['compile', '-f', join(upstream, 'nemoclaw.yaml'), '--update-lock', '--out', join(dir, 'o')]).status, 0);
  git(upstream, 'commit', '--quiet', '-am', 'two');
  // git sends a hook's output to stderr.
  const pull = spawnSync('git', ['pull', '--quiet', '--ff-only'], { cwd: clone, encoding: 'utf8', env: { ...gitEnv, NO_COLOR: '1' } });
  assert.equal(pull.status, 0, pull.stderr);
  const pulled = pull.stdout + pull.stderr;
  // Nothing was applied to this state directory: the drift check says agent is not there yet.
  assert.match(pulled, /refresh-only, not proposed\) create/);
  assert.equal(existsSync(join(state, 'inventory.json')), false, 'the hook changes nothing');

  const un = runCli(['hooks', 'uninstall'], { cwd: clone });
  assert.equal(un.status, 0, un.stderr);
  assert.equal(existsSync(hook), false);

  writeFileSync(hook, '#!/bin/sh\necho mine\n', { mode: 0o755 });
  const refused = runCli(['hooks', 'install'], { cwd: clone });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /not written by nemoclaw/);
  assert.equal(readFileSync(hook, 'utf8'), '#!/bin/sh\necho mine\n');
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempFiles } from '../helpers/tmp.js';

const GOOD = `version: 1
sandboxes:
  agent:
    command: [/bin/true]
    filesystem: { read_only: [/usr], read_write: [/tmp] }
    network:
      presets: [pypi]
`;

test('validate: a good file exits 0', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': GOOD });
  const r = runCli(['validate', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid/);
});

test('validate: every problem at once, with file:line:col and field, exit 1, no stack trace', (t) => {
  const bad = `version: 1
sandboxes:
  agent:
    command: [/bin/true]
    runtime: podman
    colour: blue
    process:
      user: 0
    filesystem:
      read_write: [relative/path]
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': bad });
  const r = runCli(['validate', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nemoclaw\.yaml:5:\d+: error schema: must be one of: "process", "docker"/);
  assert.match(r.stderr, /nemoclaw\.yaml:6:\d+: error schema: unknown field "colour"/);
  assert.match(r.stderr, /sandboxes\.agent\.runtime/);
  assert.match(r.stderr, /hint: allowed here: blueprint, runtime, image, requires, command/);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .*\.js:\d+/, 'no stack trace');
});

test('validate --json reports the same findings as data', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': 'version: 2\nsandboxes: {}\n' });
  const r = runCli(['validate', '--json', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j.valid, false);
  assert.equal(j.diagnostics[0].line, 1);
  assert.equal(j.diagnostics[0].pointer, '/version');
});

test('validate: YAML syntax errors and duplicate keys are located', (t) => {
  const dir = tempFiles(t, { 'a.yaml': 'version: 1\nsandboxes:\n  x: [unclosed\n', 'b.yaml': 'version: 1\nversion: 1\nsandboxes: {}\n' });
  const a = runCli(['validate', '-f', join(dir, 'a.yaml')]);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /a\.yaml:\d+:\d+: error yaml-syntax/);
  const b = runCli(['validate', '-f', join(dir, 'b.yaml')]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /b\.yaml:2:1: error yaml-duplicate-key/);
});

test('validate: an alias bomb is refused quickly and a file over 1 MiB is refused', (t) => {
  const bomb = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 9; i++)
    bomb.push(
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
        .fill('*' + String.fromCharCode(97 + i))
        .join(',')}]`,
    );
  bomb.push('sandboxes: {}');
  const dir = tempFiles(t, {
    'bomb.yaml': bomb.join('\n') + '\n',
    'big.yaml': 'version: 1\nsandboxes: {}\n#' + 'x'.repeat(1024 * 1024) + '\n',
  });
  const started = Date.now();
  const r = runCli(['validate', '-f', join(dir, 'bomb.yaml')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /yaml-alias-limit/);
  assert.ok(Date.now() - started < 30_000); // bounded; the real figure is printed by bench/compile
  const big = runCli(['validate', '-f', join(dir, 'big.yaml')]);
  assert.equal(big.status, 1);
  assert.match(big.stderr, /file-too-large/);
});

test('usage errors exit 2: missing file, unknown command, bad option value', (t) => {
  assert.equal(runCli(['validate', '-f', '/nonexistent/nemoclaw.yaml']).status, 2);
  assert.equal(runCli(['frobnicate']).status, 2);
  const dir = tempFiles(t, { 'nemoclaw.yaml': GOOD });
  assert.equal(runCli(['lint', '--format', 'xml', '-f', join(dir, 'nemoclaw.yaml')]).status, 2);
});

test('compile refuses without a lock, writes one with --update-lock, then compiles deterministically', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': GOOD });
  const file = join(dir, 'nemoclaw.yaml');
  const out = join(dir, 'out');
  const refused = runCli(['compile', '-f', file, '--out', out]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /nemoclaw\.lock is missing/);
  assert.equal(existsSync(out), false, 'nothing written when refused');

  const first = runCli(['compile', '-f', file, '--out', out, '--update-lock']);
  assert.equal(first.status, 0, first.stderr);
  const lock = JSON.parse(readFileSync(join(dir, 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.presets.pypi.version, 1);
  assert.match(first.stdout, /^agent\s+sha256:[0-9a-f]{64}$/m);
  for (const f of ['seccomp.json', 'landlock.json', 'egress.json', 'sandbox.json', 'manifest.json']) {
    assert.ok(existsSync(join(out, 'agent', f)), f);
  }
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
  assert.equal(`agent  ${index.sandboxes.agent}\n`, first.stdout.replace(/ +/, '  '));

  const again = runCli(['compile', '-f', file, '--out', out]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, first.stdout);

  // A preset the lock does not pin makes it stale.
  writeFileSync(file, GOOD.replace('[pypi]', '[pypi, github]'));
  const stale = runCli(['compile', '-f', file, '--out', out]);
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /stale[\s\S]*preset github is used but not pinned/);
});

test('compile --json prints digests as data', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': GOOD });
  const r = runCli(['compile', '--json', '--update-lock', '-f', join(dir, 'nemoclaw.yaml'), '--out', join(dir, 'o')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(JSON.parse(r.stdout).sandboxes.agent, /^sha256:/);
});

test('explain describes reads, writes, network and syscalls in plain language', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': GOOD });
  const r = runCli(['explain', 'agent', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /May read:[\s\S]*\/usr/);
  assert.match(r.stdout, /May write[\s\S]*\/tmp/);
  assert.match(r.stdout, /HTTPS to pypi\.org:443/);
  assert.match(r.stdout, /other requests are refused/);
  assert.match(r.stdout, /system calls/);
  const missing = runCli(['explain', 'nope', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no sandbox "nope"/);
});

test('--help works for every command', () => {
  for (const cmd of [[], ['validate'], ['lint'], ['compile'], ['explain']]) {
    const r = runCli([...cmd, '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage/);
  }
});

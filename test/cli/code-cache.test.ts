// bin/nemoclaw.js keeps V8's compiled code per command in the caller's cache directory. It must
// be used only when it was made from this very build of the bundle, and only from a file that the
// caller alone owns and can write; anything else is rebuilt, never run.
import assert from 'node:assert/strict';
import { chownSync, chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

function versionRun(cache: string): string {
  const r = runCli(['--version'], { env: { NEMOCLAW_CACHE_DIR: cache } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function cacheFile(cache: string): string {
  const files = readdirSync(join(cache, 'v8')).filter((f) => f.startsWith('version-'));
  assert.equal(files.length, 1, `one cache file for the command: ${files.join(', ')}`);
  return join(cache, 'v8', files[0]!);
}

test('the first run writes the cache 0600 in a 0700 directory, headed by the bundle it came from', (t) => {
  const cache = tempDir(t, 'nemoclaw-code-cache-');
  const version = versionRun(cache);
  const file = cacheFile(cache);
  assert.equal(statSync(join(cache, 'v8')).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const head = readFileSync(file, 'latin1').split('\n')[0]!;
  assert.match(head, /^\d+ \d+ \d+ \d+ \d+$/, 'dev ino size mtime ctime of the bundle');
  // The second run uses it (the file is not rewritten) and behaves the same.
  const before = statSync(file).mtimeMs;
  assert.equal(versionRun(cache), version);
  assert.equal(statSync(file).mtimeMs, before);
});

test('data made from another build of the bundle is not used: it is replaced', (t) => {
  const cache = tempDir(t, 'nemoclaw-code-cache-');
  const version = versionRun(cache);
  const file = cacheFile(cache);
  const data = readFileSync(file);
  const nl = data.indexOf(10);
  // Same V8 data, but the header of another build (another inode): V8 alone would accept it.
  writeFileSync(file, Buffer.concat([Buffer.from('1 2 3 4 5\n'), data.subarray(nl + 1)]), { mode: 0o600 });
  assert.equal(versionRun(cache), version);
  const rewritten = readFileSync(file);
  assert.deepEqual(rewritten.subarray(0, rewritten.indexOf(10)), data.subarray(0, nl), 'rewritten with this build’s header');
});

test('a cache file another uid owns, or others may write, is ignored and replaced', (t) => {
  if (!requireCapability(t, process.getuid?.() === 0, 'chown needs root')) return;
  const cache = tempDir(t, 'nemoclaw-code-cache-');
  versionRun(cache);
  const file = cacheFile(cache);
  chownSync(file, 65534, 65534);
  versionRun(cache);
  assert.equal(statSync(file).uid, 0, 'replaced by a file of the caller');
  chmodSync(file, 0o622);
  versionRun(cache);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'replaced: a group-writable file is not trusted');
});

test('NEMOCLAW_CODE_CACHE=off writes nothing', (t) => {
  const cache = tempDir(t, 'nemoclaw-code-cache-');
  const r = runCli(['--version'], { env: { NEMOCLAW_CACHE_DIR: cache, NEMOCLAW_CODE_CACHE: 'off' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(cache), []);
});

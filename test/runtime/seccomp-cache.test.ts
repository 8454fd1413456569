// Compiled filters kept in the state directory: a start with a cached filter gets the very bytes
// libseccomp would produce, and a file that is not exactly what was written is never loaded.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileSeccomp } from '../../src/compiler/seccomp.js';
import { compileSeccompBpf, libseccompAvailable } from '../../src/runtime/seccomp-bpf.js';
import { readCachedBpf, seccompBpfFor, seccompCacheFile } from '../../src/runtime/seccomp-cache.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir } from '../helpers/tmp.js';

const lib = libseccompAvailable();
const profile = compileSeccomp({ base: 'default', deny: ['flock'], allow: [] });

test('the first start compiles and keeps the filter; the next reads the same bytes', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const state = tempDir(t, 'nemoclaw-seccomp-cache-');
  assert.equal(readCachedBpf(state, profile), null);
  const first = seccompBpfFor(state, profile);
  assert.equal(first.cached, false);
  const file = seccompCacheFile(state, profile);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const again = seccompBpfFor(state, profile);
  assert.equal(again.cached, true);
  const fresh = compileSeccompBpf(profile);
  assert.deepEqual(again.bpf, fresh.bpf);
  assert.equal(again.ruleCount, fresh.ruleCount);
  assert.equal(again.digest, fresh.digest);
});

test('another profile never finds that filter', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const state = tempDir(t, 'nemoclaw-seccomp-cache-');
  seccompBpfFor(state, profile);
  const other = compileSeccomp({ base: 'default', deny: [], allow: [] });
  assert.notEqual(seccompCacheFile(state, other), seccompCacheFile(state, profile));
  assert.equal(readCachedBpf(state, other), null);
});

test('a changed, truncated or loosely permitted file is not used, and is replaced', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const state = tempDir(t, 'nemoclaw-seccomp-cache-');
  const good = seccompBpfFor(state, profile);
  const file = seccompCacheFile(state, profile);
  const bytes = readFileSync(file);
  const body = bytes.indexOf(10) + 1;

  // One instruction changed (say, an ERRNO turned into ALLOW): the digest no longer matches.
  const flipped = Buffer.from(bytes);
  flipped[body + 8 * 5] = (flipped[body + 8 * 5]! + 1) & 0xff;
  writeFileSync(file, flipped);
  assert.equal(readCachedBpf(state, profile), null);

  // Cut to a whole number of instructions: still refused.
  writeFileSync(file, bytes.subarray(0, body + 8 * 4));
  assert.equal(readCachedBpf(state, profile), null);

  // Right bytes, but others may write the file.
  writeFileSync(file, bytes);
  chmodSync(file, 0o666);
  assert.equal(readCachedBpf(state, profile), null);

  const again = seccompBpfFor(state, profile);
  assert.equal(again.cached, false, 'recompiled');
  assert.deepEqual(again.bpf, good.bpf);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(existsSync(file));
});

// The compile a no-op `plan` would repeat, remembered in the state directory (desired-cache.ts):
// keyed on every input, used only when the plan shows no change, and a plan with or without it
// is the same plan.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { desiredCacheFile, desiredKey, readDesiredCache } from '../../src/reconciler/desired-cache.js';
import { desiredFromFile } from '../../src/reconciler/reconcile.js';
import { StateStore } from '../../src/state/store.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { makeTempDir } from '../helpers/tmp.js';
import { env, yaml } from './harness.js';

const noCreatedAt = (json: string) => json.replace(/"created_at": "[^"]+"/, '');

test('the key covers the config, the lock, the path and the git commit; a compile that used a host fact is not kept', async (t) => {
  const dir = makeTempDir('nemoclaw-dcache-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const e = { file: join(dir, 'nemoclaw.yaml'), state: join(dir, 'state') };
  mkdirSync(e.state);
  writeFileSync(e.file, yaml([{ name: 'a' }]));
  const k0 = (await desiredKey(e.file)).key;
  assert.equal((await desiredKey(e.file)).key, k0, 'same inputs, same key');
  writeFileSync(e.file, yaml([{ name: 'a' }]) + '# a comment\n');
  const k1 = (await desiredKey(e.file)).key;
  assert.notEqual(k1, k0, 'config bytes');
  writeFileSync(join(dir, 'nemoclaw.lock'), '{}\n');
  const k2 = (await desiredKey(e.file)).key;
  assert.notEqual(k2, k1, 'lock bytes');
  writeFileSync(join(dir, 'nemoclaw.lock'), '{ }\n');
  assert.notEqual((await desiredKey(e.file)).key, k2, 'lock bytes');
  rmSync(join(dir, 'nemoclaw.lock'));
  assert.equal((await desiredKey(e.file)).key, k1, 'back to the same inputs');
  const git = (...a: string[]) =>
    execFileSync('git', a, {
      cwd: dir,
      env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@x' },
    });
  git('init', '-q');
  git('commit', '-q', '--allow-empty', '-m', 'one');
  const k3 = (await desiredKey(e.file)).key;
  assert.notEqual(k3, k1, 'git commit');
  git('commit', '-q', '--allow-empty', '-m', 'two');
  assert.notEqual((await desiredKey(e.file)).key, k3, 'another commit');
  const here = (await desiredKey(e.file)).key;
  const cwd = process.cwd();
  process.chdir(dir); // the path as shown (recorded in every manifest) is now relative
  try {
    assert.notEqual((await desiredKey(e.file)).key, here, 'the path as shown');
  } finally {
    process.chdir(cwd);
  }

  // Compiled with the cache: remembered, byte for byte; the npm preset's registry (a host fact) is never kept.
  await runCompile(dir, e.file);
  const store = new StateStore(e.state);
  const d = await desiredFromFile(e.file, { cache: store });
  const hit = readDesiredCache(e.state, (await desiredKey(e.file)).key);
  assert.ok(hit);
  assert.deepEqual(
    hit.sandboxes.map((s) => [s.name, s.digest, s.manifest, s.files]),
    d.sandboxes.map((s) => [s.name, s.digest, s.files['manifest.json'], Object.keys(s.files)]),
  );
  rmSync(desiredCacheFile(e.state));
  writeFileSync(e.file, yaml([{ name: 'a' }]).replace('    process:', '    network: { presets: [npm] }\n    process:'));
  process.env.NEMOCLAW_NPM_REGISTRY = 'https://registry.example.test/';
  try {
    await runCompile(dir, e.file);
    await desiredFromFile(e.file, { cache: store });
  } finally {
    delete process.env.NEMOCLAW_NPM_REGISTRY;
  }
  assert.ok(!existsSync(desiredCacheFile(e.state)), 'a compile that asked the host is not kept');
});

async function runCompile(dir: string, file: string): Promise<void> {
  const { cli } = await import('./harness.js');
  const r = await cli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')], {
    NEMOCLAW_NPM_REGISTRY: 'https://registry.example.test/',
  });
  assert.equal(r.status, 0, r.stderr);
}

test('plan with the remembered compile is the plan without it; a change, a damaged entry or another lock compiles again', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const sbs = ['a', 'b', 'c'].map((name) => ({ name, egress: [{ host: 'localhost', port: 9 }] }));
  await e.write(yaml(sbs));
  const a = await e.run('apply', '-f', e.file, '--auto-approve', '--settle', '0');
  assert.equal(a.status, 0, a.stderr);
  const cache = desiredCacheFile(e.state);
  assert.ok(existsSync(cache), 'apply remembers its compile');

  const plans = async () => {
    const text = await e.run('plan', '-f', e.file, '--detailed-exitcode');
    const json = await e.run('plan', '-f', e.file, '--format', 'json');
    return { status: text.status, text: text.stdout + text.stderr, json: noCreatedAt(json.stdout) };
  };
  const cached = await plans();
  assert.equal(cached.status, 0, cached.text);
  assert.match(cached.text, /No changes/);
  rmSync(cache);
  const compiled = await plans();
  assert.deepEqual(cached, compiled, 'the same plan, text and JSON, with and without the cache');
  assert.ok(existsSync(cache), 'plan remembers its compile');

  // A damaged entry (a manifest that no longer matches its digest) is not used.
  const entry = JSON.parse(readFileSync(cache, 'utf8')) as { sandboxes: { manifest: string }[] };
  entry.sandboxes[0]!.manifest = entry.sandboxes[0]!.manifest.replace('"format_version":1', '"format_version":2');
  writeFileSync(cache, JSON.stringify(entry));
  assert.deepEqual(await plans(), compiled);
  assert.doesNotMatch(readFileSync(cache, 'utf8'), /format_version\\":2/, 'and replaced by the compile');

  // A change: compiled again, and the plan says what changes (diff and all), as without a cache.
  await e.write(yaml(sbs.map((s) => (s.name === 'b' ? { ...s, egress: [{ host: 'localhost', port: 10 }] } : s))));
  const changedCached = await plans();
  assert.equal(changedCached.status, 2, changedCached.text);
  assert.match(changedCached.text, /reload:[\s\S]*~ b/);
  rmSync(cache);
  assert.deepEqual(await plans(), changedCached);
  // And run twice over the same changed inputs (the second time from the cache, which a plan with a change does not use).
  assert.deepEqual(await plans(), changedCached);

  // Other lock bytes for the same config: another key, compiled again, the same plan.
  const lock = e.file.replace(/\.yaml$/, '.lock');
  const before = readFileSync(cache, 'utf8');
  writeFileSync(lock, readFileSync(lock, 'utf8').replace(/\n$/, ' \n'));
  assert.deepEqual(await plans(), changedCached);
  assert.notEqual(readFileSync(cache, 'utf8'), before, 'remembered under the new key');
});

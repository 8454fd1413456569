// The redaction module, `secrets:` in the compiler, the host-side resolution and the spec, and a
// saved plan that is redacted yet applies exactly the blueprints that were planned.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSecretName, redactEnv, redactSandboxJson, REDACTED_CHANGED, REDACTED_VALUE } from '../../src/compiler/redact.js';
import type { ResolvedSandbox } from '../../src/compiler/resolve.js';
import { compileSecrets } from '../../src/compiler/sandbox.js';
import { parseSecretRef } from '../../src/compiler/secret-ref.js';
import type { UserError } from '../../src/util/errors.js';
import { buildInitSpec } from '../../src/init-protocol/spec.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { writeArtifacts } from '../../src/pipeline/write-artifacts.js';
import { plan } from '../../src/reconciler/plan.js';
import { redactPlan } from '../../src/reconciler/redact-plan.js';
import { desiredFromPlan, verifySavedPlan } from '../../src/reconciler/reconcile.js';
import { MAX_SECRET_BYTES, resolveSecrets } from '../../src/runtime/secrets.js';
import { StateStore } from '../../src/state/store.js';
import { tempFiles } from '../helpers/tmp.js';
import { desiredOf } from './fixtures.js';

const TOKEN = 'plain-looking-but-named-secret-4711';

const config = (extra = '') => `version: 1
sandboxes:
  a:
    command: [/bin/true]
    filesystem:
      read_only: [/usr]
    env:
      TZ: UTC
      SLACK_BOT_TOKEN: ${TOKEN}
${extra}`;

async function compile(t: Parameters<typeof tempFiles>[0], yaml: string) {
  const dir = tempFiles(t, { 'nemoclaw.yaml': yaml });
  return { dir, out: (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output };
}

test('secret-looking env names; location variants are not secrets', () => {
  for (const n of ['API_KEY', 'OPENAI_API_KEY', 'GITHUB_TOKEN', 'DB_PASSWORD', 'aws_secret_access_key', 'PRIVATE_KEY'])
    assert.ok(isSecretName(n), n);
  for (const n of ['TZ', 'TOKENIZER', 'GITHUB_TOKEN_FILE', 'API_KEY_PATH', 'SECRET_URL', 'HOME']) assert.ok(!isSecretName(n), n);
});

test('redactEnv hides values by name and by credential pattern, and marks changes without revealing either side', () => {
  const gh = 'ghp_' + 'aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5';
  assert.deepEqual(redactEnv({ TZ: 'UTC', API_KEY: 'x1', NOTE: `use ${gh}`, EMPTY_TOKEN: '' }), {
    TZ: 'UTC',
    API_KEY: REDACTED_VALUE,
    NOTE: REDACTED_VALUE,
    EMPTY_TOKEN: '',
  });
  assert.deepEqual(redactEnv({ API_KEY: 'new', TZ: 'UTC' }, { API_KEY: 'old', TZ: 'CET' }), { API_KEY: REDACTED_CHANGED, TZ: 'UTC' });
  assert.deepEqual(redactEnv({ API_KEY: 'same' }, { API_KEY: 'same' }), { API_KEY: REDACTED_VALUE });
  assert.equal(redactSandboxJson(`not json ${gh}`), 'not json [redacted ghp_…]');
  const shown = redactSandboxJson(JSON.stringify({ name: 'a', env: { API_KEY: 'k-123' }, command: ['x', gh] }));
  assert.ok(!shown.includes('k-123') && !shown.includes(gh), shown);
});

test('secret references: env:NAME and absolute file paths only', () => {
  assert.deepEqual(parseSecretRef('env:SLACK_TOKEN'), { kind: 'env', name: 'SLACK_TOKEN' });
  assert.deepEqual(parseSecretRef('file:/run/secrets/db'), { kind: 'file', path: '/run/secrets/db' });
  for (const bad of ['SLACK_TOKEN', 'env:', 'env:1X', 'env:A-B', 'file:relative', 'file:/a/../b', 'file:/', 'file:/a/', 'xoxb-123'])
    assert.equal(parseSecretRef(bad), null, bad);
});

test('compile: sandbox.json carries references only; no secrets, no field (digests of existing configs unchanged)', async (t) => {
  const plain = (await compile(t, config())).out.sandboxes[0]!;
  assert.ok(!('secrets' in plain.artifacts.sandbox));
  const withSecrets = (await compile(t, config('    secrets:\n      Z_TOKEN: file:/run/z\n      A_KEY: env:HOST_A\n'))).out.sandboxes[0]!;
  assert.deepEqual(Object.entries(withSecrets.artifacts.sandbox.secrets!), [
    ['A_KEY', 'env:HOST_A'],
    ['Z_TOKEN', 'file:/run/z'],
  ]);
  // Lint stops these first; the compiler refuses them too (fail closed), never echoing a value.
  await assert.rejects(compile(t, config('    secrets:\n      TZ: env:HOST_TZ\n')), (e: UserError) =>
    e.diagnostics.some((d) => d.rule === 'secret-name-conflict'),
  );
  const resolved = (secrets: Record<string, string>) => ({ env: { TZ: 'UTC' }, secrets }) as unknown as ResolvedSandbox;
  assert.throws(() => compileSecrets('a', resolved({ TZ: 'env:HOST_TZ' })), /TZ is both in env and in secrets/);
  assert.throws(() => compileSecrets('a', resolved({ https_proxy: 'env:P' })), /https_proxy cannot be a secret/);
  assert.throws(
    () => compileSecrets('a', resolved({ X: 'sk-not-a-reference' })),
    (e: Error) => /secret X is not a reference/.test(e.message) && !e.message.includes('sk-not'),
  );
});

test('resolveSecrets: env and file values; every problem named at once, no value ever in the message', (t) => {
  const dir = tempFiles(t, { ok: 'from-file\n', empty: '', big: 'x'.repeat(MAX_SECRET_BYTES + 1) });
  const sb = (secrets: Record<string, string>) =>
    ({ name: 'a', secrets }) as unknown as Parameters<typeof resolveSecrets>[0] & { secrets: Record<string, string> };
  assert.deepEqual(resolveSecrets(sb({ A: 'env:HOST_A', B: `file:${join(dir, 'ok')}` }), { HOST_A: 'from-env' }), {
    A: 'from-env',
    B: 'from-file',
  });
  assert.throws(
    () =>
      resolveSecrets(
        sb({
          A: 'env:HOST_A',
          E: 'env:HOST_E',
          F: `file:${join(dir, 'missing')}`,
          G: `file:${join(dir, 'empty')}`,
          H: `file:${join(dir, 'big')}`,
          I: `file:${dir}`,
        }),
        { HOST_E: '' },
      ),
    (e: Error) => {
      assert.match(e.message, /sandbox "a" cannot start:/);
      assert.match(e.message, /secret A: the environment variable HOST_A is not set/);
      assert.match(e.message, /secret E: the environment variable HOST_E is empty/);
      assert.match(e.message, /secret F: cannot read .*missing \(ENOENT\)/);
      assert.match(e.message, /secret G: .*empty is empty/);
      assert.match(e.message, /secret H: cannot read .*big \(EFBIG\)/);
      assert.match(e.message, /secret I: cannot read .* \(ENOTFILE\)/);
      assert.ok(!e.message.includes('xxxx'));
      return true;
    },
  );
});

test('the spec carries resolved secrets as env lines, and refuses one that would replace a variable', () => {
  const sandbox = {
    format_version: 1,
    name: 'a',
    runtime: 'process',
    image: null,
    command: ['/bin/true'],
    workdir: '/sandbox',
    user: { uid: 1000, gid: 1000 },
    env: { TZ: 'UTC' },
    secrets: { DB_PASSWORD: 'file:/x' },
    mounts: [],
    limits: { pids: 8, memory_bytes: 1 << 20, nofile: 64, disk_bytes: 1 << 30, disk_enforcement: 'hard_requirement' },
    network: { mode: 'gateway', proxy_port: 3128 },
    inference: null,
    protect: false,
  } as const;
  const landlock = {
    format_version: 1,
    compatibility: 'hard_requirement',
    abi_floor: 1,
    handled_access_fs: [],
    handled_access_net: [],
    scoped: [],
    path_rules: [],
    net_rules: [],
  } as const;
  const base = {
    sandbox: { ...sandbox, command: [...sandbox.command] },
    landlock: { ...landlock },
    rootDir: '/r',
    rwDirs: {},
    gatewaySocket: null,
    cgroups: {},
  };
  const spec = buildInitSpec({ ...base, secrets: { DB_PASSWORD: 'p w%d' } } as unknown as Parameters<typeof buildInitSpec>[0]);
  assert.ok(spec.includes('\nenv DB_PASSWORD=p%20w%25d\n'), spec);
  assert.throws(
    () => buildInitSpec({ ...base, secrets: { HTTPS_PROXY: 'x' } } as unknown as Parameters<typeof buildInitSpec>[0]),
    /secret HTTPS_PROXY would replace/,
  );
});

test('a redacted plan hides env secrets everywhere, yet applies exactly: bytes come back from a fresh compile or the store', async (t) => {
  const { dir, out } = await compile(t, config());
  const sb = out.sandboxes[0]!;
  const p = plan({
    desired: desiredOf([sb]),
    inventory: { format_version: 1, sandboxes: {} },
    observed: { gateway: { running: false, pid: null, test_hooks: [] }, sandboxes: {}, unknown: [] },
    current: {},
    now: 'now',
  });
  const saved = JSON.parse(JSON.stringify(redactPlan(p))) as typeof p;
  assert.ok(!JSON.stringify(saved).includes(TOKEN));
  assert.ok(JSON.stringify(p).includes(TOKEN), 'the plan in memory is not changed');

  verifySavedPlan(saved); // what can be checked before compiling passes on a redacted plan...
  const tampered = structuredClone(saved);
  tampered.blueprints.a!['landlock.json'] = tampered.blueprints.a!['landlock.json'].replace('"hard_requirement"', '"best_effort"');
  assert.throws(() => verifySavedPlan(tampered), /landlock\.json of a does not match its manifest digest/); // ...and refuses an edit

  const fromFresh = desiredFromPlan(saved, undefined, desiredOf([sb]));
  assert.equal(fromFresh.sandboxes[0]!.files['sandbox.json'], sb.files['sandbox.json']);

  const store = new StateStore(join(dir, 'state'));
  assert.throws(() => desiredFromPlan(saved, store, null), /redacted, and neither the config nor the state directory has its exact bytes/);
  store.storeBlueprint(sb);
  assert.equal(desiredFromPlan(saved, store, null).sandboxes[0]!.files['sandbox.json'], sb.files['sandbox.json']);

  // Bytes that do not match the plan's digest are never taken.
  const other = (await compile(t, config().replace(TOKEN, 'another-value-1234'))).out.sandboxes[0]!;
  assert.throws(() => desiredFromPlan(saved, undefined, desiredOf([{ ...other, digest: sb.digest }])), /redacted/);
});

test('compile --out writes private artifacts, and makes private what an older version left world-readable', async (t) => {
  const { dir, out } = await compile(t, config());
  const dest = join(dir, 'out');
  mkdirSync(join(dest, 'a'), { recursive: true, mode: 0o755 });
  chmodSync(join(dest, 'a'), 0o755);
  writeFileSync(join(dest, 'a', 'sandbox.json'), out.sandboxes[0]!.files['sandbox.json'], { mode: 0o644 });
  chmodSync(join(dest, 'a', 'sandbox.json'), 0o644);
  writeArtifacts(out, dest);
  assert.equal(statSync(join(dest, 'a')).mode & 0o777, 0o700);
  for (const f of readdirSync(join(dest, 'a'))) assert.equal(statSync(join(dest, 'a', f)).mode & 0o777, 0o600, f);
  const fresh = join(dir, 'fresh');
  writeArtifacts(out, fresh);
  assert.equal(statSync(fresh).mode & 0o777, 0o700, 'an output directory compile creates is private');
});

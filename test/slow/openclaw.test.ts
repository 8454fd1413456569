// THE end-to-end test (issue 11): the OpenClaw image built without a registry, the
// openclaw-assistant example applied in both runtimes, OpenClaw's gateway up inside the sandbox
// and published on the host, a prompt answered by a fake HTTPS provider through the inference
// router with the real key that only the gateway ever held, and the agent's confinement as
// `nemoclaw connect` sees it (same namespaces, uid, Landlock and seccomp as the agent).
// Slow (minutes on a cold cache): test/slow has a 30-minute timeout in scripts/test.mjs. The
// image build cache is NEMOCLAW_CACHE_DIR, else ~/.cache/nemoclaw, kept between runs.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { dockerReachable } from '../helpers/busybox-image.js';
import { repoRoot, runCliAsync, type AsyncCliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { aptAvailable } from '../images/helpers.js';
import { fakeProvider, makeCa, type FakeProvider, type TestCa } from '../router/fixtures.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';

const KEY = 'nvapi-e2e-openclaw-5f0c9a7d3e21';
const REAL_MODEL = 'nvidia/nemotron-3-super-120b-a12b';
const example = join(repoRoot, 'examples', 'openclaw-assistant');
const cacheDir = process.env.NEMOCLAW_CACHE_DIR ?? join(homedir(), '.cache', 'nemoclaw');

/** Everything the CLI printed in this test, scanned for the key at the end. */
const printed: string[] = [];
async function cli(args: string[], stateDir: string, env: Record<string, string> = {}): Promise<AsyncCliResult> {
  const r = await runCliAsync(args, { env: { NEMOCLAW_STATE_DIR: stateDir, NEMOCLAW_CACHE_DIR: cacheDir, ...env } });
  printed.push(r.stdout, r.stderr);
  return r;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Any HTTP answer from 127.0.0.1:PORT (the Control UI through nemoclaw's relay), or null. */
function httpStatus(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The example, copied, with its provider pointed at the fake and its Control UI on `port`. */
function exampleCopy(dir: string, runtime: 'process' | 'docker', fake: FakeProvider, ca: TestCa, port: number): string {
  const out = join(dir, 'example');
  mkdirSync(out, { recursive: true });
  cpSync(join(example, 'nemoclaw.lock'), join(out, 'nemoclaw.lock'));
  const yaml = readFileSync(join(example, 'nemoclaw.yaml'), 'utf8');
  const edited = yaml
    .replace(/^    runtime: process$/m, `    runtime: ${runtime}\n    ports: [{ host: "127.0.0.1:${port}", sandbox: 18789 }]`)
    .replace(/^      endpoint: .*$/m, `      endpoint: "${fake.url}"\n      ca_file: ${ca.caFile}`);
  assert.notEqual(edited, yaml);
  assert.match(edited, new RegExp(`runtime: ${runtime}`));
  assert.match(edited, /ca_file:/);
  writeFileSync(join(out, 'nemoclaw.yaml'), edited);
  return join(out, 'nemoclaw.yaml');
}

/** The gateway daemon, with the provider key in ITS environment only. */
async function startGateway(t: TestContext, state: string): Promise<void> {
  t.after(async () => {
    await cli(['destroy', '--all', '--auto-approve', '--state-dir', state], state);
    await cli(['gateway', 'stop', '--state-dir', state], state);
  });
  // Under load the daemon may take longer than `--detach` waits: what counts is that it is ready.
  await cli(['gateway', '--detach', '--state-dir', state], state, { NVIDIA_API_KEY: KEY });
  await waitFor('the gateway is ready', 120_000, async () => {
    try {
      return /gateway: ready/.test(readFileSync(join(state, 'gateway', 'gateway.log'), 'utf8')) ? true : null;
    } catch {
      return null;
    }
  });
}

/** Every file under DIR (but the unpacked image roots: content-addressed, built before any key existed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && p !== join(dir, 'images')) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Everything the agent can read of its own: /sandbox, /tmp, every process's environment and argv. */
const SANDBOX_VIEW = `
const fs = require('fs');
const out = [JSON.stringify(process.env)];
const walk = (d) => {
  let es;
  try { es = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
  for (const e of es) {
    const p = d + '/' + e.name;
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) try { if (fs.statSync(p).size < 16e6) out.push(fs.readFileSync(p, 'latin1')); } catch {}
  }
};
walk('/sandbox');
walk('/tmp');
for (const p of fs.readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)))
  for (const f of ['environ', 'cmdline']) try { out.push(fs.readFileSync('/proc/' + p + '/' + f, 'latin1')); } catch {}
process.stdout.write(out.join('\\n'));
`;

/** A request through the sandbox's proxy to a host no rule allows. */
const DENIED_REQUEST = `
const http = require('http');
const u = new URL(process.env.HTTP_PROXY || process.env.http_proxy || 'http://127.0.0.1:3128');
http.get({ host: u.hostname, port: u.port, path: 'http://blocked.example.com/', headers: { host: 'blocked.example.com' } }, (r) => {
  console.log('status ' + r.statusCode);
  r.resume();
}).on('error', (e) => console.log('error ' + e.message));
`;

async function scenario(t: TestContext, runtime: 'process' | 'docker', dir: string, state: string, fake: FakeProvider, ca: TestCa) {
  const port = await freePort();
  const file = exampleCopy(dir, runtime, fake, ca, port);
  if (runtime === 'docker') {
    // The committed lock pins the manifest digest (process runtime); docker finds the loaded image
    // by its config digest: --update-lock pins what `image build --load` gave the engine.
    const lockPath = join(dir, 'example', 'nemoclaw.lock');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { images: Record<string, string> };
    lock.images = {};
    writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
    const c = await cli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')], state);
    assert.equal(c.status, 0, c.stderr);
  }
  await startGateway(t, state);

  const started = Date.now();
  const apply = await cli(['apply', '-f', file, '--auto-approve', '--state-dir', state], state);
  assert.equal(apply.status, 0, apply.stdout + apply.stderr);
  const applied = Date.now() - started;

  // OpenClaw's gateway inside the sandbox, through nemoclaw's relay on the host's loopback.
  const status = await waitFor('OpenClaw answers on the published port', 600_000, () => httpStatus(port));
  assert.ok(status >= 200 && status < 500, `Control UI answered ${status}`);
  const listening = Date.now() - started;

  const infer = await cli(
    [
      'connect',
      'assistant',
      '--state-dir',
      state,
      '--',
      'openclaw',
      'infer',
      'model',
      'run',
      '--prompt',
      'hi',
      '--json',
      '--model',
      'nemoclaw/default',
    ],
    state,
  );
  const answered = Date.now() - started;
  assert.equal(infer.status, 0, infer.stdout + infer.stderr);
  const result = JSON.parse(infer.stdout.slice(infer.stdout.indexOf('{'))) as { ok: boolean; outputs: { text: string }[] };
  assert.equal(result.ok, true);
  assert.equal(result.outputs[0]?.text.trim(), 'w0 w1 w2', "the fake provider's streamed answer");

  // The provider saw the real key and the real model the alias maps to.
  const calls = fake.seen.filter((s) => s.url === '/v1/chat/completions');
  assert.ok(calls.length >= 1);
  for (const c of calls) {
    assert.equal(c.headers.authorization, `Bearer ${KEY}`);
    assert.equal((JSON.parse(c.body) as { model: string }).model, REAL_MODEL);
  }

  // Confinement, as the agent has it.
  const shadow = await cli(['connect', 'assistant', '--state-dir', state, '--', 'cat', '/etc/shadow'], state);
  assert.notEqual(shadow.status, 0, 'cat /etc/shadow must fail');
  assert.doesNotMatch(shadow.stdout, /root:/);
  const uid = await cli(['connect', 'assistant', '--state-dir', state, '--', 'id', '-u'], state);
  assert.equal(uid.status, 0, uid.stderr);
  assert.equal(uid.stdout.trim(), '1000');
  const proc = await cli(['connect', 'assistant', '--state-dir', state, '--', 'cat', '/proc/self/status'], state);
  assert.equal(proc.status, 0, proc.stderr);
  assert.match(proc.stdout, /^CapEff:\s+0000000000000000$/m);
  assert.match(proc.stdout, /^NoNewPrivs:\s+1$/m);
  assert.match(proc.stdout, /^Seccomp:\s+2$/m);
  const tmp = await cli(['connect', 'assistant', '--state-dir', state, '--', 'stat', '-c', '%a', '/tmp'], state);
  assert.equal(tmp.stdout.trim(), '1777', '/tmp is sticky and world-writable, as OpenClaw requires');
  const denied = await cli(['connect', 'assistant', '--state-dir', state, '--', 'node', '-e', DENIED_REQUEST], state);
  assert.match(denied.stdout, /^status 403$/m, denied.stdout + denied.stderr);

  // The key is nowhere the agent can look, nor anywhere nemoclaw wrote or printed.
  const view = await cli(['connect', 'assistant', '--state-dir', state, '--', 'node', '-e', SANDBOX_VIEW], state);
  assert.equal(view.status, 0, view.stderr);
  assert.match(view.stdout, /OPENCLAW_STATE_DIR=\/sandbox\/\.openclaw/, "the scan read the processes' environments");
  assert.match(view.stdout, /nemoclaw-routed/, 'the agent holds only the placeholder');
  assert.ok(!view.stdout.includes(KEY), 'the key is inside the sandbox');
  const texts: [string, string][] = [['CLI output', printed.join('\n')]];
  for (const f of filesUnder(state)) if (statSync(f).size < 64 * 2 ** 20) texts.push([f, readFileSync(f, 'latin1')]);
  assert.ok(
    texts.some(([f]) => f.endsWith('audit.jsonl')),
    'the audit log was scanned',
  );
  for (const [where, text] of texts) assert.ok(!text.includes(KEY), `the key found in ${where}`);

  console.log(
    `openclaw e2e [${runtime}]: apply ${seconds(applied)}, OpenClaw listening ${seconds(listening)}, first answer ${seconds(answered)} after apply started`,
  );
}

test('OpenClaw end to end: registry-free image, the openclaw-assistant example in both runtimes, routed inference, confinement', async (t) => {
  if (!requireCapability(t, process.getuid?.() === 0, 'needs root (the embedded runtime with host id ranges, docker load)')) return;
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  if (!(await requireProcessRuntime(t))) return;
  mkdirSync(cacheDir, { recursive: true });
  const dir = tempDir(t, 'nemoclaw-openclaw-e2e-');
  const ca = makeCa(dir);
  const fake = await fakeProvider(ca, { api: 'openai' });
  t.after(() => fake.close());

  // The image, as CI builds it: the digest the committed lock pins (same inputs, same digest).
  const lock = JSON.parse(readFileSync(join(example, 'nemoclaw.lock'), 'utf8')) as { images: Record<string, string> };
  const pinned = lock.images['nemoclaw/openclaw:2026.9.6'];
  const processState = join(dir, 'process-state');
  let started = Date.now();
  const build = await cli(['image', 'build', join(repoRoot, 'images', 'openclaw'), '--json', '--state-dir', processState], processState);
  assert.equal(build.status, 0, build.stderr);
  const first = Date.now() - started;
  const built = JSON.parse(build.stdout) as { digest: string; size: number; layers: { cached: boolean }[] };
  assert.equal(built.digest, pinned, 'the committed lock pins the image this build produced');
  const cached = built.layers.filter((l) => l.cached).length;
  console.log(
    `openclaw e2e: image ${built.digest.slice(0, 19)}… ${(built.size / 2 ** 20).toFixed(0)} MiB, build ${seconds(first)} (${cached}/${built.layers.length} layers from the cache ${cacheDir})`,
  );

  await t.test('process runtime (image root, no Docker)', async (t) => {
    await scenario(t, 'process', join(dir, 'process'), processState, fake, ca);
  });

  await t.test('docker runtime (image build --load)', async (t) => {
    const d = dockerReachable();
    if (!requireCapability(t, d.ok, d.reason)) return;
    fake.seen.length = 0;
    const dockerState = join(dir, 'docker-state');
    started = Date.now();
    const load = await cli(
      ['image', 'build', join(repoRoot, 'images', 'openclaw'), '--load', '--json', '--state-dir', dockerState],
      dockerState,
    );
    assert.equal(load.status, 0, load.stderr);
    assert.equal((JSON.parse(load.stdout) as { digest: string }).digest, pinned);
    console.log(`openclaw e2e: warm build + docker load ${seconds(Date.now() - started)}`);
    await scenario(t, 'docker', join(dir, 'docker'), dockerState, fake, ca);
  });
});

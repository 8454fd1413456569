// Issue "inference router", done means: the official openai and @anthropic-ai/sdk clients run
// INSIDE an embedded sandbox with only the environment nemoclaw gives them, and complete a chat,
// a streamed chat, an embeddings call and an Anthropic message through the real daemon's router.
// The fake providers saw the real keys; nothing the sandbox can read, nothing nemoclaw wrote
// (artifacts, state directory, audit log, logs, CLI output) ever held them.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { spawn } from 'node:child_process';
import { nemoclawBin, repoRoot, runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { fakeProvider, makeCa } from './fixtures.js';

const OPENAI_KEY = 'sk-e2e-openai-4c1d2b8e9f';
const ANTHROPIC_KEY = 'sk-ant-e2e-77aa01bb';

/** Runs inside the sandbox: CommonJS, the SDKs by absolute path, no configuration but the env. */
const AGENT = (modules: string) => `
const OpenAI = require(${JSON.stringify(join(modules, 'openai'))}).default;
const Anthropic = require(${JSON.stringify(join(modules, '@anthropic-ai/sdk'))}).default;
const fs = require('node:fs');
(async () => {
  const out = {};
  const oa = new OpenAI({ maxRetries: 0 });
  const chat = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  out.chat = chat.choices[0].message.content;
  const stream = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
  out.stream = '';
  for await (const c of stream) out.stream += (c.choices[0] && c.choices[0].delta.content) || '';
  const emb = await oa.embeddings.create({ model: 'embedder', input: 'hello' });
  out.embedding = emb.data[0].embedding;
  const an = new Anthropic({ maxRetries: 0 });
  const msg = await an.messages.create({ model: 'claude-real', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
  out.anthropic = msg.content[0].text;
  try {
    await oa.chat.completions.create({ model: 'not-allowed', messages: [] });
    out.denied = 'no';
  } catch (e) {
    const h = e.headers || {};
    out.denied = e.status + ' ' + (typeof h.get === 'function' ? h.get('x-nemoclaw-deny') : h['x-nemoclaw-deny']);
  }
  // Everything the agent can see of itself: its environment and every process's in its pid namespace.
  const seen = [JSON.stringify(process.env)];
  for (const p of fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n))) {
    for (const f of ['environ', 'cmdline']) {
      try { seen.push(fs.readFileSync('/proc/' + p + '/' + f, 'latin1')); } catch {}
    }
  }
  out.seen = seen.join('\\n');
  console.log(JSON.stringify(out));
})().catch((e) => { console.error('agent failed:', e && e.stack || e); process.exit(1); });
`;

/** runCli without blocking this process: the fake providers answer from its event loop. */
function runCliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [nemoclawBin, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

test(
  'openai and anthropic SDKs inside an embedded sandbox reach fake providers through the router; no key inside or on disk',
  { timeout: 180_000 },
  async (t) => {
    if (!requireCapability(t, process.getuid?.() === 0, 'needs root for the embedded runtime in this test')) return;
    if (!(await requireProcessRuntime(t))) return;
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const ca = makeCa(dir);
    const openai = await fakeProvider(ca, { api: 'openai' });
    const anthropic = await fakeProvider(ca, { api: 'anthropic' });
    t.after(() => Promise.all([openai.close(), anthropic.close()]));
    const keyFile = join(dir, 'keys', 'anthropic');
    mkdirSync(dirname(keyFile), { mode: 0o700 });
    writeFileSync(keyFile, ANTHROPIC_KEY + '\n', { mode: 0o600 });

    const modules = realpathSync(join(repoRoot, 'node_modules'));
    const app = join(dir, 'app');
    mkdirSync(app, { mode: 0o755 });
    writeFileSync(join(app, 'agent.cjs'), AGENT(modules), { mode: 0o644 });
    const state = join(dir, 'state');
    const out = join(dir, 'out');
    const file = join(dir, 'nemoclaw.yaml');
    writeFileSync(
      file,
      `version: 1
sandboxes:
  agent:
    runtime: process
    command: [/usr/bin/node, ${join(app, 'agent.cjs')}]
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64, /etc/ssl, ${modules}, ${app}]
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 1024, memory: 1GiB }
    env: { HOME: /sandbox, PATH: /usr/bin:/bin }
    inference:
      provider: cloud
      providers: [claude]
      models:
        gpt-4o-mini: { provider: cloud, model: real-model }
        embedder: { provider: cloud, model: real-embedder }
inference:
  providers:
    cloud: { api: openai, endpoint: "${openai.url}", model: real-model, credential: env:E2E_OPENAI_KEY, ca_file: ${ca.caFile} }
    claude: { api: anthropic, endpoint: "${anthropic.url}", model: claude-real, credential: "file:${keyFile}", ca_file: ${ca.caFile} }
`,
    );

    const gw = runCli(['gateway', '--detach', '--state-dir', state], { env: { E2E_OPENAI_KEY: OPENAI_KEY } });
    assert.equal(gw.status, 0, gw.stderr);
    t.after(() => {
      runCli(['gateway', 'stop', '--state-dir', state]);
    });
    const compiled = runCli(['compile', '-f', file, '--update-lock', '--out', out]);
    assert.equal(compiled.status, 0, compiled.stderr);
    const explain = runCli(['explain', 'agent', '-f', file]);
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /the router adds the credential/);

    const run = await runCliAsync(['run', 'agent', '-f', file, '--state-dir', state]);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(result.chat, 'hello from openai');
    assert.equal(result.stream, 'w0 w1 w2 ');
    assert.deepEqual(result.embedding, [0.5, 0.25, 0.125]);
    assert.equal(result.anthropic, 'hello from anthropic');
    assert.equal(result.denied, '403 model_not_allowed');

    // The providers saw the real keys, and only them.
    assert.equal(openai.seen.length, 3);
    for (const r of openai.seen) assert.equal(r.headers.authorization, `Bearer ${OPENAI_KEY}`);
    assert.deepEqual(
      openai.seen.map((r) => (JSON.parse(r.body) as { model: string }).model),
      ['real-model', 'real-model', 'real-embedder'],
    );
    assert.equal(anthropic.seen.length, 1);
    assert.equal(anthropic.seen[0]!.headers['x-api-key'], ANTHROPIC_KEY);

    // The agent saw only the placeholder.
    const seen = String(result.seen);
    assert.match(seen, /OPENAI_API_KEY":"nemoclaw-routed"/);
    assert.match(seen, /OPENAI_BASE_URL":"http:\/\/127\.0\.0\.1:3128\/v1"/);

    const usage = runCli(['inference', 'usage', '--json', '--state-dir', state]);
    assert.equal(usage.status, 0, usage.stderr);
    const rows = (
      JSON.parse(usage.stdout) as { usage: { sandbox: string; provider: string; requests: number; refused: number; tokens_in: number }[] }
    ).usage;
    const cloud = rows.filter((r) => r.provider === 'cloud');
    assert.equal(
      cloud.reduce((n, r) => n + r.requests, 0),
      3,
    );
    assert.ok(cloud.reduce((n, r) => n + r.tokens_in, 0) > 0);
    assert.equal(rows.find((r) => r.provider === '-')?.refused, 1);

    // No key anywhere nemoclaw wrote or printed, nor anywhere the agent could look.
    const stop = runCli(['gateway', 'stop', '--state-dir', state]);
    const texts: [string, string][] = [
      ['agent view', seen],
      ['run output', run.stdout + run.stderr],
      ['gateway output', gw.stdout + gw.stderr + stop.stdout + stop.stderr],
      ['compile output', compiled.stdout + compiled.stderr],
      ['explain output', explain.stdout],
      ['usage output', usage.stdout + usage.stderr],
    ];
    for (const f of [...filesUnder(state), ...filesUnder(out)]) {
      if (statSync(f).size < 64 * 2 ** 20) texts.push([f, readFileSync(f, 'latin1')]);
    }
    assert.ok(
      texts.some(([f]) => f.endsWith('audit.jsonl')),
      'the audit log was scanned',
    );
    for (const [where, text] of texts) {
      for (const key of [OPENAI_KEY, ANTHROPIC_KEY]) assert.ok(!text.includes(key), `${key} found in ${where}`);
    }
  },
);

// The inference router inside a real gateway (no test hooks: the SSRF switch stays off), driven by
// the official openai and @anthropic-ai/sdk clients and by raw HTTP, against fake providers over
// real HTTPS on loopback with a CA this test makes. Policies come from the real compiler.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { readAudit } from '../../src/audit/log.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createRouter } from '../../src/router/router.js';
import { asInferenceRecord } from '../../src/router/audit-record.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeProvider, makeCa, type FakeProvider } from './fixtures.js';

const OPENAI_KEY = 'sk-real-openai-7f3a9c';
const AGENT_KEY = 'sk-agent-own-key-0001';

interface Setup {
  dir: string;
  gw: Gateway;
  port: Record<string, number>;
  openai: FakeProvider;
  anthropic: FakeProvider;
  local: FakeProvider;
  down: FakeProvider;
  slow: FakeProvider;
  keyFile: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = tempDir(t);
  const ca = makeCa(dir);
  const openai = await fakeProvider(ca, { api: 'openai' });
  const anthropic = await fakeProvider(ca, { api: 'anthropic' });
  const local = await fakeProvider(ca, { api: 'openai' });
  const down = await fakeProvider(ca, { api: 'openai', failWith: 503 });
  const slow = await fakeProvider(ca, { api: 'openai', chunks: 10_000, chunkDelayMs: 20 });
  t.after(() => Promise.all([openai, anthropic, local, down, slow].map((f) => f.close())));
  const keyFile = join(dir, 'anthropic.key');
  writeFileSync(keyFile, 'sk-ant-file-key-1\n', { mode: 0o600 });
  const provider = (name: string, f: FakeProvider, api: string, model: string, credential: string, local: boolean) =>
    `    ${name}: { api: ${api}, endpoint: "${f.url}", model: ${model}, credential: "${credential}", ca_file: "${ca.caFile}", local: ${local} }\n`;
  const sandbox = (name: string, inference: string) => `  ${name}:
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
    inference: ${inference}
`;
  const yaml =
    'version: 1\nsandboxes:\n' +
    sandbox(
      'agent',
      '{ provider: cloud, providers: [claude], models: { gpt-4o-mini: { provider: cloud, model: real-model }, sonnet: { provider: claude, model: claude-real } } }',
    ) +
    sandbox('fb', '{ provider: down, providers: [cloud], fallback: [cloud] }') +
    sandbox('private', '{ provider: local, providers: [cloud], local_only: true }') +
    sandbox('budget', '{ provider: cloud, limits: { tokens_per_day: 10 } }') +
    sandbox('slow', '{ provider: slow }') +
    sandbox('rate', '{ provider: cloud, limits: { requests_per_minute: 2 } }') +
    'inference:\n  providers:\n' +
    provider('cloud', openai, 'openai', 'real-model', 'env:FAKE_OPENAI_KEY', false) +
    provider('claude', anthropic, 'anthropic', 'claude-real', `file:${keyFile}`, false) +
    provider('local', local, 'openai', 'llama-local', 'env:FAKE_OPENAI_KEY', true) +
    provider('down', down, 'openai', 'down-model', 'env:FAKE_OPENAI_KEY', false) +
    provider('slow', slow, 'openai', 'slow-model', 'env:FAKE_OPENAI_KEY', false);
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(file, yaml);
  const compiled = await loadCompile(file, 'update');

  // eslint-disable-next-line prefer-const -- the router's audit sink needs the gateway made after it
  let gw: Gateway;
  const router = createRouter({ audit: (r) => gw.audit(r), env: { FAKE_OPENAI_KEY: OPENAI_KEY } });
  gw = new Gateway({ stateDir: join(dir, 'state'), inference: router });
  await gw.start();
  t.after(async () => {
    await gw.stop();
    router.close();
  });
  const port: Record<string, number> = {};
  for (const s of compiled.output.sandboxes) {
    await gw.applyPolicy(Buffer.from(s.files['egress.json']));
    port[s.name] = await gw.listenTcp(s.name, '127.0.0.1', 0);
  }
  return { dir, gw, port, openai, anthropic, local, down, slow, keyFile };
}

function post(
  port: number,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

function records(s: Setup) {
  s.gw.flushAudit();
  return readAudit(s.gw.layout.gatewayDir)
    .map(asInferenceRecord)
    .filter((r) => r !== undefined);
}

const waitFor = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
};

test('inference router: SDKs, credentials, policy, fallback, limits, rotation, disconnect', { timeout: 60_000 }, async (t) => {
  const s = await setup(t);
  const oa = new OpenAI({ baseURL: `http://127.0.0.1:${s.port.agent}/v1`, apiKey: AGENT_KEY, maxRetries: 0 });

  await t.test('chat, streamed chat and embeddings through the openai SDK; the provider sees only the real key', async () => {
    const chat = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.choices[0]!.message.content, 'hello from openai');
    const stream = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, 'w0 w1 w2 ');
    const emb = await oa.embeddings.create({ model: 'real-model', input: 'hello' });
    assert.deepEqual(emb.data[0]!.embedding, [0.5, 0.25, 0.125]);

    assert.equal(s.openai.seen.length, 3);
    for (const r of s.openai.seen) {
      assert.equal(r.headers.authorization, `Bearer ${OPENAI_KEY}`);
      assert.ok(!JSON.stringify(r).includes(AGENT_KEY), 'the agent key never reaches the provider');
      assert.equal(JSON.parse(r.body).model, 'real-model', 'the alias was mapped to the real model');
    }
    assert.equal(s.openai.seen[0]!.url, '/v1/chat/completions');
    assert.equal(s.openai.seen[2]!.url, '/v1/embeddings');
    assert.deepEqual(JSON.parse(s.openai.seen[1]!.body).stream_options, { include_usage: true });

    const recs = records(s).filter((r) => r.sandbox === 'agent');
    assert.equal(recs.length, 3);
    assert.deepEqual(
      recs.map((r) => [
        r.http.path,
        r.http.status,
        r.inference.provider,
        r.inference.model_requested,
        r.inference.model,
        r.inference.stream,
      ]),
      [
        ['/v1/chat/completions', 200, 'cloud', 'gpt-4o-mini', 'real-model', false],
        ['/v1/chat/completions', 200, 'cloud', 'gpt-4o-mini', 'real-model', true],
        ['/v1/embeddings', 200, 'cloud', 'real-model', 'real-model', false],
      ],
    );
    assert.deepEqual([recs[1]!.inference.tokens_in, recs[1]!.inference.tokens_out], [9, 3], 'usage from the final stream chunk');
    assert.ok(recs[1]!.inference.ttft_ms !== null);
    assert.deepEqual([recs[2]!.inference.tokens_in, recs[2]!.inference.tokens_out], [4, 0]);
  });

  await t.test('the anthropic SDK, plain and streamed; x-api-key from file:, rotated without a restart', async () => {
    const an = new Anthropic({ baseURL: `http://127.0.0.1:${s.port.agent}`, apiKey: AGENT_KEY, maxRetries: 0 });
    const msg = await an.messages.create({ model: 'sonnet', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(msg.content, [{ type: 'text', text: 'hello from anthropic' }]);
    let text = '';
    const stream = await an.messages.create({
      model: 'claude-real',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    assert.equal(text, 'w0 w1 w2 ');
    writeFileSync(s.keyFile, 'sk-ant-file-key-2\n');
    await an.messages.create({ model: 'sonnet', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    const keys = s.anthropic.seen.map((r) => r.headers['x-api-key']);
    assert.deepEqual(keys, ['sk-ant-file-key-1', 'sk-ant-file-key-1', 'sk-ant-file-key-2']);
    for (const r of s.anthropic.seen) {
      assert.equal(r.url, '/v1/messages');
      assert.equal(r.headers.authorization, undefined);
      assert.ok(r.headers['anthropic-version']);
      assert.equal(JSON.parse(r.body).model, 'claude-real');
    }
    const streamed = records(s).filter((r) => r.sandbox === 'agent' && r.inference.api === 'anthropic' && r.inference.stream);
    assert.deepEqual([streamed[0]!.inference.tokens_in, streamed[0]!.inference.tokens_out], [7, 3]);
  });

  await t.test('the agent’s own credentials and cookies are stripped; the provider’s cookies do not come back', async () => {
    const before = s.openai.seen.length;
    const r = await post(
      s.port.agent!,
      '/v1/chat/completions',
      { model: 'real-model', messages: [] },
      {
        authorization: `Bearer ${AGENT_KEY}`,
        'x-api-key': AGENT_KEY,
        'api-key': AGENT_KEY,
        cookie: `session=${AGENT_KEY}`,
      },
    );
    assert.equal(r.status, 200);
    assert.equal(r.headers['set-cookie'], undefined);
    const seen = s.openai.seen[before]!;
    assert.equal(seen.headers.authorization, `Bearer ${OPENAI_KEY}`);
    for (const h of ['x-api-key', 'api-key', 'cookie']) assert.equal(seen.headers[h], undefined, h);
  });

  await t.test('a model the policy does not allow: 403 model_not_allowed in the egress denial style', async () => {
    const before = s.openai.seen.length;
    const r = await post(s.port.agent!, '/v1/chat/completions', { model: 'gpt-5-secret', messages: [] });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-nemoclaw-deny'], 'model_not_allowed');
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(body.error, 'inference_denied');
    assert.equal(body.reason, 'model_not_allowed');
    assert.equal(body.sandbox, 'agent');
    assert.deepEqual(body.allowed_models, ['gpt-4o-mini', 'real-model']);
    assert.ok(Array.isArray(body.next_steps) && (body.next_steps as string[]).length > 0);
    assert.match(String(body.policy_version), /^sha256:/);
    assert.equal(s.openai.seen.length, before, 'nothing reached the provider');
    // The models list is the policy's, not the provider's.
    const models = await oa.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['gpt-4o-mini', 'real-model'],
    );
  });

  await t.test('local_only refuses a cloud provider and serves a local one', async () => {
    const before = s.openai.seen.length;
    const r = await post(s.port.private!, '/v1/chat/completions', { model: 'real-model', messages: [] });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).reason, 'provider_not_local');
    assert.equal(s.openai.seen.length, before);
    const ok = await post(s.port.private!, '/v1/chat/completions', { model: 'llama-local', messages: [] });
    assert.equal(ok.status, 200);
    assert.equal(s.local.seen.length, 1);
  });

  await t.test('fallback after a 503 before the first byte', async () => {
    const before = s.openai.seen.length;
    const r = await post(s.port.fb!, '/v1/chat/completions', { messages: [] });
    assert.equal(r.status, 200, r.body);
    assert.equal(s.down.seen.length, 1);
    assert.equal(s.openai.seen.length, before + 1);
    assert.equal(JSON.parse(s.openai.seen[before]!.body).model, 'real-model', 'the fallback provider gets its own model');
    const rec = records(s)
      .filter((x) => x.sandbox === 'fb')
      .pop()!;
    assert.deepEqual(rec.inference.fallback, ['down']);
    assert.equal(rec.inference.provider, 'cloud');
  });

  await t.test('token budget exhausted: 429 in the same style', async () => {
    const first = await post(s.port.budget!, '/v1/chat/completions', { messages: [] });
    assert.equal(first.status, 200); // 12 tokens: over the budget of 10 from now on
    const second = await post(s.port.budget!, '/v1/chat/completions', { messages: [] });
    assert.equal(second.status, 429);
    assert.equal(JSON.parse(second.body).reason, 'budget_exhausted');
    assert.ok(Number(second.headers['retry-after']) > 0);
  });

  await t.test('request rate over the limit: 429 rate_limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(s.port.rate!, '/v1/chat/completions', { messages: [] })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const rec = records(s)
      .filter((r) => r.sandbox === 'rate')
      .pop()!;
    assert.equal(rec.reason, 'rate_limited');
    assert.equal(rec.action, 'denied');
  });

  await t.test('model calls through the proxy as http://inference.local and CONNECT inference.local:80', async () => {
    const before = s.openai.seen.length;
    const body = JSON.stringify({ model: 'real-model', messages: [] });
    const abs = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: s.port.agent,
          path: 'http://inference.local/v1/chat/completions',
          method: 'POST',
          headers: { host: 'inference.local' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(abs, 200);
    const tunnelled = await new Promise<string>((resolve, reject) => {
      const sock = connect(s.port.agent!, '127.0.0.1');
      let buf = '';
      sock.on('data', (c) => {
        buf += c.toString();
        if (buf.includes('hello from openai')) {
          sock.destroy();
          resolve(buf);
        }
      });
      sock.on('error', reject);
      sock.write('CONNECT inference.local:80 HTTP/1.1\r\nHost: inference.local:80\r\n\r\n');
      sock.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: inference.local\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    assert.match(tunnelled, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200/);
    assert.equal(s.openai.seen.length, before + 2);
  });

  await t.test('a client disconnect mid-stream aborts the upstream request', async () => {
    const oslow = new OpenAI({ baseURL: `http://127.0.0.1:${s.port.slow}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await oslow.chat.completions.create({ model: 'slow-model', messages: [], stream: true });
    let n = 0;
    for await (const _ of stream) if (++n === 3) break; // ends the SDK's request
    assert.equal(n, 3);
    await waitFor(() => s.slow.seen[0]?.aborted === true, 'the provider saw its request closed');
    await waitFor(() => records(s).some((r) => r.sandbox === 'slow'), 'an audit record for the aborted call');
    const rec = records(s).find((r) => r.sandbox === 'slow')!;
    assert.equal(rec.inference.outcome, 'client_closed');
  });

  await t.test('the audit log never holds a key', () => {
    s.gw.flushAudit();
    const text = JSON.stringify(readAudit(s.gw.layout.gatewayDir));
    for (const k of [OPENAI_KEY, 'sk-ant-file-key-1', 'sk-ant-file-key-2', AGENT_KEY]) assert.ok(!text.includes(k), k);
  });
});

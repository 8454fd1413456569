// Prompt/response capture (inference.capture), the key masked when a provider echoes it (stream
// chunks and error bodies), and a stale kept-alive provider connection retried once on a fresh
// one. A real gateway and router, real compiler, fake providers over real HTTPS on loopback.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readAudit } from '../../src/audit/log.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { asInferenceRecord } from '../../src/router/audit-record.js';
import { CAPTURE_FILE } from '../../src/router/capture.js';
import { createRouter } from '../../src/router/router.js';
import { stateLayout } from '../../src/state/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeProvider, makeCa, type FakeProvider } from './fixtures.js';

const KEY = 'sk-capture-secret-4d1e8b77';

interface Setup {
  gw: Gateway;
  gwDir: string;
  port: Record<string, number>;
  cloud: FakeProvider;
  stale: FakeProvider;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = tempDir(t);
  const ca = makeCa(dir);
  const cloud = await fakeProvider(ca, { api: 'openai' });
  const echo = await fakeProvider(ca, { api: 'openai', echoKey: true });
  const echoErr = await fakeProvider(ca, { api: 'openai', echoKey: true, failWith: 401 });
  const stale = await fakeProvider(ca, { api: 'openai', resetReused: true });
  t.after(() => Promise.all([cloud, echo, echoErr, stale].map((f) => f.close())));
  const provider = (name: string, f: FakeProvider) =>
    `    ${name}: { api: openai, endpoint: "${f.url}", model: m-${name}, credential: "env:CAPTURE_KEY", ca_file: "${ca.caFile}" }\n`;
  const sandbox = (name: string, inference: string) => `  ${name}:\n    command: [/bin/true]\n    inference: ${inference}\n`;
  const yaml =
    'version: 1\nsandboxes:\n' +
    sandbox('cap', '{ provider: cloud, capture: full }') +
    sandbox('nocap', '{ provider: cloud }') +
    sandbox('echo', '{ provider: echo, capture: full }') +
    sandbox('echoerr', '{ provider: echoerr }') +
    sandbox('stale', '{ provider: stale }') +
    'inference:\n  providers:\n' +
    provider('cloud', cloud) +
    provider('echo', echo) +
    provider('echoerr', echoErr) +
    provider('stale', stale);
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(file, yaml);
  const compiled = await loadCompile(file, 'update');
  const state = join(dir, 'state');
  const gwDir = stateLayout(state).gatewayDir;
  // eslint-disable-next-line prefer-const -- the router's audit sink needs the gateway made after it
  let gw: Gateway;
  const router = createRouter({
    audit: (r) => gw.audit(r),
    env: { CAPTURE_KEY: KEY },
    captureDir: gwDir,
    captureMaxBytes: 4096, // small, so a few calls rotate it
    captureKeep: 2,
  });
  gw = new Gateway({ stateDir: state, inference: router });
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
  return { gw, gwDir, port, cloud, stale };
}

function post(port: number, body: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The capture file and its rotations. */
const captureFiles = (s: Setup) => readdirSync(s.gwDir).filter((f) => f.startsWith(CAPTURE_FILE));

/** Capture entries, oldest first, once the router has written them (after each call ends, off the response path). */
async function captured(s: Setup, n: number): Promise<Record<string, unknown>[]> {
  const read = () =>
    captureFiles(s)
      .sort((a, b) => (b.length - a.length || (a < b ? 1 : -1)) * 1) // name.2, name.1, name
      .flatMap((f) => readFileSync(join(s.gwDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let i = 0; i < 100 && read().length < n; i++) await new Promise((r) => setTimeout(r, 20));
  return read();
}

function inferenceRecords(s: Setup) {
  s.gw.flushAudit();
  return readAudit(s.gwDir)
    .map(asInferenceRecord)
    .filter((r) => r !== undefined);
}

test('inference capture, key masking in echoed answers, stale connection retry', { timeout: 60_000 }, async (t) => {
  const s = await setup(t);

  await t.test('capture off: calls leave no capture file', async () => {
    const r = await post(s.port.nocap!, { model: 'm-cloud', messages: [{ role: 'user', content: 'not kept' }] });
    assert.equal(r.status, 200);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(captureFiles(s), []);
  });

  await t.test('capture full: a plain and a streamed call, linked to their audit records by call_id, file 0600', async () => {
    const plain = await post(s.port.cap!, { model: 'm-cloud', messages: [{ role: 'user', content: 'prompt one' }] });
    const streamed = await post(s.port.cap!, { model: 'm-cloud', stream: true, messages: [{ role: 'user', content: 'prompt two' }] });
    assert.equal(plain.status, 200);
    assert.equal(streamed.status, 200);
    const entries = await captured(s, 2);
    assert.equal(entries.length, 2);
    const [a, b] = entries as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual([a.sandbox, a.provider, a.model, a.status, a.stream], ['cap', 'cloud', 'm-cloud', 200, false]);
    assert.match(String(a.request), /prompt one/);
    assert.equal(a.response, plain.body, 'the response as the agent got it');
    assert.equal(b.stream, true);
    assert.match(String(b.request), /prompt two/);
    assert.equal(b.response, streamed.body, 'the stream reassembled, every event in order');
    assert.match(String(b.response), /w0 .*w1 .*w2 /s);
    assert.ok(!('headers' in a), 'no header is captured');

    const recs = inferenceRecords(s).filter((r) => r.sandbox === 'cap');
    assert.deepEqual(
      recs.map((r) => r.inference.call_id),
      [a.call_id, b.call_id],
    );
    assert.notEqual(a.call_id, b.call_id);
    assert.equal(statSync(join(s.gwDir, CAPTURE_FILE)).mode & 0o777, 0o600);
    assert.ok(!inferenceRecords(s).some((r) => JSON.stringify(r).includes('prompt one')), 'prompts stay out of the audit log');
  });

  await t.test('the capture file rotates like the audit log, every file 0600', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await post(s.port.cap!, { model: 'm-cloud', stream: true, messages: [] })).status, 200);
    await captured(s, 8);
    const files = captureFiles(s).sort();
    assert.deepEqual(files, [CAPTURE_FILE, `${CAPTURE_FILE}.1`, `${CAPTURE_FILE}.2`]);
    for (const f of files) assert.equal(statSync(join(s.gwDir, f)).mode & 0o777, 0o600, f);
    for (const f of files) assert.ok(statSync(join(s.gwDir, f)).size <= 4096, `${f} within the size limit`);
  });

  await t.test('a provider echoing the key: masked in the stream (split across chunks), headers and error bodies', async () => {
    const r = await post(s.port.echo!, { model: 'm-echo', stream: true, messages: [] });
    assert.equal(r.status, 200);
    assert.ok(!r.body.includes(KEY), r.body);
    assert.ok(!JSON.stringify(r.headers).includes(KEY));
    assert.ok(r.body.includes(`Bearer ${'*'.repeat(KEY.length)}`), 'masked in place, same length');
    assert.match(r.body, /data: \[DONE\]\n\n$/, 'the rest of the stream is intact');
    const e = await post(s.port.echoerr!, { model: 'm-echoerr', messages: [] });
    assert.equal(e.status, 401);
    assert.ok(!e.body.includes(KEY), e.body);
    assert.equal(JSON.parse(e.body).error.message, `invalid credential: Bearer ${'*'.repeat(KEY.length)}`);
  });

  await t.test('a kept-alive connection the provider reset is retried once on a fresh one', async () => {
    const a = await post(s.port.stale!, { model: 'm-stale', messages: [] });
    const b = await post(s.port.stale!, { model: 'm-stale', messages: [] });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200, b.body);
    assert.equal(s.stale.seen.length, 2, 'the reset request never reached the provider; the retry did');
    const recs = inferenceRecords(s).filter((r) => r.sandbox === 'stale');
    assert.deepEqual(
      recs.map((r) => [r.inference.outcome, r.inference.fallback]),
      [
        ['ok', []],
        ['ok', []],
      ],
    );
  });

  await t.test('no key in the capture files or the audit log', async () => {
    await new Promise((r) => setTimeout(r, 50));
    s.gw.flushAudit();
    for (const f of readdirSync(s.gwDir)) {
      const p = join(s.gwDir, f);
      if (statSync(p).isFile()) assert.ok(!readFileSync(p, 'utf8').includes(KEY), f);
    }
    assert.ok(existsSync(join(s.gwDir, CAPTURE_FILE)));
    assert.ok(
      s.cloud.seen.every((x) => x.headers.authorization === `Bearer ${KEY}`),
      'the provider did get the key',
    );
  });
});

// The full OpenClaw image, built without a registry (minutes on a cold cache: this folder has a
// 30-minute timeout in scripts/test.mjs), loaded into Docker, and run as the sandbox will run it:
// read-only root, sticky tmpfs /tmp, writable /sandbox, uid 1000, no network. OpenClaw answers a
// one-shot prompt through its configured provider — a fake OpenAI-compatible server on the
// container's own loopback, where the inference router sits in a sandbox — with the placeholder key.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { dockerReachable } from '../helpers/busybox-image.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { aptAvailable, imageCli } from '../images/helpers.js';

const FAKE_PROVIDER = `
const http = require('http');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    process.stderr.write('FAKE ' + req.method + ' ' + req.url + ' auth=' + req.headers.authorization + '\\n');
    const chunk = (delta, finish) => 'data: ' + JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'fake-model',
      choices: [{ index: 0, delta, finish_reason: finish }], usage: finish ? { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } : undefined }) + '\\n\\n';
    res.setHeader('content-type', 'text/event-stream');
    res.write(chunk({ role: 'assistant', content: 'pong from the fake provider' }, null));
    res.write(chunk({}, 'stop'));
    res.end('data: [DONE]\\n\\n');
  });
}).listen(3128, '127.0.0.1', () => process.stderr.write('FAKE ready\\n'));
`;

const docker = (args: string[], timeout = 600_000) => spawnSync('docker', args, { encoding: 'utf8', timeout });

test('the openclaw image builds reproducibly, loads, and OpenClaw answers a prompt from a read-only root', (t) => {
  const d = dockerReachable();
  const apt = aptAvailable();
  if (!requireCapability(t, d.ok && apt.ok, d.reason || apt.reason)) return;
  const dir = tempDir(t);
  const tag = `nemoclaw-test/openclaw:e2e-${process.pid}`;
  t.after(() => docker(['rmi', '-f', tag]));
  const started = Date.now();
  const b = imageCli(
    ['build', join(repoRoot, 'images', 'openclaw'), '--tag', tag, '--out', join(dir, 'openclaw.tar'), '--json'],
    join(dir, 'state'),
  );
  assert.equal(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout) as { digest: string; size: number; layers: { cached: boolean }[] };
  t.diagnostic(
    `build ${((Date.now() - started) / 1000).toFixed(0)} s, ${(built.size / 2 ** 20).toFixed(0)} MiB, layers cached: ${built.layers.map((l) => l.cached).join(',')}`,
  );
  // Same inputs, same digest: a second build (from the cache) names the same image.
  const again = imageCli(['build', join(repoRoot, 'images', 'openclaw'), '--tag', tag], join(dir, 'state'));
  assert.equal(again.stdout.trim(), built.digest);

  const load = docker(['load', '-i', join(dir, 'openclaw.tar')]);
  assert.equal(load.status, 0, load.stderr);

  writeFileSync(join(dir, 'fake.js'), FAKE_PROVIDER);
  const run = docker([
    'run',
    '--rm',
    '--read-only',
    '--network',
    'none',
    '--memory',
    '2g',
    '--user',
    '1000:1000',
    '--tmpfs',
    '/tmp:mode=1777',
    '--tmpfs',
    '/sandbox:uid=1000,gid=1000,mode=0755',
    '-v',
    `${join(dir, 'fake.js')}:/fake.js:ro`,
    '-e',
    'HOME=/sandbox',
    '-e',
    'OPENCLAW_CONFIG_PATH=/etc/openclaw/openclaw.json',
    '-e',
    'OPENCLAW_STATE_DIR=/sandbox/.openclaw',
    tag,
    'sh',
    '-c',
    'node --version; openclaw --version; node /fake.js & sleep 1; openclaw infer model run --prompt ping --json --model nemoclaw/fake-model',
  ]);
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /^v24\.\d+\.\d+$/m);
  assert.match(run.stdout, /OpenClaw 2026\.9\.6/);
  assert.match(run.stdout, /"text": "pong from the fake provider"/);
  assert.match(run.stderr, /FAKE POST \/v1\/chat\/completions auth=Bearer nemoclaw-routed/);
});

// The docker runtime through the router: a busybox container with only the environment nemoclaw
// gives it calls $OPENAI_BASE_URL with its own Authorization header; the fake provider sees the
// real key; the container's environment, its /proc, `docker inspect`, the artifacts and the state
// directory never hold it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { dockerDriver } from '../../src/reconciler/drivers/docker.js';
import { registerSandbox } from '../../src/daemon/client.js';
import { runCli } from '../helpers/cli.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir, tempFiles } from '../helpers/tmp.js';
import { fakeProvider, makeCa } from './fixtures.js';

const KEY = 'sk-docker-e2e-5e6f7a8b';

function busyboxImageId(t: TestContext): string | undefined {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return undefined;
  return execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
}

async function waitForLog(id: string, needle: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const logs = execFileSync('docker', ['logs', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (logs.includes(needle)) return logs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`"${needle}" never appeared in the container's output`);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test(
  'docker sandbox: model call through the router with only nemoclaw’s env; no key inside or on disk',
  { timeout: 180_000 },
  async (t) => {
    const id = busyboxImageId(t);
    if (!id) return;
    const caDir = tempDir(t);
    const ca = makeCa(caDir);
    const openai = await fakeProvider(ca, { api: 'openai' });
    t.after(() => openai.close());
    const agent = [
      // -Y off: busybox wget ignores NO_PROXY; SDKs honour it and talk to the router directly.
      `wget -Y off -q -O - --header 'Authorization: Bearer sk-agent-stolen' --header 'Content-Type: application/json' --post-data '{"model":"real-model","messages":[]}' "$OPENAI_BASE_URL/chat/completions"; echo " rc=$?"`,
      "echo env=$(env | tr '\\n' ' ')",
      "for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null | tr '\\0' ' '; done; echo",
      'echo done; sleep 600',
    ].join('; ');
    const config = `version: 1
sandboxes:
  dockbox:
    runtime: docker
    image: nemoclaw-test/busybox@${id}
    command: [/bin/sh, -c, ${JSON.stringify(agent)}]
    filesystem: { read_only: [/bin] }
    inference: { provider: cloud }
inference:
  providers:
    cloud: { api: openai, endpoint: "${openai.url}", model: real-model, credential: env:DOCKER_E2E_KEY, ca_file: ${ca.caFile} }
`;
    const dir = tempFiles(t, { 'nemoclaw.yaml': config });
    const state = tempDir(t);
    assert.equal(runCli(['gateway', '--detach', '--state-dir', state], { env: { DOCKER_E2E_KEY: KEY } }).status, 0);
    t.after(() => {
      runCli(['gateway', 'stop', '--state-dir', state]);
    });
    const compiled = (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes[0]!;
    await registerSandbox(state, 'dockbox', Buffer.from(compiled.files['egress.json']));
    const obs = await dockerDriver.create({ stateDir: state }, compiled);
    t.after(() => dockerDriver.destroy({ stateDir: state }, 'dockbox', obs.id));
    const logs = await waitForLog(obs.id!, 'done');
    assert.match(logs, /hello from openai.* rc=0/, 'the call went through the router to the provider');
    assert.match(logs, /OPENAI_API_KEY=nemoclaw-routed/);
    assert.equal(openai.seen.length, 1);
    assert.equal(openai.seen[0]!.headers.authorization, `Bearer ${KEY}`);

    const inspect = execFileSync('docker', ['inspect', obs.id!], { encoding: 'utf8' });
    const texts: [string, string][] = [
      ['container output', logs],
      ['docker inspect', inspect],
      ['compiled artifacts', JSON.stringify(compiled.files)],
    ];
    runCli(['gateway', 'stop', '--state-dir', state]);
    for (const f of filesUnder(state)) if (statSync(f).size < 64 * 2 ** 20) texts.push([f, readFileSync(f, 'latin1')]);
    assert.ok(texts.some(([f]) => f.endsWith('audit.jsonl')));
    for (const [where, text] of texts) assert.ok(!text.includes(KEY), `the key is in ${where}`);
  },
);

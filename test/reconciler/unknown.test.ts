// Observation is three-valued: running, absent, or unknown. What cannot be observed (a Docker
// engine that cannot be reached, a gateway that does not answer, a corrupt state file) must never
// read as "nothing runs": plan and apply refuse with the reason, and nothing is created.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { probeGateway } from '../../src/daemon/client.js';
import { stateLayout } from '../../src/state/paths.js';
import { cli, env, inventoryNames, yaml, type Env } from './harness.js';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;
const dockerYaml = `version: 1\nsandboxes:\n  boxed:\n    runtime: docker\n    image: nemoclaw-test/busybox@${ZERO_DIGEST}\n    command: [/bin/true]\n    filesystem:\n      read_only: [/bin]\n`;

const plan = (e: Env, extra: Record<string, string> = {}) => cli(['plan', '-f', e.file, '--state-dir', e.state], extra);
const apply = (e: Env, extra: Record<string, string> = {}) => cli(['apply', '-f', e.file, '--auto-approve', '--state-dir', e.state], extra);

function refused(r: { status: number | null; stdout: string; stderr: string }, reason: RegExp): void {
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /cannot tell what runs on this host, so nothing is planned/);
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stdout, /to create/, 'no plan is shown');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

/** A unix socket at the control socket's path that accepts connections and never answers. */
async function silentControlSocket(t: TestContext, state: string): Promise<string> {
  const path = stateLayout(state).controlSocket;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const held: Socket[] = [];
  const server: Server = createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => new Promise<void>((r) => (held.forEach((s) => s.destroy()), server.close(() => r()))));
  return path;
}

test('a Docker engine that cannot be reached: plan and apply refuse, nothing is created', async (t) => {
  const e = env(t);
  await e.write(dockerYaml);
  const unreachable = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
  const reason = /docker sandboxes: the Docker engine at unix:\/\/\/nonexistent\/docker\.sock cannot be asked what runs: .*ENOENT/;
  refused(await plan(e, unreachable), reason);
  const d = await cli(['plan', '-f', e.file, '--detailed-exitcode', '--state-dir', e.state], unreachable);
  assert.equal(d.status, 1, 'with --detailed-exitcode too: an error, not "changes"');
  refused(await apply(e, unreachable), reason);
  assert.deepEqual(inventoryNames(e.state), []);
});

test('a corrupt inventory.json: plan refuses naming the file, never "nothing was created"', async (t) => {
  const e = env(t);
  await e.write(yaml([{ name: 'a' }]));
  const inventory = join(e.state, 'inventory.json');
  mkdirSync(e.state, { recursive: true });
  for (const [bytes, what] of [
    ['{"format_version":1,"sandboxes":', /is not valid JSON/],
    ['{"format_version":1,"sandboxes":{"a":42}}', /has an unknown format/],
  ] as const) {
    writeFileSync(inventory, bytes);
    for (const r of [await plan(e), await apply(e)]) {
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`inventory ${esc(inventory)} ${what.source}`));
      assert.doesNotMatch(r.stdout, /to create/);
    }
  }
});

test('a corrupt generation file: plan, apply and rollback refuse naming it', async (t) => {
  const e = env(t);
  await e.write(yaml([{ name: 'a' }]));
  const gen = join(e.state, 'generations', '000001.json');
  mkdirSync(dirname(gen), { recursive: true });
  writeFileSync(gen, '{"format_version": 1, "number": ');
  const named = new RegExp(`generation ${esc(gen)} is not valid JSON`);
  refused(await plan(e), named);
  refused(await apply(e), named);
  assert.deepEqual(inventoryNames(e.state), []);
  const r = await e.run('rollback', '--list');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, named);
});

test('a corrupt supervisor desired.json: plan refuses naming it, with the daemon down or up', async (t) => {
  const e = env(t);
  await e.write(yaml([{ name: 'a' }]));
  const desired = join(e.state, 'supervisor', 'desired.json');
  mkdirSync(dirname(desired), { recursive: true });
  writeFileSync(desired, '{"a": "sha256:');
  const named = new RegExp(`the supervisor's ${esc(desired)} is not valid JSON`);
  refused(await plan(e), named);
  // A daemon that starts on it restores nothing, keeps the file, and says why in every listing.
  const g = await cli(['gateway', '--detach', '--state-dir', e.state]);
  assert.equal(g.status, 0, g.stderr);
  refused(await plan(e), named);
  const r = await apply(e);
  refused(r, /restart the gateway/);
  assert.deepEqual(inventoryNames(e.state), []);
  const s = await e.run('status', '--json');
  assert.equal(s.status, 1, 'status shows what it can, and fails');
  assert.match((JSON.parse(s.stdout) as { unknown: string[] }).unknown.join('\n'), named);
});

test('a gateway control socket that is present but does not answer is unknown, not absent', async (t) => {
  const e = env(t);
  await e.write(yaml([{ name: 'a' }]));
  assert.deepEqual(await probeGateway(e.state), { state: 'absent' });
  const socket = await silentControlSocket(t, e.state);
  const p = await probeGateway(e.state);
  assert.equal(p.state, 'unknown');
  assert.match(p.state === 'unknown' ? p.reason : '', /present but does not answer: gateway did not answer in time/);
  refused(await plan(e), new RegExp(`the gateway control socket ${esc(socket)} is present but does not answer`));
});

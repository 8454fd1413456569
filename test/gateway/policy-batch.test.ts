// Registering many sandboxes' policies in one round trip (POST /v1/policies, the client's
// PolicyBatcher, as apply uses them): each change has its own result, one refused or failing
// registration names its sandbox and does not keep the others from being put in force.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyPolicyChanges, gatewayStatus, PolicyBatcher } from '../../src/daemon/client.js';
import { createControlServer, listenControl } from '../../src/daemon/control.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { stateLayout } from '../../src/state/paths.js';
import { policyBytes, startGateway } from './helpers.js';

async function withControl(t: import('node:test').TestContext): Promise<{ gw: Gateway; dir: string; batches: string[][] }> {
  const { gw, dir, cleanup } = await startGateway();
  const batches: string[][] = [];
  const apply = gw.applyPolicies.bind(gw);
  gw.applyPolicies = (ops) => {
    batches.push(ops.map((o) => o.sandbox));
    return apply(ops);
  };
  const server: Server = createControlServer(gw, () => {});
  await listenControl(server, stateLayout(dir).controlSocket);
  t.after(async () => {
    server.close();
    server.closeAllConnections();
    await cleanup();
  });
  return { gw, dir, batches };
}

const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const egress = (n: string) => policyBytes(n, [{ name: 'r', endpoints: [{ host: 'example.com', port: 443 }] }]);

test('concurrent registrations share round trips; a refused policy and a failing socket fail only their own sandbox', async (t) => {
  const { dir, batches } = await withControl(t);
  // a3: the policy names another sandbox (refused as bad input); a5: its socket path is taken by a directory.
  const blocked = stateLayout(dir).sandboxSocket('a5');
  mkdirSync(join(blocked, 'in-the-way'), { recursive: true });
  const b = new PolicyBatcher(dir);
  const r = await Promise.allSettled(names.map((n) => b.register(n, n === 'a3' ? egress('other') : egress(n))));

  const failed = Object.fromEntries(r.flatMap((x, i) => (x.status === 'rejected' ? [[names[i], (x.reason as Error).message]] : [])));
  assert.deepEqual(Object.keys(failed).sort(), ['a3', 'a5']);
  assert.match(failed.a3!, /policy is for sandbox other, not a3/);
  assert.match(failed.a5!, /EISDIR|directory/i);

  const ok = names.filter((n) => n !== 'a3' && n !== 'a5');
  const status = await gatewayStatus(dir);
  assert.deepEqual(
    status.sandboxes.map((s) => s.name),
    ok,
  );
  for (const [i, n] of names.entries()) {
    const x = r[i]!;
    if (x.status !== 'fulfilled') continue;
    assert.equal(
      x.value.policyVersion,
      status.sandboxes.find((s) => s.name === n)!.policy_version,
      `${n}: the answer is the version in force`,
    );
    assert.ok(existsSync(x.value.socketPath));
    assert.deepEqual(readFileSync(join(dir, 'gateway', 'policies', `${n}.json`)), egress(n), `${n}: its policy is saved for a restart`);
  }
  assert.ok(!existsSync(join(dir, 'gateway', 'policies', 'a3.json')), 'a refused policy is not saved');
  assert.ok(batches.length < names.length, `${names.length} registrations in ${batches.length} round trips`);
  assert.deepEqual(batches.flat().sort(), names);

  // The next batch: a5 can register once the way is clear, removals are batched too.
  rmSync(blocked, { recursive: true });
  await b.register('a5', egress('a5'));
  const removed = await Promise.all(['a1', 'a2', 'nope'].map((n) => b.unregister(n)));
  assert.deepEqual(removed, [true, true, false]);
  assert.deepEqual(
    (await gatewayStatus(dir)).sandboxes.map((s) => s.name),
    ['a4', 'a5', 'a6'],
  );
  assert.ok(!existsSync(join(dir, 'gateway', 'policies', 'a1.json')));
});

test('one batch naming a sandbox twice applies its changes in order', async (t) => {
  const { dir } = await withControl(t);
  const v2 = policyBytes('a1', [{ name: 'r', endpoints: [{ host: 'example.org', port: 443 }] }]);
  const out = await applyPolicyChanges(dir, [
    { sandbox: 'a1', egress: egress('a1') },
    { sandbox: 'a1', remove: true },
    { sandbox: 'a1', egress: v2 },
  ]);
  assert.equal(out[1], true);
  const s = await gatewayStatus(dir);
  assert.equal(s.sandboxes.length, 1);
  assert.equal(s.sandboxes[0]!.policy_version, (out[2] as { policyVersion: string }).policyVersion);
  assert.deepEqual(readFileSync(join(dir, 'gateway', 'policies', 'a1.json')), v2);
});

test('a malformed batch is refused as a whole (400), before anything changes', async (t) => {
  const { dir } = await withControl(t);
  await assert.rejects(
    applyPolicyChanges(dir, [{ sandbox: '', egress: egress('a1') }]),
    (e: Error & { status?: number }) => e.status === 400 && /sandbox/.test(e.message),
  );
  assert.equal((await gatewayStatus(dir)).sandboxes.length, 0);
});

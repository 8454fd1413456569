// The reconciler end to end with real sandboxes and the real gateway daemon: create, no-op,
// live egress reload (reaching a new endpoint without a restart), replace on a read_write
// change, delete by removal from the file, saved plans (fresh and stale).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, fetchLoop, httpServer, inventoryNames, orphans, sandboxSockets, status, until, yaml } from './harness.js';

test('create → no-op → reload (live) → replace (read_write) → delete, verified on the host', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const a = await httpServer(t);
  const b = await httpServer(t);
  const web = { name: 'web', command: fetchLoop([a.port, b.port]), egress: [{ host: 'localhost', port: a.port }] };
  const idle = { name: 'idle' };
  await e.write(yaml([web, idle]));

  const created = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(created.status, 0, created.stderr + created.stdout);
  assert.match(created.stdout, /create:\n {2}\+ idle[\s\S]*\+ web/);
  assert.match(created.stdout, /web may HTTP \(any method\) to localhost:\d+/);
  assert.match(created.stderr, /\[\s*\d+\/\d+\] start web/);

  const noop = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(noop.status, 0, noop.stdout + noop.stderr);
  assert.match(noop.stdout, /No changes/);

  await until(() => a.hits() > 0, 'web to reach the allowed endpoint');
  const bBefore = b.hits();
  let s = await status(e);
  const pid = s.sandboxes.find((x) => x.name === 'web')!.pid;
  assert.ok(pid && pid > 0);
  assert.deepEqual(
    s.sandboxes.map((x) => x.drift),
    [[], []],
  );
  assert.equal(bBefore, 0, 'the second endpoint is denied before the reload');

  // Live change: a second endpoint. Plan says reload only; apply; same pid reaches it.
  await e.write(yaml([{ ...web, egress: [...web.egress, { host: 'localhost', port: b.port }] }, idle]));
  const p2 = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p2.status, 2, p2.stderr);
  assert.match(p2.stdout, /reload:\n {2}~ web[\s\S]*network\.egress\[local\] changed \(live/);
  assert.doesNotMatch(p2.stdout, /replace:/);
  assert.match(p2.stdout, new RegExp(`\\+ web may now HTTP \\(any method\\) to localhost:${b.port}`));
  const json = JSON.parse((await e.run('plan', '-f', e.file, '--format', 'json')).stdout);
  assert.equal(json.format_version, 1);
  assert.deepEqual(
    json.actions.map((x: { sandbox: string; kind: string }) => [x.sandbox, x.kind]),
    [
      ['idle', 'noop'],
      ['web', 'reload'],
    ],
  );
  const md = (await e.run('plan', '-f', e.file, '--format', 'markdown')).stdout;
  assert.match(md, /\| `web` \| reload \|/);
  const applied = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(applied.status, 0, applied.stderr);
  await until(() => b.hits() > 0, 'web to reach the new endpoint after the reload');
  s = await status(e);
  const w = s.sandboxes.find((x) => x.name === 'web')!;
  assert.equal(w.pid, pid, 'a reload does not restart the sandbox');
  assert.equal(w.restarts, 0);
  assert.equal(w.running_digest, w.applied_digest);

  // Locked change: read_write. Plan says replace and names the field.
  await e.write(yaml([{ ...web, readWrite: ['/tmp', '/data'], egress: [...web.egress, { host: 'localhost', port: b.port }] }, idle]));
  const p3 = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p3.status, 2);
  assert.match(p3.stdout, /replace:\n {2}-\/\+ web[\s\S]*filesystem\.read_write changed/);
  assert.match(p3.stdout, /\+ web may now write \/data/);
  const r3 = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(r3.status, 0, r3.stderr);
  s = await status(e);
  assert.notEqual(s.sandboxes.find((x) => x.name === 'web')!.pid, pid, 'a replace restarts the sandbox');

  // Remove idle from the file: delete, and everything of it is gone.
  const idlePid = s.sandboxes.find((x) => x.name === 'idle')!.pid!;
  await e.write(yaml([{ ...web, readWrite: ['/tmp', '/data'], egress: [...web.egress, { host: 'localhost', port: b.port }] }]));
  const p4 = await e.run('plan', '-f', e.file, '--detailed-exitcode');
  assert.equal(p4.status, 2);
  assert.match(p4.stdout, /delete:\n {2}- idle\s.*\n\s+not in /);
  const r4 = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(r4.status, 0, r4.stderr);
  assert.deepEqual(inventoryNames(e.state), ['web']);
  assert.deepEqual(sandboxSockets(e.state), ['web']);
  assert.equal(existsSync(join(e.state, 'sandboxes', 'idle')), false);
  assert.equal(existsSync(`/proc/${idlePid}`), false);
  s = await status(e);
  assert.deepEqual(
    s.sandboxes.map((x) => x.name),
    ['web'],
  );
  assert.deepEqual(
    orphans(
      e.state,
      s.sandboxes.map((x) => x.pid!),
      s.gateway.pid,
    ),
    [],
  );

  // Generations: one per apply that changed something; rollback re-applies generation 1's
  // blueprints (idle comes back, web loses /data: a replace).
  const gens = readFileSync(join(e.state, 'generations', '000004.json'), 'utf8');
  assert.deepEqual(Object.keys(JSON.parse(gens).sandboxes), ['web']);
  const rb = await e.run('rollback', '--to', '1', '--auto-approve');
  assert.equal(rb.status, 0, rb.stderr + rb.stdout);
  assert.match(rb.stdout, /Rollback to generation 1/);
  s = await status(e);
  assert.deepEqual(
    s.sandboxes.map((x) => [x.name, x.state]),
    [
      ['idle', 'running'],
      ['web', 'running'],
    ],
  );
  const gen5 = JSON.parse(readFileSync(join(e.state, 'generations', '000005.json'), 'utf8'));
  assert.equal(gen5.rollback_of, 1);
  assert.deepEqual(gen5.sandboxes, JSON.parse(readFileSync(join(e.state, 'generations', '000001.json'), 'utf8')).sandboxes);
});

test('saved plans: applied exactly when fresh, refused when the file or the host changed', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'one' }]));
  const planFile = join(e.dir, 'plan.json');
  const p = await e.run('plan', '-f', e.file, '--out', planFile);
  assert.equal(p.status, 0, p.stderr);
  // The file changes after the plan: refused.
  await e.write(yaml([{ name: 'one' }, { name: 'two' }]));
  const stale = await e.run('apply', planFile, '--auto-approve');
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /saved plan is stale[\s\S]*nemoclaw\.yaml changed since the plan was made/);
  assert.deepEqual(inventoryNames(e.state), []);
  // Fresh plan: applied exactly.
  assert.equal((await e.run('plan', '-f', e.file, '--out', planFile)).status, 0);
  const ok = await e.run('apply', planFile, '--auto-approve');
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(inventoryNames(e.state), ['one', 'two']);
  // The host changes after the plan (a sandbox destroyed behind its back): refused.
  await e.write(yaml([{ name: 'one' }]));
  assert.equal((await e.run('plan', '-f', e.file, '--out', planFile)).status, 0);
  assert.equal((await e.run('destroy', 'one', '--auto-approve')).status, 0);
  const hostChanged = await e.run('apply', planFile, '--auto-approve');
  assert.equal(hostChanged.status, 1);
  assert.match(hostChanged.stderr, /the host changed since the plan was made/);
  // A tampered plan (blueprint bytes edited) is refused before anything else.
  const tampered = JSON.parse(readFileSync(planFile, 'utf8'));
  tampered.blueprints.one['egress.json'] = tampered.blueprints.one['egress.json'].replace('"deny"', '"ask"');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(planFile, JSON.stringify(tampered));
  const bad = await e.run('apply', planFile, '--auto-approve');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /does not match/);
});

test('without a terminal, apply with changes needs --auto-approve', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'one' }]));
  const r = await e.run('apply', '-f', e.file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /pass --auto-approve/);
  assert.deepEqual(inventoryNames(e.state), []);
});

// nemoclaw reconcile end to end: a bare repository as the source, SSH-signed commits made with
// ssh-keygen keys, the real gateway daemon and real sandboxes. Each step is one `--once` tick, as
// a timer would run it, with the condition read back through `status --json`.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stopSupervised } from '../../src/daemon/supervisor-client.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { env, fetchLoop, httpServer, until, yaml, type Env, type Sb } from '../reconciler/harness.js';
import { makeRepo } from './repo.js';

interface SourceJson {
  url: string;
  fetched_commit: string | null;
  applied_commit: string | null;
  verified_by: string | null;
  suspended: { reason: string | null } | null;
  condition: { status: string; reason: string; message: string } | null;
}
interface FullStatus {
  source: SourceJson | null;
  sandboxes: { name: string; pid: number | null; policy_version: string | null; state: string }[];
  retained: { sandbox: string; path: string }[];
}

async function full(e: Env): Promise<FullStatus> {
  const r = await e.run('status', '--json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as FullStatus;
}

/** A loopback receiver for --notify. */
async function receiver(t: TestContext): Promise<{ url: string; events: { event: string; reason: string }[] }> {
  const events: { event: string; reason: string }[] = [];
  const server = createServer((q, s) => {
    let body = '';
    q.on('data', (d) => (body += d));
    q.on('end', () => {
      events.push(JSON.parse(body) as { event: string; reason: string });
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, events };
}

test('reconcile follows a signed repository: verify, refuse, reload live, heal, suspend, keep data', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const repo = makeRepo(e.dir);
  const a = await httpServer(t);
  const b = await httpServer(t);
  const hook = await receiver(t);
  const agent: Sb = { name: 'agent', command: fetchLoop([a.port, b.port]), egress: [{ host: 'localhost', port: a.port }] };
  const worker: Sb = { name: 'worker', readWrite: ['/tmp', '/data'] };
  const once = (...extra: string[]) => e.run('reconcile', '--once', '--settle', '1s', ...extra);

  // 1. The first signed commit creates the sandboxes; the source is remembered.
  const c1 = await repo.commit(yaml([agent, worker]), { sign: 'trusted' });
  const r1 = await once('--source', repo.remote, '--allowed-signers', repo.allowedSigners, '--notify', hook.url);
  assert.equal(r1.status, 0, r1.stdout + r1.stderr);
  assert.match(r1.stdout, /Ready=True Succeeded: applied [0-9a-f]{12}: create agent, create worker/);
  let s = await full(e);
  assert.equal(s.source?.applied_commit, c1);
  assert.match(s.source?.verified_by ?? '', /^trusted@test SHA256:/);
  assert.deepEqual(
    s.sandboxes.map((x) => [x.name, x.state]),
    [
      ['agent', 'running'],
      ['worker', 'running'],
    ],
  );
  await until(() => a.hits() > 0, 'agent to reach the allowed endpoint');
  const pid = s.sandboxes.find((x) => x.name === 'agent')!.pid;
  const policy = s.sandboxes.find((x) => x.name === 'agent')!.policy_version;

  // 2. An unsigned commit is refused; the running sandbox keeps its policy.
  const withB = { ...agent, egress: [...agent.egress!, { host: 'localhost', port: b.port }] };
  const c2 = await repo.commit(yaml([withB, worker]), { sign: null });
  const r2 = await once();
  assert.equal(r2.status, 1, r2.stdout);
  s = await full(e);
  assert.equal(s.source?.condition?.reason, 'VerificationFailed');
  assert.match(s.source?.condition?.message ?? '', /not signed/);
  assert.equal(s.source?.fetched_commit, c2);
  assert.equal(s.source?.applied_commit, c1);
  assert.equal(s.sandboxes.find((x) => x.name === 'agent')!.policy_version, policy);
  assert.equal(b.hits(), 0);

  // 3. A commit signed by a key that is not in the allowed signers is refused too.
  await repo.commit(yaml([withB, worker]), { sign: 'stranger' });
  const r3 = await once();
  assert.equal(r3.status, 1, r3.stdout);
  assert.match((await full(e)).source?.condition?.message ?? '', /not among the allowed signers/);

  // 4. A trusted egress change is reloaded live: same process, new endpoint reachable.
  const c4 = await repo.commit(yaml([withB, worker]), { sign: 'trusted' });
  const r4 = await once();
  assert.equal(r4.status, 0, r4.stdout + r4.stderr);
  assert.match(r4.stdout, /applied [0-9a-f]{12}: reload agent/);
  await until(() => b.hits() > 0, 'agent to reach the endpoint the reload allowed');
  s = await full(e);
  assert.equal(s.sandboxes.find((x) => x.name === 'agent')!.pid, pid);
  assert.equal(s.source?.applied_commit, c4);

  // 5. A sandbox stopped behind nemoclaw's back is healed on the next tick, with no new commit.
  await stopSupervised(e.state, 'agent');
  const r6 = await once();
  assert.equal(r6.status, 0, r6.stdout + r6.stderr);
  assert.match(r6.stdout, /Ready=True Succeeded: at [0-9a-f]{12}: healed drift: replace agent/);
  assert.equal((await full(e)).sandboxes.find((x) => x.name === 'agent')!.state, 'running');

  // 6. A force-push back to an older signed commit is refused.
  repo.forcePush(c1);
  const r5 = await once();
  assert.equal(r5.status, 1, r5.stdout);
  s = await full(e);
  assert.equal(s.source?.condition?.reason, 'RewindRefused');
  assert.equal(s.source?.applied_commit, c4);
  repo.forcePush(c4);

  // 7. A fetch failure changes nothing on the host.
  const pid7 = (await full(e)).sandboxes.find((x) => x.name === 'agent')!.pid;
  renameSync(repo.remote, `${repo.remote}.away`);
  const r7 = await once();
  renameSync(`${repo.remote}.away`, repo.remote);
  assert.equal(r7.status, 1, r7.stdout);
  s = await full(e);
  assert.equal(s.source?.condition?.reason, 'FetchFailed');
  assert.equal(s.sandboxes.find((x) => x.name === 'agent')!.pid, pid7);
  assert.equal(s.source?.applied_commit, c4);

  // 8. Suspended: fetches and reports, applies nothing; resume applies.
  const sus = await e.run('reconcile', 'suspend', '--reason', 'maintenance');
  assert.equal(sus.status, 0, sus.stderr);
  const dataFile = join(e.state, 'sandboxes', 'worker', 'rw', 'data', 'notes.txt');
  mkdirSync(join(dataFile, '..'), { recursive: true });
  writeFileSync(dataFile, 'keep me\n');
  const c8 = await repo.commit(yaml([withB]), { sign: 'trusted', message: 'remove worker' });
  const r8 = await once();
  assert.equal(r8.status, 0, r8.stdout);
  s = await full(e);
  assert.equal(s.source?.condition?.reason, 'Suspended');
  assert.equal(s.source?.fetched_commit, c8);
  assert.equal(s.source?.applied_commit, c4);
  assert.ok(s.sandboxes.some((x) => x.name === 'worker'));
  assert.equal((await e.run('reconcile', 'resume')).status, 0);

  // 9. Resumed: the worker is deleted, and its data is still on disk.
  const r9 = await once();
  assert.equal(r9.status, 0, r9.stdout + r9.stderr);
  s = await full(e);
  assert.equal(s.source?.applied_commit, c8);
  assert.deepEqual(
    s.sandboxes.map((x) => x.name),
    ['agent'],
  );
  const kept = s.retained.find((x) => x.sandbox === 'worker');
  assert.ok(kept, 'status lists the kept data');
  assert.equal(readFileSync(join(kept.path, 'rw', 'data', 'notes.txt'), 'utf8'), 'keep me\n');

  // 10. A crash-looping agent fails the tick with HealthCheckFailed, its exit and its log.
  await repo.commit(yaml([withB, { name: 'crasher', command: 'echo crashing-now; exit 3' }]), { sign: 'trusted' });
  const r10 = await once();
  assert.equal(r10.status, 1, r10.stdout + r10.stderr);
  s = await full(e);
  assert.equal(s.source?.condition?.reason, 'HealthCheckFailed');
  assert.match(s.source?.condition?.message ?? '', /crasher did not stay up[\s\S]*code 3[\s\S]*crashing-now/);

  // 11. Another source on the same state directory is refused, and says how to move.
  const other = await e.run('reconcile', '--once', '--source', e.dir, '--no-verify');
  assert.equal(other.status, 1);
  assert.match(other.stderr, /follows .*remote\.git.*--adopt/s);
  writeFileSync(e.file, yaml([agent]));
  const applied = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(applied.status, 1);
  assert.match(applied.stderr, /--adopt/);

  // Notifications: failures when the condition turned, and the recovery after them.
  assert.deepEqual(
    hook.events.map((x) => `${x.event}:${x.reason}`),
    [
      'failure:VerificationFailed',
      'recovery:Succeeded',
      'drift_healed:Succeeded',
      'failure:RewindRefused',
      'failure:FetchFailed',
      'failure:HealthCheckFailed',
    ],
  );
  assert.ok(existsSync(join(e.state, 'source.json')));
});

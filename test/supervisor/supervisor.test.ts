// The supervisor with a fake runtime: start, relabel vs restart, backoff restarts, failing
// closed on an edited blueprint, refused starts, stop, and restore after a daemon restart.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateStore } from '../../src/state/store.js';
import type { RunningSandbox, StartOptions, ExitStatus } from '../../src/runtime/process/start.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { EnforcementReport } from '../../src/init-protocol/report.js';
import { compileSpec, goodReport } from '../reconciler/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

interface FakeRun {
  opts: StartOptions;
  exit: (code: number) => void;
  stopped: boolean;
}

/** A runtime whose sandboxes exit when the test says so. Pids do not exist, so nothing is ever signalled. */
function fakeRuntime(fail?: () => Error | undefined, tweak: (r: EnforcementReport) => EnforcementReport = (r) => r) {
  const runs: FakeRun[] = [];
  let nextPid = 2_000_000_000;
  const start = async (opts: StartOptions): Promise<RunningSandbox> => {
    const err = fail?.();
    if (err) throw err;
    let exit!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => {
      exit = r;
    });
    const run: FakeRun = { opts, exit: (code) => exit({ code, oomKilled: false, reason: `exited with code ${code}` }), stopped: false };
    runs.push(run);
    return {
      name: opts.artifacts.sandbox.name,
      pid: nextPid++,
      report: tweak(goodReport({ name: opts.artifacts.sandbox.name, artifacts: opts.artifacts } as never)),
      seccomp: { ruleCount: 1, digest: 'sha256:' + 'ab'.repeat(32) },
      gateway: null,
      warnings: [],
      child: {} as never,
      wait: () => exited,
      stop: async () => {
        run.stopped = true;
        exit({ code: 143, oomKilled: false, reason: 'exited with code 143' });
        return exited;
      },
    };
  };
  return { runs, start };
}

const backoff = { initialMs: 10, maxMs: 40, resetAfterMs: 60_000 };
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'timed out');
};

async function setup(t: Parameters<typeof compileSpec>[0]) {
  const dir = tempDir(t);
  const [v1] = await compileSpec(t, { a: { egress: [{ name: 'x', host: 'x.example', port: 443 }] } });
  const [v2] = await compileSpec(t, { a: { egress: [{ name: 'y', host: 'y.example', port: 443 }] } }); // live change only
  const [v3] = await compileSpec(t, { a: { egress: [{ name: 'y', host: 'y.example', port: 443 }], readWrite: ['/tmp', '/data'] } }); // locked change
  const store = new StateStore(dir);
  for (const v of [v1!, v2!, v3!]) store.storeBlueprint(v);
  return { dir, store, v1: v1!, v2: v2!, v3: v3! };
}

test('start, unchanged, relabel on a live-only change, restart on a locked change', async (t) => {
  const { dir, v1, v2, v3 } = await setup(t);
  const rt = fakeRuntime();
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
  t.after(() => sup.stopAll());
  const r1 = await sup.ensure('a', v1.digest);
  assert.equal(r1.result, 'started');
  assert.equal(r1.status.state, 'running');
  assert.equal(r1.status.log, join(dir, 'sandboxes', 'a', 'logs', 'agent.log'));
  assert.equal((await sup.ensure('a', v1.digest)).result, 'unchanged');
  const r2 = await sup.ensure('a', v2.digest);
  assert.equal(r2.result, 'retagged');
  assert.equal(r2.status.digest, v2.digest);
  assert.equal(rt.runs.length, 1, 'a relabel does not start anything');
  const r3 = await sup.ensure('a', v3.digest);
  assert.equal(r3.result, 'restarted');
  assert.equal(rt.runs.length, 2);
  assert.equal(rt.runs[0]!.stopped, true);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'supervisor', 'desired.json'), 'utf8')), { a: v3.digest });
});

test('an exited sandbox is restarted with backoff and counted', async (t) => {
  const { dir, v1 } = await setup(t);
  const rt = fakeRuntime();
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
  t.after(() => sup.stopAll());
  await sup.ensure('a', v1.digest);
  rt.runs[0]!.exit(1);
  await until(() => sup.get('a')!.state === 'backoff' || rt.runs.length === 2);
  await until(() => rt.runs.length === 2 && sup.get('a')!.state === 'running');
  assert.equal(sup.get('a')!.restarts, 1);
  assert.deepEqual(sup.get('a')!.last_exit?.code, 1);
  rt.runs[1]!.exit(2);
  await until(() => rt.runs.length === 3 && sup.get('a')!.state === 'running');
  assert.equal(sup.get('a')!.restarts, 2);
});

test('fails closed: a stored blueprint edited by hand is never started', async (t) => {
  const { dir, store, v1 } = await setup(t);
  const rt = fakeRuntime();
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
  const f = join(store.layout.blueprintDir(v1.digest), 'landlock.json');
  writeFileSync(f, readFileSync(f, 'utf8').replace('"hard_requirement"', '"best_effort"'));
  await assert.rejects(sup.ensure('a', v1.digest), /was modified/);
  assert.equal(rt.runs.length, 0);
});

test('an init that refuses: ensure rejects and the sandbox is reported failed', async (t) => {
  const { dir, v1 } = await setup(t);
  const rt = fakeRuntime(() => new Error('sandbox "a" refused to start: landlock: ABI too old'));
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
  await assert.rejects(sup.ensure('a', v1.digest), /ABI too old/);
  assert.equal(sup.get('a')!.state, 'failed');
  assert.match(sup.get('a')!.last_error!, /ABI too old/);
});

test('stop forgets; a new supervisor (daemon restart) restores what should run', async (t) => {
  const { dir, v1 } = await setup(t);
  const [b] = await compileSpec(t, { b: {} });
  new StateStore(dir).storeBlueprint(b!);
  const rt = fakeRuntime();
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
  await sup.ensure('a', v1.digest);
  await sup.ensure('b', b!.digest);
  assert.equal(await sup.stop('b'), true);
  assert.equal(await sup.stop('b'), false);
  assert.deepEqual(
    sup.list().map((s) => s.name),
    ['a'],
  );
  await sup.stopAll(); // daemon shutdown: keeps desired.json
  const rt2 = fakeRuntime();
  const again = new Supervisor({ stateDir: dir, start: rt2.start, backoff });
  await again.restore();
  assert.deepEqual(
    again.list().map((s) => [s.name, s.state, s.digest]),
    [['a', 'running', v1.digest]],
  );
  await again.stopAll();
});

test('a corrupt desired.json or pids.json: restore starts nothing, keeps the file, and says why', async (t) => {
  for (const file of ['desired.json', 'pids.json']) {
    const { dir, v1 } = await setup(t);
    const rt = fakeRuntime();
    const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff });
    await sup.ensure('a', v1.digest);
    await sup.stopAll();
    const path = join(dir, 'supervisor', file);
    writeFileSync(path, '{"a": ');
    const rt2 = fakeRuntime();
    const again = new Supervisor({ stateDir: dir, start: rt2.start, backoff });
    await again.restore();
    assert.deepEqual(again.list(), []);
    assert.equal(rt2.runs.length, 0, 'what a previous daemon ran is unknown: nothing is started');
    assert.match(again.unknownReason() ?? '', new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON`));
    await assert.rejects(again.ensure('a', v1.digest), /the supervisor does not know what runs/);
    await again.stopAll();
    assert.equal(readFileSync(path, 'utf8'), '{"a": ', 'the unreadable file is left for the operator');
  }
});

test('best_effort is loud: a start without the disk limit is reported for the audit log, a fully enforced one is not', async (t) => {
  const { dir, v1 } = await setup(t);
  const degraded: [string, string[]][] = [];
  const rt = fakeRuntime(undefined, (r) => ({ ...r, disk: 'shared' }));
  const sup = new Supervisor({ stateDir: dir, start: rt.start, backoff, onDegraded: (n, m) => degraded.push([n, m]) });
  t.after(() => sup.stopAll());
  await sup.ensure('a', v1.digest);
  assert.deepEqual(degraded, [['a', ['disk limit (read_write data shares the state file system)']]]);
  rt.runs[0]!.exit(1); // every restart says so again
  await until(() => degraded.length === 2);

  const fine: string[] = [];
  const rt2 = fakeRuntime(undefined, (r) => ({ ...r, disk: 'own_filesystem' }));
  const { dir: dir2, v1: w1 } = await setup(t);
  const sup3 = new Supervisor({ stateDir: dir2, start: rt2.start, backoff, onDegraded: (n) => fine.push(n) });
  t.after(() => sup3.stopAll());
  await sup3.ensure('a', w1.digest);
  assert.equal(rt2.runs.length, 1);
  assert.deepEqual(fine, []);
});

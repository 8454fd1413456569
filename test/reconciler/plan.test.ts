// Pure plan tests: desired × inventory × observed matrices, reasons, protect, drift, summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObservationError, observedDigest, plan, type PlanInput } from '../../src/reconciler/plan.js';
import { UserError } from '../../src/util/errors.js';
import { semanticSummary } from '../../src/reconciler/summary.js';
import type { Action } from '../../src/reconciler/types.js';
import { compileSpec, currentOf, desiredOf, entryOf, inventoryOf, observedOf, observedSandbox } from './fixtures.js';

const SLACK = { name: 'slack', host: 'slack.com', port: 443 };
const only = (p: { actions: Action[] }, name: string) => p.actions.find((a) => a.sandbox === name)!;

async function steady(t: Parameters<typeof compileSpec>[0]) {
  const [a] = await compileSpec(t, { a: { egress: [SLACK] } });
  const base: PlanInput = {
    desired: desiredOf([a!]),
    inventory: inventoryOf([a!]),
    observed: observedOf([a!]),
    current: currentOf([a!]),
    now: 'now',
  };
  return { a: a!, base };
}

test('nothing applied yet: create, with everything it may do as gains', async (t) => {
  const [a] = await compileSpec(t, { a: { egress: [SLACK] } });
  const p = plan({
    desired: desiredOf([a!]),
    inventory: { format_version: 1, sandboxes: {} },
    observed: { gateway: { running: false, pid: null, test_hooks: [] }, sandboxes: {}, unknown: [] },
    current: {},
    now: 'now',
  });
  assert.equal(only(p, 'a').kind, 'create');
  assert.equal(p.changes, true);
  assert.ok(only(p, 'a').summary.gains.includes('a may HTTPS to slack.com:443'));
  assert.ok(only(p, 'a').summary.gains.includes('a may write /tmp'));
});

test('applied and running as desired: noop, no changes', async (t) => {
  const { base } = await steady(t);
  const p = plan(base);
  assert.equal(only(p, 'a').kind, 'noop');
  assert.equal(p.changes, false);
  assert.deepEqual(only(p, 'a').drift, []);
});

test('an egress change is a reload naming the rule, with a semantic summary', async (t) => {
  const { a, base } = await steady(t);
  const [a2] = await compileSpec(t, {
    a: { egress: [SLACK, { name: 'api', host: 'api.slack.com', port: 80, protocol: 'http', methods: ['POST'], paths: ['/api/**'] }] },
  });
  const p = plan({ ...base, desired: desiredOf([a2!]) });
  const act = only(p, 'a');
  assert.equal(act.kind, 'reload');
  assert.match(act.reasons.join('\n'), /network\.egress\[api\] changed \(live/);
  assert.deepEqual(act.summary.gains, ['a may now POST to api.slack.com:80 on /api/**']);
  assert.deepEqual(act.summary.losses, []);
  assert.deepEqual(
    act.changes.map((c) => c.file),
    ['egress.json'],
  );
  assert.match(act.changes[0]!.diff, /^\+\s+"host": "api\.slack\.com",$/m);
  assert.equal(act.from_digest, a.digest);
});

test('a read_write change is a replace naming filesystem.read_write', async (t) => {
  const { base } = await steady(t);
  const [a2] = await compileSpec(t, { a: { egress: [SLACK], readWrite: ['/tmp', '/data'] } });
  const act = only(plan({ ...base, desired: desiredOf([a2!]) }), 'a');
  assert.equal(act.kind, 'replace');
  assert.match(act.reasons[0]!, /^filesystem\.read_write changed \(landlock\.json, sandbox\.json: locked at creation\)$/);
  assert.ok(act.summary.gains.includes('a may now write /data'));
});

test('a seccomp change is a replace, and the summary names the syscall', async (t) => {
  const { base } = await steady(t);
  const [a2] = await compileSpec(t, { a: { egress: [SLACK], seccompDeny: ['chmod'] } });
  const act = only(plan({ ...base, desired: desiredOf([a2!]) }), 'a');
  assert.equal(act.kind, 'replace');
  assert.match(act.reasons.join(), /process\.seccomp/);
  assert.ok(act.summary.losses.includes('a may no longer call chmod'), act.summary.losses.join('\n'));
});

test('in the inventory but not in the file: delete; protect blocks it unless allowed', async (t) => {
  const [a, b] = await compileSpec(t, { a: {}, b: { protect: true } });
  const input: PlanInput = {
    desired: desiredOf([a!]),
    inventory: inventoryOf([a!, b!]),
    observed: observedOf([a!, b!]),
    current: currentOf([a!, b!]),
    now: 'now',
  };
  const act = only(plan(input), 'b');
  assert.equal(act.kind, 'delete');
  assert.match(act.blocked ?? '', /protect: true; delete needs --allow-destroy/);
  assert.ok(act.summary.losses[0]!.includes('stops running'));
  assert.equal(only(plan({ ...input, allowDestroy: true }), 'b').blocked, null);
  assert.equal(only(plan(input), 'a').kind, 'noop');
});

test('protect blocks a replace for a config change, not a restart of a dead process', async (t) => {
  const [a] = await compileSpec(t, { a: { protect: true } });
  const [a2] = await compileSpec(t, { a: { protect: true, readWrite: ['/tmp', '/x'] } });
  const base: PlanInput = {
    desired: desiredOf([a2!]),
    inventory: inventoryOf([a!]),
    observed: observedOf([a!]),
    current: currentOf([a!]),
    now: 'now',
  };
  assert.match(only(plan(base), 'a').blocked ?? '', /replace needs --allow-destroy/);
  const dead: PlanInput = {
    ...base,
    desired: desiredOf([a!]),
    observed: { ...base.observed, sandboxes: { a: observedSandbox(a!, { state: 'absent', digest: null, report: null }) } },
  };
  const act = only(plan(dead), 'a');
  assert.equal(act.kind, 'replace');
  assert.equal(act.blocked, null);
  assert.match(act.reasons.join(), /drift: the sandbox process is not running/);
});

test('drift: policy version mismatch is a reload; an edited egress.json too; an edited seccomp.json a replace', async (t) => {
  const { a, base } = await steady(t);
  const wrongPolicy = { ...base.observed, sandboxes: { a: observedSandbox(a, {}, 'sha256:' + '0'.repeat(64)) } };
  const r1 = only(plan({ ...base, observed: wrongPolicy }), 'a');
  assert.equal(r1.kind, 'reload');
  assert.equal(r1.drift[0]!.kind, 'policy_mismatch');
  const edited = (f: 'egress.json' | 'seccomp.json') => ({
    ...base.observed,
    sandboxes: { a: { ...observedSandbox(a), edited_files: [f] } },
  });
  assert.equal(only(plan({ ...base, observed: edited('egress.json') }), 'a').kind, 'reload');
  const r3 = only(plan({ ...base, observed: edited('seccomp.json') }), 'a');
  assert.equal(r3.kind, 'replace');
  assert.match(r3.reasons.join(), /seccomp\.json edited by hand/);
});

test('drift: enforcement weaker than required (no Landlock under hard_requirement) is healed by replace', async (t) => {
  const { a, base } = await steady(t);
  const weak = observedSandbox(a);
  weak.process.report = { ...weak.process.report!, landlock: { ...weak.process.report!.landlock, enforced: false } };
  const act = only(plan({ ...base, observed: { ...base.observed, sandboxes: { a: weak } } }), 'a');
  assert.equal(act.kind, 'replace');
  assert.match(act.reasons.join(), /Landlock is not enforced/);
});

test('a running sandbox labelled with an older digest but the same locked parts only needs a reload', async (t) => {
  const { a, base } = await steady(t);
  const o = observedSandbox(a, { digest: 'sha256:' + '1'.repeat(64), locked_same: true });
  assert.equal(only(plan({ ...base, observed: { ...base.observed, sandboxes: { a: o } } }), 'a').kind, 'reload');
  const o2 = observedSandbox(a, { digest: 'sha256:' + '1'.repeat(64), locked_same: false });
  assert.equal(only(plan({ ...base, observed: { ...base.observed, sandboxes: { a: o2 } } }), 'a').kind, 'replace');
});

test('an interrupted create is re-done even for a protected sandbox', async (t) => {
  const [a] = await compileSpec(t, { a: { protect: true } });
  const inv = { format_version: 1 as const, sandboxes: { a: entryOf(a!, { status: 'creating' }) } };
  const act = only(
    plan({
      desired: desiredOf([a!]),
      inventory: inv,
      observed: { gateway: { running: true, pid: 1, test_hooks: [] }, sandboxes: {}, unknown: [] },
      current: currentOf([a!]),
      now: 'now',
    }),
    'a',
  );
  assert.equal(act.kind, 'replace');
  assert.equal(act.blocked, null);
});

test('running but recorded nowhere (leftover): delete; only a gateway registration (nemoclaw run): left alone', async (t) => {
  const { a, base } = await steady(t);
  const p = plan({ ...base, desired: desiredOf([]), inventory: { format_version: 1, sandboxes: {} }, current: {} });
  assert.equal(only(p, a.name).kind, 'delete');
  assert.equal(only(p, a.name).drift[0]!.kind, 'unmanaged');
  const gatewayOnly = { ...base.observed, sandboxes: { a: observedSandbox(a, { state: 'absent', digest: null, report: null }) } };
  const q = plan({ ...base, observed: gatewayOnly, desired: desiredOf([]), inventory: { format_version: 1, sandboxes: {} }, current: {} });
  assert.equal(only(q, a.name).kind, 'noop');
  assert.equal(only(q, a.name).drift[0]!.kind, 'unmanaged');
  assert.equal(q.changes, false);
});

test('refresh-only reports drift, proposes nothing, and still says something differs', async (t) => {
  const { a, base } = await steady(t);
  const dead = { ...base.observed, sandboxes: { a: observedSandbox(a, { state: 'absent', digest: null, report: null }) } };
  const p = plan({ ...base, observed: dead, refreshOnly: true });
  assert.equal(only(p, 'a').kind, 'noop');
  assert.equal(only(p, 'a').drift[0]!.kind, 'process_gone');
  assert.equal(p.changes, true);
  assert.equal(plan({ ...base, refreshOnly: true }).changes, false);
});

test('plan is pure: same input, same plan; input untouched; observed digest ignores pids and restarts', async (t) => {
  const { a, base } = await steady(t);
  const snapshot = JSON.stringify(base);
  assert.deepEqual(plan(base), plan(base));
  assert.equal(JSON.stringify(base), snapshot);
  const restarted = { ...base.observed, sandboxes: { a: observedSandbox(a, { pid: 99, restarts: 3 }) } };
  assert.equal(observedDigest(restarted, base.inventory), observedDigest(base.observed, base.inventory));
  const gone = { ...base.observed, sandboxes: { a: observedSandbox(a, { state: 'absent' }) } };
  assert.notEqual(observedDigest(gone, base.inventory), observedDigest(base.observed, base.inventory));
});

test('semantic summary: losses, user change, limits', async (t) => {
  const [a] = await compileSpec(t, { a: { egress: [SLACK], readWrite: ['/tmp', '/data'] } });
  const [b] = await compileSpec(t, { a: { readWrite: ['/tmp'], user: 2000 } });
  const s = semanticSummary('a', a!, b!);
  assert.ok(s.losses.includes('a may no longer HTTPS to slack.com:443'), s.losses.join('\n'));
  assert.ok(s.losses.includes('a may no longer write /data'));
  assert.ok(
    s.gains.some((g) => /^a now runs as uid \d+, gid \d+ \(was uid 1000, gid 1000\)$/.test(g)),
    s.gains.join('\n'),
  );
});

test('a new commit that changes nothing about a sandbox is a noop (only the manifest provenance moved)', async (t) => {
  const { a, base } = await steady(t);
  const manifest = { ...a.artifacts.manifest, source: { ...a.artifacts.manifest.source, git_commit: 'f'.repeat(40) } };
  const moved = { ...a, artifacts: { ...a.artifacts, manifest }, files: { ...a.files, 'manifest.json': JSON.stringify(manifest) + '\n' } };
  const act = only(plan({ ...base, desired: desiredOf([moved]) }), 'a');
  assert.equal(act.kind, 'noop');
  assert.deepEqual(act.changes, []);
});

test('an observation that is not the whole truth: no plan, an ObservationError with every reason', async (t) => {
  const { base } = await steady(t);
  const unknown = [
    'docker sandboxes: the Docker engine cannot be asked what runs: EACCES',
    'the gateway control socket /s does not answer',
  ];
  assert.throws(
    () => plan({ ...base, observed: { ...base.observed, unknown } }),
    (e: unknown) =>
      e instanceof ObservationError &&
      e instanceof UserError &&
      e.exitCode === 1 &&
      e.message === `cannot tell what runs on this host, so nothing is planned:\n  - ${unknown.join('\n  - ')}`,
  );
  assert.equal(plan(base).changes, false, 'the same input with a complete observation plans');
});

// apply: the only place with side effects. Turns a plan's actions into journaled, idempotent
// steps, runs them, records a generation, then verifies that what runs is what was planned.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RuntimeKind } from '../compiler/artifacts.js';
import { policyVersion, sha256 } from '../compiler/canonical.js';
import { UserError } from '../util/errors.js';
import { auditDegraded, ensureGateway, PolicyBatcher } from '../daemon/client.js';
import { notEnforced } from '../init-protocol/report.js';
import { driversFor, observe } from './observe.js';
import type { Driver } from './drivers/driver.js';
import { enforcementGaps } from './enforcement.js';
import { checkHealth, DEFAULT_SETTLE_MS, type HealthFailure } from './health.js';
import { Journal } from './journal.js';
import type { StateStore } from '../state/store.js';
import { retainedPathFor } from '../state/source.js';
import { type Action, type Desired, type Plan } from './types.js';
import { BLUEPRINT_FILES, type BlueprintFile, type DesiredSandbox, type Generation, type InventoryEntry } from '../state/types.js';

export interface ApplyContext {
  store: StateStore;
  progress: (line: string) => void;
  /** How long a started or replaced sandbox must stay up; default DEFAULT_SETTLE_MS. */
  settleMs?: number;
}

export interface ApplyResult {
  generation: Generation | null;
  problems: string[];
  steps: number;
  /** Sandboxes started or replaced by this apply that did not stay up for the settle time. */
  health: HealthFailure[];
}

type Started = Map<string, { restarts: number; driver: Driver }>;

interface Step {
  sandbox: string | null;
  description: string;
  run: () => Promise<void>;
  phase?: string;
  /** Starts or stops a sandbox: at most PARALLEL[phase] such steps run at once. */
  heavy?: boolean;
}

/**
 * How many sandboxes an apply starts or stops at once. Starting one is mostly waiting (on the
 * gateway's control API, on the init to report), so the bound is above the core count; stopping
 * is waiting for a process to exit. The light steps around them (recording, storing the
 * blueprint, the gateway policy) run for every sandbox of the phase at once, so their journal
 * and inventory writes and their gateway round trips are shared (group commit, PolicyBatcher).
 */
const PARALLEL: Record<Action['kind'], number> = { delete: 32, replace: 16, create: 16, reload: 16, noop: 1 };

/** At most `limit` holders at once, served in order of arrival. */
class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  async use<T>(f: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Sandboxes of one phase whose chains of steps are under way at once (their heavy steps wait for PARALLEL). */
const CHAINS_AT_ONCE = 256;

/** A sandbox whose steps failed, and why. */
interface Failure {
  sandbox: string;
  error: unknown;
}

/**
 * Run each sandbox's chain of steps, at most `limit` chains at a time. A failing chain stops only
 * itself: the other sandboxes still get their turn, and every failure is returned.
 */
async function pool<T>(items: T[], limit: number, f: (x: T) => Promise<void>, nameOf: (x: T) => string): Promise<Failure[]> {
  let next = 0;
  const failures: Failure[] = [];
  const worker = async () => {
    while (next < items.length) {
      const x = items[next++]!;
      try {
        await f(x);
      } catch (error) {
        failures.push({ sandbox: nameOf(x), error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures.sort((a, b) => a.sandbox.localeCompare(b.sandbox));
}

function entryFor(
  sb: DesiredSandbox,
  desired: Desired,
  prev: InventoryEntry | undefined,
  status: InventoryEntry['status'],
): InventoryEntry {
  const now = new Date().toISOString();
  return {
    name: sb.name,
    runtime: sb.artifacts.sandbox.runtime,
    blueprint_digest: sb.digest,
    artifacts: Object.fromEntries(BLUEPRINT_FILES.map((f) => [f, sha256(sb.files[f])])) as Record<BlueprintFile, string>,
    config_path: desired.configPath ?? prev?.config_path ?? null,
    git_commit: desired.gitCommit ?? prev?.git_commit ?? null,
    driver: prev?.driver ?? { kind: sb.artifacts.sandbox.runtime, id: null },
    gateway_socket: prev?.gateway_socket ?? null,
    protect: sb.artifacts.sandbox.protect,
    status,
    created_at: prev?.created_at ?? now,
    updated_at: now,
  };
}

/**
 * Stop by the id the inventory recorded; when a crash came before the id was recorded, by the id
 * the driver reports for this state directory's sandbox of that name (never by a name pattern).
 */
async function destroyWith(d: Driver, ctx: { stateDir: string }, name: string, id: string | null): Promise<void> {
  let known = id;
  if (!known) {
    const view = await d.observe(ctx);
    if (!view.known) throw new Error(`cannot find ${name} to stop it: ${view.reason}`);
    known = view.sandboxes.get(name)?.id ?? null;
  }
  await d.destroy(ctx, name, known);
}

function stepsFor(
  a: Action,
  desired: Desired,
  ctx: ApplyContext,
  driver: (k: RuntimeKind) => Driver,
  started: Started,
  policies: PolicyBatcher,
): Step[] {
  const { store } = ctx;
  const stateDir = store.root;
  const sb = desired.sandboxes.find((s) => s.name === a.sandbox);
  const name = a.sandbox;
  const dctx = { stateDir };
  const record = (status: InventoryEntry['status'], patch: Partial<InventoryEntry> = {}) =>
    store.updateEntry(name, (prev) => ({ ...entryFor(sb!, desired, prev, status), ...patch }));
  // Registrations of the sandboxes of one phase share round trips (PolicyBatcher); a failure
  // is this sandbox's alone, and says whose it is.
  const named = <T>(p: Promise<T>) =>
    p.catch((e: unknown) => {
      throw new Error(`gateway policy of ${name}: ${(e as Error).message}`);
    });
  const registerOrUnregister = async () => {
    if (sb!.artifacts.sandbox.network.mode === 'gateway') {
      // The daemon puts the policy in force before it answers: the version returned is enforced.
      const r = await named(policies.register(name, Buffer.from(sb!.files['egress.json'])));
      store.updateEntry(name, (prev) => prev && { ...prev, gateway_socket: r.socketPath });
    } else {
      await named(policies.unregister(name));
    }
  };
  const inv = () => store.readEntry(name);
  switch (a.kind) {
    case 'create':
    case 'replace': {
      const steps: Step[] = [
        {
          sandbox: name,
          description: `record ${name} and store its blueprint`,
          run: async () => {
            await store.storeBlueprintAsync(sb!);
            record('creating');
          },
        },
      ];
      if (a.kind === 'replace') {
        steps.push({
          sandbox: name,
          description: `stop ${name}`,
          run: () => destroyWith(driver(inv()?.runtime ?? a.runtime), dctx, name, inv()?.driver.id ?? null),
          heavy: true,
        });
      }
      steps.push(
        { sandbox: name, description: `gateway policy for ${name}`, run: registerOrUnregister },
        {
          sandbox: name,
          description: `start ${name}`,
          heavy: true,
          run: async () => {
            const d = driver(sb!.artifacts.sandbox.runtime);
            const o = await d.create(dctx, sb!);
            started.set(name, { restarts: o.restarts, driver: d });
            // The process runtime's supervisor audits this itself, in the daemon; docker's start is here.
            const missing = o.report && sb!.artifacts.sandbox.runtime === 'docker' ? notEnforced(o.report) : [];
            if (missing.length > 0) await auditDegraded(stateDir, name, missing); // the gateway runs: started by an earlier step
            store.updateEntry(name, (prev) => prev && { ...prev, driver: { kind: sb!.artifacts.sandbox.runtime, id: o.id } });
          },
        },
        { sandbox: name, description: `mark ${name} ready`, run: async () => record('ready') },
      );
      return steps;
    }
    case 'reload':
      return [
        {
          sandbox: name,
          description: `store the new blueprint of ${name}`,
          run: async () => {
            await store.storeBlueprintAsync(sb!);
            record('ready');
          },
        },
        { sandbox: name, description: `reload the gateway policy of ${name}`, run: registerOrUnregister },
        {
          sandbox: name,
          description: `relabel ${name}`,
          heavy: true,
          run: async () => {
            await driver(sb!.artifacts.sandbox.runtime).reload(dctx, sb!);
          },
        },
      ];
    case 'delete': {
      const known = inv();
      const steps: Step[] = [];
      if (known)
        steps.push({
          sandbox: name,
          description: `mark ${name} for deletion`,
          run: async () => store.updateEntry(name, (prev) => prev && { ...prev, status: 'deleting' }),
        });
      steps.push(
        {
          sandbox: name,
          description: `stop ${name}`,
          run: () => destroyWith(driver(known?.runtime ?? a.runtime), dctx, name, known?.driver.id ?? null),
          heavy: true,
        },
        {
          sandbox: name,
          description: `remove the gateway policy of ${name}`,
          run: async () => {
            await named(policies.unregister(name));
          },
        },
      );
      if (known) {
        steps.push(
          // Only the directory the inventory says nemoclaw made for this sandbox (workspace, logs):
          // moved aside, never removed; `destroy --purge` removes it (no data loss without a human).
          {
            sandbox: name,
            description: `keep ${name}'s files aside`,
            run: async () => {
              const from = store.layout.sandboxDir(name);
              if (!existsSync(from)) return;
              const to = retainedPathFor(stateDir, name, new Date());
              mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
              renameSync(from, to);
            },
          },
          { sandbox: name, description: `forget ${name}`, run: async () => store.updateEntry(name, () => undefined) },
        );
      }
      return steps;
    }
    case 'noop':
      return [];
  }
}

class PhaseFailed extends Error {
  constructor(readonly failures: Failure[]) {
    super(failures.map((f) => `${f.sandbox}: ${(f.error as Error).message}`).join('; '));
  }
}

export async function applyPlan(
  ctx: ApplyContext,
  plan: Plan,
  desired: Desired,
  o: { allowDestroy: boolean; record: boolean; scope?: Set<string> },
): Promise<ApplyResult> {
  const blocked = plan.actions.filter((a) => a.kind !== 'noop' && a.blocked && !o.allowDestroy);
  if (blocked.length) throw new UserError(`refusing to apply:\n  - ${blocked.map((a) => a.blocked).join('\n  - ')}`, [], 1);
  const { store } = ctx;
  store.ensureRoot();
  const drivers = new Map<string, Driver>();
  const driver = (k: RuntimeKind) => {
    if (!drivers.has(k))
      drivers.set(
        k,
        driversFor([k]).find((d) => d.kind === k)!,
      );
    return drivers.get(k)!;
  };
  const work = plan.actions.filter((a) => a.kind !== 'noop');
  const steps: Step[] = [];
  const started: Started = new Map();
  const policies = new PolicyBatcher(store.root);
  if (work.length) steps.push({ sandbox: null, description: 'start the gateway daemon if needed', run: () => ensureGateway(store.root) });
  // Deletes first (free names and resources), then replaces, creates, reloads.
  const order = { delete: 0, replace: 1, create: 2, reload: 3, noop: 4 } as const;
  for (const a of [...work].sort((x, y) => order[x.kind] - order[y.kind] || x.sandbox.localeCompare(y.sandbox))) {
    steps.push(...stepsFor(a, desired, ctx, driver, started, policies).map((st) => ({ ...st, phase: a.kind })));
  }
  let generation: Generation | null = null;
  if (work.length && o.record) {
    steps.push({
      sandbox: null,
      description: 'record the generation',
      run: async () => {
        generation = store.recordGeneration({
          config_path: desired.configPath,
          git_commit: desired.gitCommit,
          // What the inventory now records, which is what this apply made true.
          sandboxes: Object.fromEntries(
            Object.values(store.readInventory().sandboxes)
              .map((e) => [e.name, e.blueprint_digest])
              .sort(),
          ),
          rollback_of: plan.rollback_to,
        });
      },
    });
  }
  if (steps.length === 0) return { generation: null, problems: await verify(ctx, desired, o.scope), steps: 0, health: [] };

  const journal = new Journal(
    store.layout.journalFile,
    steps.map(({ sandbox, description }) => ({ sandbox, description })),
  );
  const width = String(steps.length).length;
  let done = 0;
  const runOne = async (i: number) => {
    const t0 = Date.now();
    await journal.run(i + 1, async () => {
      await steps[i]!.run();
      await store.inventoryWritten(); // what the step recorded is on disk before it counts as done
    });
    ctx.progress(`[${String(++done).padStart(width)}/${steps.length}] ${steps[i]!.description} (${Date.now() - t0} ms)`);
  };
  store.batchInventory();
  try {
    // Steps of one sandbox run in order; different sandboxes of the same kind of action run
    // side by side (stopping 50 sandboxes one after the other would take minutes). Steps that
    // belong to no sandbox (gateway, generation) are barriers, and so is the end of a kind of
    // action: when a sandbox of it failed, the others still ran, and the apply stops there.
    let i = 0;
    while (i < steps.length) {
      if (steps[i]!.sandbox === null) {
        await runOne(i++);
        continue;
      }
      const chains = new Map<string, number[]>();
      const phase = steps[i]!.phase as Action['kind'];
      while (i < steps.length && steps[i]!.sandbox !== null && steps[i]!.phase === phase) {
        const k = steps[i]!.sandbox!;
        chains.set(k, [...(chains.get(k) ?? []), i++]);
      }
      const heavy = new Semaphore(PARALLEL[phase]);
      const failures = await pool(
        [...chains.values()],
        CHAINS_AT_ONCE,
        async (chain) => {
          for (const j of chain) await (steps[j]!.heavy ? heavy.use(() => runOne(j)) : runOne(j));
        },
        (chain) => steps[chain[0]!]!.sandbox!,
      );
      if (failures.length) throw new PhaseFailed(failures);
    }
  } catch (e) {
    await store.endInventoryBatch();
    await journal.finish(false);
    const failed = journal.steps.filter((s) => s.state === 'failed');
    const what =
      e instanceof PhaseFailed && e.failures.length > 1
        ? `${e.failures.length} sandboxes failed (first at step ${failed[0]?.n ?? '?'}):\n` +
          e.failures.map((f) => `  - ${f.sandbox}: ${(f.error as Error).message}`).join('\n')
        : `at step ${failed[0]?.n ?? '?'}: ${((e instanceof PhaseFailed ? e.failures[0]!.error : e) as Error).message}`;
    throw new UserError(`apply failed ${what}\nWhat already happened is recorded; run apply again to converge.`, [], 1);
  }
  await store.endInventoryBatch();
  await journal.finish(true);
  const health = await checkHealth(store, started, ctx.settleMs ?? DEFAULT_SETTLE_MS);
  return { generation, problems: await verify(ctx, desired, o.scope), steps: steps.length, health };
}

/** After apply: observed must equal desired, with the policy acknowledged and enforcement reported. */
export async function verify(ctx: ApplyContext, desired: Desired, scope?: Set<string>): Promise<string[]> {
  const inv = ctx.store.readInventory();
  const kinds = new Set(desired.sandboxes.map((s) => s.artifacts.sandbox.runtime));
  const { observed } = await observe(ctx.store, inv, driversFor(kinds));
  const problems: string[] = observed.unknown.map((r) => `cannot verify: ${r}`);
  for (const sb of desired.sandboxes) {
    if (scope && !scope.has(sb.name)) continue;
    const o = observed.sandboxes[sb.name];
    const e = inv.sandboxes[sb.name];
    if (!e || e.blueprint_digest !== sb.digest || e.status !== 'ready')
      problems.push(`${sb.name}: the inventory does not record it as applied`);
    if (!o || o.process.state !== 'running') {
      problems.push(`${sb.name}: not running (${o?.process.state ?? 'absent'}${o?.process.last_error ? `: ${o.process.last_error}` : ''})`);
      continue;
    }
    if (o.process.digest !== sb.digest) problems.push(`${sb.name}: runs blueprint ${o.process.digest}, expected ${sb.digest}`);
    if (sb.artifacts.sandbox.network.mode === 'gateway' && o.policy_version !== policyVersion(sb.files['egress.json'])) {
      problems.push(
        `${sb.name}: the gateway enforces policy ${o.policy_version ?? 'none'}, expected ${policyVersion(sb.files['egress.json'])}`,
      );
    }
    for (const g of enforcementGaps(sb.artifacts, o.process.report, o.process.seccomp_digest))
      problems.push(`${sb.name}: enforcement weaker than required: ${g}`);
    if (o.edited_files.length) problems.push(`${sb.name}: stored blueprint files differ: ${o.edited_files.join(', ')}`);
  }
  const want = new Set(desired.sandboxes.map((s) => s.name));
  for (const [name, o] of Object.entries(observed.sandboxes)) {
    if (want.has(name) || (scope && !scope.has(name))) continue;
    if (o.process.state !== 'absent') problems.push(`${name}: still known to the supervisor (${o.process.state})`);
    if (o.policy_version && (inv.sandboxes[name] || o.process.state !== 'absent'))
      problems.push(`${name}: still registered with the gateway`);
    if (inv.sandboxes[name]) problems.push(`${name}: still in the inventory`);
  }
  return problems;
}

// plan: desired blueprints × inventory × observed host → actions with reasons. PURE: no file
// system, no clock (the caller passes `now`), no network. One decision function per sandbox,
// in the spirit of a Flux reconciler: compare what should be with what is, say what to do.
import { canonicalJson, policyVersion, sha256 } from '../compiler/canonical.js';
import { EXIT_INVALID, UserError } from '../util/errors.js';
import type { CompiledSandbox } from '../compiler/artifacts.js';
import { fileChanges } from './changes.js';
import { enforcementGaps } from './enforcement.js';
import { semanticSummary } from './summary.js';
import {
  PLAN_FORMAT_VERSION,
  type Action,
  type ActionKind,
  type Desired,
  type Drift,
  type Observed,
  type ObservedSandbox,
  type Plan,
} from './types.js';
import { BLUEPRINT_FILES, LIVE_FILES, LOCKED_FILES, type BlueprintFile, type Inventory, type InventoryEntry } from '../state/types.js';

export interface PlanInput {
  desired: Desired;
  inventory: Inventory;
  observed: Observed;
  /** The stored blueprint each inventory entry points at; null when the store lost or altered it. */
  current: Record<string, CompiledSandbox | null>;
  refreshOnly?: boolean;
  allowDestroy?: boolean;
  now: string;
  rollbackTo?: number | null;
}

/** Observation that is not the whole truth: no plan is made from it (exit 1, with the reasons). */
export class ObservationError extends UserError {
  constructor(readonly reasons: string[]) {
    super(`cannot tell what runs on this host, so nothing is planned:\n  - ${reasons.join('\n  - ')}`, [], EXIT_INVALID);
    this.name = 'ObservationError';
  }
}

/** Plan and apply refuse on an unknown observation: "cannot see it" must never read as "absent". */
export function requireKnown(o: Observed): void {
  if (o.unknown.length > 0) throw new ObservationError(o.unknown);
}

export function desiredDigest(d: Desired): string {
  return sha256(canonicalJson(Object.fromEntries(d.sandboxes.map((s) => [s.name, s.digest]))));
}

/** Only what matters for "has the host changed since the plan?": not pids nor restart counts. */
export function observedDigest(o: Observed, inv: Inventory): string {
  const sandboxes = Object.fromEntries(
    Object.entries(o.sandboxes).map(([n, s]) => [
      n,
      {
        state: s.process.state === 'running' || s.process.state === 'backoff' ? 'up' : s.process.state,
        digest: s.process.digest,
        policy: s.policy_version,
        edited: s.edited_files,
      },
    ]),
  );
  const recorded = Object.fromEntries(Object.entries(inv.sandboxes).map(([n, e]) => [n, { digest: e.blueprint_digest, status: e.status }]));
  return sha256(canonicalJson({ gateway: o.gateway.running, sandboxes, recorded }));
}

const short = (d: string) => `${d.slice(0, 19)}…`;

/** Drift: the host differs from what the inventory says nemoclaw applied. */
export function driftOf(e: InventoryEntry, o: ObservedSandbox | undefined, current: CompiledSandbox | null): Drift[] {
  const out: Drift[] = [];
  if (e.status !== 'ready')
    out.push({
      kind: 'interrupted',
      detail: `a previous apply stopped while ${e.status === 'creating' ? 'creating or replacing' : 'deleting'} it`,
    });
  for (const f of o?.edited_files ?? [])
    out.push({ kind: 'file_edited', detail: `${f} in the state directory was modified or removed by hand` });
  const state = o?.process.state ?? 'absent';
  if (state === 'absent' || state === 'stopped') out.push({ kind: 'process_gone', detail: 'the sandbox process is not running' });
  else if (state === 'failed')
    out.push({
      kind: 'process_gone',
      detail: `the sandbox failed and is not restarted${o?.process.last_error ? `: ${o.process.last_error}` : ''}`,
    });
  else if (state === 'backoff')
    out.push({
      kind: 'process_failing',
      detail: `the agent keeps exiting (${o!.process.restarts} restarts${o!.process.last_error ? `, last: ${o!.process.last_error}` : ''})`,
    });
  if (state === 'running' && o!.process.digest && o!.process.digest !== e.blueprint_digest && o!.process.locked_same) {
    out.push({ kind: 'policy_mismatch', detail: `the running sandbox is still labelled ${short(o!.process.digest)} (same locked parts)` });
  } else if (state === 'running' && o!.process.digest && o!.process.digest !== e.blueprint_digest) {
    out.push({
      kind: 'digest_mismatch',
      detail: `running blueprint ${short(o!.process.digest)} is not the applied ${short(e.blueprint_digest)}`,
    });
  }
  if (state === 'running' && current) {
    const gaps = enforcementGaps(current.artifacts, o!.process.report, o!.process.seccomp_digest);
    for (const g of gaps) out.push({ kind: 'enforcement_weaker', detail: g });
  }
  if (current && current.artifacts.sandbox.network.mode === 'gateway') {
    const want = policyVersion(current.files['egress.json']);
    if (!o?.policy_version) out.push({ kind: 'policy_missing', detail: 'the gateway has no policy for it' });
    else if (o.policy_version !== want)
      out.push({ kind: 'policy_mismatch', detail: `the gateway enforces policy ${short(o.policy_version)}, applied was ${short(want)}` });
  }
  return out;
}

const LOCKED: readonly BlueprintFile[] = LOCKED_FILES;
const HEAL_BY_REPLACE: ReadonlySet<Drift['kind']> = new Set(['process_gone', 'digest_mismatch', 'enforcement_weaker', 'interrupted']);

function decide(name: string, input: PlanInput): Action {
  const d = input.desired.sandboxes.find((s) => s.name === name) ?? null;
  const e = input.inventory.sandboxes[name];
  const o = input.observed.sandboxes[name];
  const cur = e ? (input.current[name] ?? null) : null;
  const base = {
    sandbox: name,
    changes: [],
    drift: [] as Drift[],
    blocked: null as string | null,
    from_digest: e?.blueprint_digest ?? o?.process.digest ?? null,
    to_digest: d?.digest ?? null,
    runtime: d?.artifacts.sandbox.runtime ?? e?.runtime ?? 'process',
  };
  const protectedNow = Boolean(e?.protect || cur?.artifacts.sandbox.protect || d?.artifacts.sandbox.protect);
  const guard = (kind: ActionKind): string | null =>
    (kind === 'delete' || kind === 'replace') && protectedNow && !input.allowDestroy && e?.status !== 'creating'
      ? `${name} has protect: true; ${kind} needs --allow-destroy`
      : null;
  const act = (kind: ActionKind, reasons: string[], extra: Partial<Action> = {}): Action => {
    const a: Action = { ...base, kind, reasons, summary: { gains: [], losses: [] }, ...extra };
    if (input.refreshOnly && kind !== 'noop')
      return { ...a, kind: 'noop', reasons: [...reasons.map((r) => `(refresh-only, not proposed) ${kind}: ${r}`)], changes: [] };
    a.blocked = guard(kind);
    return a;
  };

  if (!e && !d) {
    if (!o || o.process.state === 'absent') {
      // Only a gateway registration: `nemoclaw run` registers its foreground sandbox there too,
      // so it is not necessarily ours. Reported, left alone.
      return act('noop', ['registered with the gateway but not in the inventory (e.g. `nemoclaw run`); left alone'], {
        drift: [{ kind: 'unmanaged', detail: 'a gateway registration nemoclaw apply did not make' }],
      });
    }
    // Run by the supervisor or a container of this state directory, recorded nowhere: a leftover
    // of an interrupted apply (they only run what apply asked for), so it is ours to remove.
    return act('delete', ['not in the inventory, but the supervisor or the container engine still runs it'], {
      drift: [{ kind: 'unmanaged', detail: 'running without an inventory entry' }],
      summary: { gains: [], losses: [`${name} stops running`] },
    });
  }
  if (e && !d) {
    const drift = driftOf(e, o, cur);
    return act('delete', [`not in ${input.desired.configPath ?? 'the desired generation'}`], {
      drift,
      summary: semanticSummary(name, cur, null),
    });
  }
  if (!e) {
    const extra = o ? [`(the gateway or supervisor already has a leftover ${name}; it is replaced)`] : [];
    return act('create', [`new in ${input.desired.configPath ?? 'the desired generation'}`, ...extra], {
      summary: semanticSummary(name, null, d),
    });
  }

  const desired = d!;
  const drift = driftOf(e, o, cur);
  const before: Partial<Record<BlueprintFile, string>> = cur ? cur.files : {};
  // The blueprint digest covers every artifact's sha256 (the manifest lists them), so equal
  // digests mean equal artifacts: only provenance (source file, git commit) can differ, and a
  // commit that changes nothing about a sandbox must not touch it. That is the common case of a
  // no-op plan, and it costs one string compare: no hashing, no diff, no summary.
  let changedFiles: BlueprintFile[] = [];
  if (e.blueprint_digest !== desired.digest) {
    changedFiles = BLUEPRINT_FILES.filter((f) => e.artifacts[f] !== sha256(desired.files[f]));
    // The manifest lists the other digests: its diff only repeats theirs unless it is all that changed.
    if (changedFiles.some((f) => f !== 'manifest.json')) changedFiles = changedFiles.filter((f) => f !== 'manifest.json');
  }
  const changes = fileChanges(before, desired.files, changedFiles);
  const summary = changedFiles.length > 0 ? semanticSummary(name, cur, desired) : { gains: [], losses: [] };
  const lockedChanges = changes.filter((c) => LOCKED.includes(c.file));
  const liveChanges = changes.filter((c) => (LIVE_FILES as readonly BlueprintFile[]).includes(c.file));
  const editedLocked = (o?.edited_files ?? []).filter((f) => LOCKED.includes(f) || f === 'manifest.json');

  if (lockedChanges.length > 0) {
    // One line per config field, naming every locked artifact it touched.
    const byField = new Map<string, string[]>();
    for (const c of lockedChanges) for (const f of c.fields) byField.set(f, [...(byField.get(f) ?? []), c.file]);
    const reasons = [...byField].map(([f, files]) => `${f} changed (${files.join(', ')}: locked at creation)`);
    return act('replace', reasons, { changes, drift, summary });
  }
  const heal = drift.filter((x) => HEAL_BY_REPLACE.has(x.kind));
  if (heal.length > 0 || editedLocked.length > 0) {
    const a = act(
      'replace',
      [
        ...heal.map((x) => `drift: ${x.detail}`),
        ...editedLocked.map((f) => `drift: ${f} edited by hand; rewritten and restarted from the applied blueprint`),
      ],
      { changes, drift, summary },
    );
    // Restarting a sandbox that is not running destroys nothing: protect does not apply.
    if (heal.every((x) => x.kind === 'process_gone' || x.kind === 'interrupted') && editedLocked.length === 0) a.blocked = null;
    return a;
  }
  const policyDrift = drift.filter((x) => x.kind === 'policy_mismatch' || x.kind === 'policy_missing' || x.kind === 'file_edited');
  if (liveChanges.length > 0 || changes.length > 0 || policyDrift.length > 0) {
    const reasons = [
      ...liveChanges.map((c) => `${c.fields.join(', ')} changed (live: the gateway reloads it, the sandbox keeps running)`),
      ...changes.filter((c) => c.file === 'manifest.json').map(() => 'blueprint metadata changed (manifest.json only)'),
      ...policyDrift.map((x) => `drift: ${x.detail}`),
    ];
    return act('reload', reasons, { changes, drift, summary });
  }
  return act('noop', drift.length ? drift.map((x) => `drift (no action): ${x.detail}`) : ['up to date'], { drift });
}

export function plan(input: PlanInput): Plan {
  requireKnown(input.observed);
  const names = [
    ...new Set([
      ...input.desired.sandboxes.map((s) => s.name),
      ...Object.keys(input.inventory.sandboxes),
      ...Object.keys(input.observed.sandboxes),
    ]),
  ].sort();
  const actions = names.map((n) => decide(n, input));
  const changes = actions.some((a) => a.kind !== 'noop') || (input.refreshOnly === true && actions.some((a) => a.drift.length > 0));
  return {
    format_version: PLAN_FORMAT_VERSION,
    created_at: input.now,
    refresh_only: input.refreshOnly === true,
    config: { path: input.desired.configPath, digest: input.desired.configDigest, git_commit: input.desired.gitCommit },
    desired_digest: desiredDigest(input.desired),
    observed_digest: observedDigest(input.observed, input.inventory),
    actions,
    changes,
    blueprints: Object.fromEntries(input.desired.sandboxes.map((s) => [s.name, s.files])),
    rollback_to: input.rollbackTo ?? null,
  };
}

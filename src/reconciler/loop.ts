// The pull-based loop, one tick at a time: fetch → verify → refuse rewinds → compile → plan
// against the observed host → apply → health → record a Flux-style condition. Every tick plans
// against the host, so drift is healed even when git has not moved; a failed tick leaves the
// host on the last applied commit.
import { isAbsolute, join, normalize } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UserError } from '../util/errors.js';
import { applyPlan } from './apply.js';
import { describeHealth, type HealthFailure } from './health.js';
import { acquireLock } from './lock.js';
import { formatAge, pruneKeptData } from './retention.js';
import { notify, type NotifyEvent } from './notify.js';
import { desiredFromFile, makePlan } from './reconcile.js';
import { checkoutVerified, descendsFrom, fetchSource } from './source.js';
import { commitChecks, verifyCommit, type CheckResult } from './verify-commit.js';
import { cachedVerification, rememberVerification, verificationKey } from './verify-cache.js';
import type { Plan } from './types.js';
import type { StateStore } from '../state/store.js';
import {
  INITIAL_STATUS,
  readReconcileStatus,
  redactUrl,
  sourcePaths,
  writeReconcileStatus,
  type Condition,
  type ConditionReason,
  type ConditionStatus,
  type GitSource,
  type ReconcileStatus,
} from '../state/source.js';

export interface TickOptions {
  /** --allow-rewind: an operator accepts a head that does not descend from the applied commit. */
  allowRewind: boolean;
  settleMs: number;
  /** One line per tick, and notes (notify errors). */
  log: (line: string) => void;
  /** Apply's step lines. */
  progress: (line: string) => void;
}

export interface TickResult {
  status: ReconcileStatus;
  /** True when the host converged to the fetched commit (or the loop is suspended). */
  ok: boolean;
}

const short = (c: string | null) => (c ? c.slice(0, 12) : 'none');

/** The config path inside the repository: relative and inside it (the tree is ours, not the repo's). */
export function checkRepoPath(path: string): string {
  const n = normalize(path);
  if (isAbsolute(n) || n === '..' || n.startsWith('../'))
    throw new UserError(`--path ${path}: give a path inside the repository, e.g. nemoclaw.yaml`, [], 2);
  return n;
}

/** First line of an error, without a stack; UserError diagnostics become "file:line: message". */
function messageOf(e: unknown): string {
  if (e instanceof UserError && e.diagnostics.length)
    return `${e.message}: ${e.diagnostics
      .slice(0, 3)
      .map((d) => `${d.file}:${d.line}: ${d.message}`)
      .join('; ')}`;
  return (e as Error)?.message ?? String(e);
}

export async function tick(store: StateStore, source: GitSource, o: TickOptions): Promise<TickResult> {
  const root = store.root;
  store.ensureRoot();
  const prev = readReconcileStatus(root) ?? structuredClone(INITIAL_STATUS);
  const started = performance.now();
  const now = new Date().toISOString();
  const st: ReconcileStatus = { ...prev, last_attempt: now, next_attempt: null };
  let healed: string[] = [];

  const finish = async (status: ConditionStatus, reason: ConditionReason, message: string): Promise<TickResult> => {
    const changed = prev.condition.status !== status || prev.condition.reason !== reason;
    const condition: Condition = {
      type: 'Ready',
      status,
      reason,
      message,
      last_transition: changed || !prev.condition.last_transition ? now : prev.condition.last_transition,
    };
    const ok = status === 'True' || reason === 'Suspended';
    // suspend/resume may have run during the tick: their word wins.
    const onDisk = readReconcileStatus(root);
    const out: ReconcileStatus = {
      ...st,
      suspended: onDisk ? onDisk.suspended : st.suspended,
      failures: ok ? 0 : prev.failures + 1,
      last_duration_ms: Math.round(performance.now() - started),
      condition,
    };
    writeReconcileStatus(root, out);
    const verified = source.verify ? (out.verified_by ?? '-') : 'unverified';
    o.log(
      `${now} reconcile ${redactUrl(source.url)}@${source.ref} fetched ${short(out.fetched_commit)} applied ${short(out.applied_commit)} ` +
        `(${verified}) Ready=${status} ${reason}: ${message.split('\n')[0]} [${out.last_duration_ms} ms]`,
    );
    let event: NotifyEvent | null = null;
    if (!ok && changed) event = 'failure';
    else if (ok && status === 'True' && prev.condition.status === 'False') event = 'recovery';
    else if (ok && healed.length) event = 'drift_healed';
    if (event)
      await notify(
        source.notify,
        { event, time: now, source: `${redactUrl(source.url)}@${source.ref}:${source.path}`, commit: out.fetched_commit, reason, message },
        o.log,
      );
    return { status: out, ok };
  };

  // 0. Kept data of deleted sandboxes past the retention setting (off by default); a suspended
  // loop removes nothing.
  if (!prev.suspended) {
    const removed = pruneKeptData(root, source.retention_ms ?? null, new Date(now));
    for (const r of removed)
      o.log(
        `${now} reconcile removed kept data of deleted sandbox ${r.sandbox} (deleted ${r.deleted_at}, ${r.bytes} bytes, ` +
          `retention ${formatAge(source.retention_ms!)}): ${r.path}`,
      );
    if (removed.length)
      st.removed_kept_data = [
        ...removed.map((r) => ({ sandbox: r.sandbox, deleted_at: r.deleted_at, removed_at: now, bytes: r.bytes })),
        ...(prev.removed_kept_data ?? []),
      ].slice(0, 20);
  }

  // 1. Fetch into the mirror. A failure changes nothing on the host.
  let head: string;
  let notes: string | null;
  try {
    ({ commit: head, notes } = await fetchSource(root, source.url, source.ref));
  } catch (e) {
    return finish(
      'False',
      'FetchFailed',
      `fetch of ${source.ref} from ${redactUrl(source.url)} failed: ${redactUrl(messageOf(e).split('\n')[0]!)}`,
    );
  }
  st.fetched_commit = head;
  if (prev.suspended) {
    const why = prev.suspended.reason ? ` (${prev.suspended.reason})` : '';
    return finish('Unknown', 'Suspended', `suspended since ${prev.suspended.since}${why}: fetched ${short(head)}, applying nothing`);
  }

  // 2. Verify: every check must pass before anything reads the tree.
  const v = await verified(root, source, head, notes);
  if (!v.ok)
    return finish(
      'False',
      v.reason ?? 'VerificationFailed',
      `commit ${short(head)} refused: ${v.why}; the host stays on ${short(prev.applied_commit)}`,
    );

  // 3. Anti-rollback.
  if (prev.applied_commit && !o.allowRewind && !(await descendsFrom(root, prev.applied_commit, head)))
    return finish(
      'False',
      'RewindRefused',
      `commit ${short(head)} does not descend from the applied ${short(prev.applied_commit)} (force-push or rewind); ` +
        'an operator can accept it with `nemoclaw reconcile --once --allow-rewind`',
    );

  const lock = await acquireLock(store.layout.lockFile, 'reconcile', { wait: true });
  try {
    // 4. Compile from the verified tree (the lock is checked as apply checks it).
    let desired;
    try {
      const tree = await checkoutVerified(root, head);
      const d = await desiredFromFile(join(tree, source.path));
      desired = { ...d, configPath: `${source.path}@${short(head)}`, gitCommit: head };
    } catch (e) {
      return finish('False', 'CompileFailed', `commit ${short(head)}: ${messageOf(e)}`);
    }

    // 5. Plan against the observed host; protected sandboxes wait for a human.
    let p: Plan;
    try {
      p = await makePlan(store, desired, {});
    } catch (e) {
      return finish('False', 'ApplyFailed', `planning failed: ${messageOf(e)}`);
    }
    const blocked = p.actions.filter((a) => a.kind !== 'noop' && a.blocked);
    const waiting = blocked.map((a) => a.blocked!);
    // Verify everything but the sandboxes left for a human (they still run the old blueprint).
    const scope = new Set(p.actions.map((a) => a.sandbox).filter((n) => !blocked.some((b) => b.sandbox === n)));
    p.actions = p.actions.map((a) =>
      a.kind !== 'noop' && a.blocked ? { ...a, kind: 'noop', reasons: [`waiting for a human: ${a.blocked}`], blocked: null } : a,
    );
    p.changes = p.actions.some((a) => a.kind !== 'noop');
    const failing = p.actions.filter((a) => a.kind === 'noop' && a.drift.some((d) => d.kind === 'process_failing'));
    const newCommit = head !== prev.applied_commit;
    if (!newCommit) healed = p.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.sandbox}`);

    let health: HealthFailure[] = [];
    let problems: string[] = [];
    if (p.changes) {
      try {
        const r = await applyPlan({ store, progress: o.progress, settleMs: o.settleMs }, p, desired, {
          allowDestroy: false,
          record: true,
          scope,
        });
        health = r.health;
        problems = r.problems;
        if (r.generation) st.generation = r.generation.number;
      } catch (e) {
        return finish('False', 'ApplyFailed', `applying ${short(head)} failed: ${messageOf(e)}`);
      }
    }
    // What ran (even a sandbox that then failed its health check) is this commit's.
    st.applied_commit = head;
    st.verified_by = v.by;
    if (health.length) {
      healed = [];
      return finish('False', 'HealthCheckFailed', health.map(describeHealth).join('\n'));
    }
    if (failing.length) {
      healed = [];
      return finish(
        'False',
        'HealthCheckFailed',
        failing.map((a) => `${a.sandbox}: ${a.drift.find((d) => d.kind === 'process_failing')!.detail}`).join('\n'),
      );
    }
    if (problems.length) {
      healed = [];
      return finish('False', 'ApplyFailed', `the host does not match ${short(head)}: ${problems.join('; ')}`);
    }
    if (waiting.length) {
      healed = [];
      return finish('False', 'WaitingForHuman', `waiting for a human: ${waiting.join('; ')}`);
    }
    const did = p.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.sandbox}`);
    return finish(
      'True',
      'Succeeded',
      `${newCommit ? 'applied' : 'at'} ${short(head)}` +
        (did.length ? `: ${newCommit ? '' : 'healed drift: '}${did.join(', ')}` : ', nothing to do') +
        (st.generation !== null ? ` (generation ${st.generation})` : ''),
    );
  } finally {
    lock.release();
  }
}

/** Every check of the commit, or the remembered pass of the same commit under the same anchors. */
async function verified(root: string, source: GitSource, commit: string, notes: string | null): Promise<CheckResult> {
  const checks = commitChecks(source);
  if (checks.length === 0) return verifyCommit({ root, mirror: sourcePaths(root).mirror, commit, source }, checks);
  const { verifiedFile, mirror } = sourcePaths(root);
  const key = verificationKey(source, commit, notes);
  const by = cachedVerification(verifiedFile, key);
  if (by !== null) return { ok: true, by };
  const v = await verifyCommit({ root, mirror, commit, source }, checks);
  if (v.ok) rememberVerification(verifiedFile, key, v.by);
  return v;
}

/** Delay before the next tick: the interval, or after failures a capped exponential backoff. */
export function nextDelay(intervalMs: number, failures: number): number {
  if (failures === 0) return intervalMs;
  return Math.min(intervalMs, 10_000 * 2 ** Math.min(failures - 1, 20));
}

/** --interval: tick, record when the next one runs, sleep; stops between ticks when SIGNAL aborts. */
export async function runLoop(
  store: StateStore,
  load: () => GitSource,
  intervalMs: number,
  o: TickOptions & { signal: AbortSignal },
): Promise<void> {
  while (!o.signal.aborted) {
    const r = await tick(store, load(), { ...o, allowRewind: false });
    const delay = nextDelay(intervalMs, r.status.failures);
    const cur = readReconcileStatus(store.root);
    if (cur) writeReconcileStatus(store.root, { ...cur, next_attempt: new Date(Date.now() + delay).toISOString() });
    await new Promise<void>((res) => {
      const t = setTimeout(res, delay);
      o.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          res();
        },
        { once: true },
      );
    });
  }
}

// What keeps one sandbox from flooding the audit log: aggregation of repeated denials, and a
// per-sandbox byte budget. Plain state + functions; the caller passes the clock, so tests and the
// writer agree on time.
//
// Retention rule (see docs/gateway.md, "Audit log"): the log is rotated by size, so what one
// sandbox can evict depends on how fast it can write. Each sandbox may write at most
// `budgetBytes` per `budgetWindowMs` of records attributed to it (connections, requests,
// denials); beyond that its records are counted into one `suppress` record per window. With the
// defaults (1 MiB a minute, 5 × 64 MiB kept) one sandbox needs more than five hours to rotate
// the whole log, so every record younger than that survives it, whatever the sandbox does. We chose
// a budget over per-sandbox files so that `nemoclaw audit` stays one ordered stream and the
// floor holds for the daemon's own records (lifecycle, policy, approvals) too; those are never
// budgeted: operators and the daemon write them, not the sandbox.
import { suppressed, type AuditEntry } from './record.js';

export interface Timed {
  entry: AuditEntry;
  time: number;
}

export interface ThrottleOptions {
  /** Repeated denials with the same key within this window become one record with a count. */
  windowMs: number;
  /** At most this many open aggregation windows; the oldest is written out early beyond it. */
  maxKeys: number;
  budgetBytes: number;
  budgetWindowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { windowMs: 10_000, maxKeys: 4096, budgetBytes: 2 ** 20, budgetWindowMs: 60_000 };

interface DenyWindow {
  start: number;
  count: number;
  first: number;
  last: number;
  sample?: AuditEntry;
}

interface Budget {
  start: number;
  bytes: number;
  count: number;
  first: number;
  last: number;
}

export interface ThrottleState {
  opts: ThrottleOptions;
  denies: Map<string, DenyWindow>;
  budgets: Map<string, Budget>;
}

export function newThrottle(opts: Partial<ThrottleOptions> = {}): ThrottleState {
  return { opts: { ...DEFAULT_THROTTLE, ...opts }, denies: new Map(), budgets: new Map() };
}

type Deny = Extract<AuditEntry, { activity: 'deny' }>;
const isDeny = (e: AuditEntry): e is Deny => e.activity === 'deny';

/** Sandbox, class, destination and reason: what makes two denials "the same". */
function denyKey(d: Deny): string {
  return JSON.stringify([d.sandbox, d.class_uid, d.dst?.hostname ?? '', d.dst?.port ?? 0, d.reason]);
}

function summary(w: DenyWindow): Timed {
  const entry: Deny = { ...(w.sample as Deny), count: w.count, first_seen: w.first, last_seen: w.last };
  return { entry, time: w.last };
}

/**
 * A denial opening a window is written at once (a single denial shows up immediately); repeats
 * inside the window are counted, and written as one record when the window closes.
 */
export function aggregate(s: ThrottleState, entry: AuditEntry, time: number): Timed[] {
  if (!isDeny(entry)) return [{ entry, time }];
  const out = expireDenials(s, time);
  const key = denyKey(entry);
  const w = s.denies.get(key);
  if (w) {
    w.count++;
    if (w.count === 1) w.first = time;
    w.last = time;
    w.sample ??= entry;
    return out;
  }
  if (s.denies.size >= s.opts.maxKeys) {
    const [oldestKey, oldest] = s.denies.entries().next().value as [string, DenyWindow];
    s.denies.delete(oldestKey);
    if (oldest.count > 0) out.push(summary(oldest));
  }
  s.denies.set(key, { start: time, count: 0, first: time, last: time });
  out.push({ entry, time });
  return out;
}

/** Close the windows older than windowMs (all of them when now is Infinity). */
export function expireDenials(s: ThrottleState, now: number): Timed[] {
  const out: Timed[] = [];
  for (const [k, w] of s.denies) {
    if (now - w.start < s.opts.windowMs) continue;
    s.denies.delete(k);
    if (w.count > 0) out.push(summary(w));
  }
  return out;
}

function suppressedSummary(sandbox: string, b: Budget): Timed {
  return {
    entry: suppressed({
      sandbox,
      count: b.count,
      first_seen: b.first,
      last_seen: b.last,
      detail: `over the audit budget of ${b.bytes} bytes per window: ${b.count} records counted, not written`,
    }),
    time: b.last,
  };
}

/** The sandbox a record is charged to; undefined for the daemon's and operators' records (class 6003). */
export function chargedTo(entry: AuditEntry): string | undefined {
  return entry.class_uid !== 6003 && 'sandbox' in entry ? entry.sandbox : undefined;
}

/**
 * Charge `bytes` to the sandbox. `admit` says whether the record may be written; `summary` is the
 * previous window's suppress record, when it had one, to write first.
 */
export function charge(s: ThrottleState, sandbox: string, bytes: number, time: number): { admit: boolean; summary?: Timed } {
  let b = s.budgets.get(sandbox);
  let prior: Timed | undefined;
  if (b && time - b.start >= s.opts.budgetWindowMs) {
    if (b.count > 0) prior = suppressedSummary(sandbox, { ...b, bytes: s.opts.budgetBytes });
    b = undefined;
  }
  b ??= { start: time, bytes: 0, count: 0, first: time, last: time };
  s.budgets.set(sandbox, b);
  if (b.bytes + bytes > s.opts.budgetBytes) {
    if (b.count === 0) b.first = time;
    b.count++;
    b.last = time;
    return { admit: false, summary: prior };
  }
  b.bytes += bytes;
  return { admit: true, summary: prior };
}

/** Suppress records of budget windows that ended (all of them when now is Infinity). */
export function expireBudgets(s: ThrottleState, now: number): Timed[] {
  const out: Timed[] = [];
  for (const [sandbox, b] of s.budgets) {
    if (now - b.start < s.opts.budgetWindowMs) continue;
    s.budgets.delete(sandbox);
    if (b.count > 0) out.push(suppressedSummary(sandbox, { ...b, bytes: s.opts.budgetBytes }));
  }
  return out;
}

// The approval queue: with on_deny: ask, a denied request becomes a pending approval (one per
// sandbox+host+port, with a hit count). Approving it grants the destination live, for a TTL or
// until the next policy reload (after --persist, the reloaded policy carries the rule itself).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RequestKind } from './matcher.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface Approval {
  id: string;
  sandbox: string;
  host: string;
  port: number;
  kind: RequestKind;
  status: ApprovalStatus;
  first_seen: number;
  last_seen: number;
  hits: number;
  decided_by?: string;
  decided_at?: number;
  reason?: string;
  /** Approved: epoch ms when the grant lapses; null = until the sandbox's next policy reload. */
  expires_at?: number | null;
  persisted?: boolean;
}

export interface ApprovalStoreOptions {
  file: string;
  maxPendingPerSandbox?: number;
  maxHistory?: number;
}

const key = (sandbox: string, host: string, port: number) => `${sandbox}\0${host}\0${port}`;

export class ApprovalStore {
  private readonly byId = new Map<string, Approval>();
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly maxPending: number;
  private readonly maxHistory: number;

  constructor(private readonly opts: ApprovalStoreOptions) {
    this.maxPending = opts.maxPendingPerSandbox ?? 1000;
    this.maxHistory = opts.maxHistory ?? 1000;
    if (existsSync(opts.file)) {
      const data = JSON.parse(readFileSync(opts.file, 'utf8')) as { approvals: Approval[] };
      for (const a of data.approvals ?? []) this.byId.set(a.id, a);
    }
    this.reindex();
  }

  list(): Approval[] {
    return [...this.byId.values()].sort((a, b) => a.first_seen - b.first_seen);
  }

  get(id: string): Approval | undefined {
    return this.byId.get(id);
  }

  private find(k: string, status: ApprovalStatus): Approval | undefined {
    for (const a of this.byId.values()) if (a.status === status && key(a.sandbox, a.host, a.port) === k) return a;
    return undefined;
  }

  /** The active grant for a destination, if any. */
  grantFor(sandbox: string, host: string, port: number, now = Date.now()): Approval | undefined {
    const k = key(sandbox, host, port);
    const a = this.grants.get(k);
    if (!a) return undefined;
    if (a.status !== 'approved' || (a.expires_at != null && a.expires_at <= now)) return undefined;
    return a;
  }

  /** Active grants by key, rebuilt on every change (hot path: one Map lookup). */
  private grants = new Map<string, Approval>();
  private reindex(): void {
    this.grants = new Map();
    for (const a of this.byId.values()) if (a.status === 'approved') this.grants.set(key(a.sandbox, a.host, a.port), a);
  }

  /** A destination the operator already refused. */
  deniedFor(sandbox: string, host: string, port: number): Approval | undefined {
    return this.find(key(sandbox, host, port), 'denied');
  }

  /** Queue (or count another hit on) a pending approval; undefined when the queue is full. */
  recordDenial(sandbox: string, host: string, port: number, kind: RequestKind, now = Date.now()): Approval | undefined {
    const existing = this.find(key(sandbox, host, port), 'pending');
    if (existing) {
      existing.hits++;
      existing.last_seen = now;
      this.scheduleSave();
      return existing;
    }
    const pending = [...this.byId.values()].filter((a) => a.sandbox === sandbox && a.status === 'pending').length;
    if (pending >= this.maxPending) return undefined;
    const a: Approval = {
      id: 'ap-' + randomBytes(5).toString('hex'),
      sandbox,
      host,
      port,
      kind,
      status: 'pending',
      first_seen: now,
      last_seen: now,
      hits: 1,
    };
    this.byId.set(a.id, a);
    this.scheduleSave();
    return a;
  }

  approve(id: string, o: { ttlMs: number | null; actor: string; reason?: string; persisted?: boolean }, now = Date.now()): Approval {
    const a = this.mustGet(id);
    a.status = 'approved';
    a.decided_by = o.actor;
    a.decided_at = now;
    a.expires_at = o.ttlMs === null ? null : now + o.ttlMs;
    if (o.reason !== undefined) a.reason = o.reason;
    if (o.persisted) a.persisted = true;
    this.changed();
    return a;
  }

  deny(id: string, o: { actor: string; reason?: string }, now = Date.now()): Approval {
    const a = this.mustGet(id);
    a.status = 'denied';
    a.decided_by = o.actor;
    a.decided_at = now;
    delete a.expires_at;
    if (o.reason !== undefined) a.reason = o.reason;
    this.changed();
    return a;
  }

  /** Grants whose TTL has passed become expired; returned so the caller can audit and re-check tunnels. */
  expire(now = Date.now()): Approval[] {
    const out: Approval[] = [];
    for (const a of this.byId.values()) {
      if (a.status === 'approved' && a.expires_at != null && a.expires_at <= now) {
        a.status = 'expired';
        out.push(a);
      }
    }
    if (out.length) this.changed();
    return out;
  }

  /** Grants held "until reload" lapse when the sandbox gets a new policy. */
  onReload(sandbox: string): Approval[] {
    const out: Approval[] = [];
    for (const a of this.byId.values()) {
      if (a.sandbox === sandbox && a.status === 'approved' && a.expires_at === null) {
        a.status = 'expired';
        out.push(a);
      }
    }
    if (out.length) this.changed();
    return out;
  }

  /** Earliest TTL expiry among active grants (for the expiry timer). */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const a of this.grants.values()) if (a.expires_at != null && (next === undefined || a.expires_at < next)) next = a.expires_at;
    return next;
  }

  private mustGet(id: string): Approval {
    const a = this.byId.get(id);
    if (!a) throw new Error(`no approval with id ${id}`);
    return a;
  }

  private changed(): void {
    this.reindex();
    this.trim();
    this.scheduleSave();
  }

  private trim(): void {
    const decided = [...this.byId.values()].filter((a) => a.status === 'denied' || a.status === 'expired');
    decided.sort((a, b) => (a.decided_at ?? a.last_seen) - (b.decided_at ?? b.last_seen));
    for (const a of decided.slice(0, Math.max(0, decided.length - this.maxHistory))) this.byId.delete(a.id);
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      try {
        this.saveSync();
      } catch {
        this.scheduleSave(); // disk full or read-only for now: keep the decisions in memory and retry
      }
    }, 100);
    this.saveTimer.unref();
  }

  saveSync(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    writeFileAtomic(this.opts.file, JSON.stringify({ format_version: 1, approvals: this.list() }, null, 1) + '\n', { mode: 0o600 });
  }
}

// The audit log: JSON lines, one per connection, per HTTP request, per denial and per approval
// action (record kinds: record.ts). Written by the daemon's parts; read by `nemoclaw audit`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aggregate,
  charge,
  chargedTo,
  expireBudgets,
  expireDenials,
  newThrottle,
  type ThrottleOptions,
  type ThrottleState,
} from './aggregate.js';
import { capEntry } from './cap.js';
import { lifecycle, type AuditEntry, type AuditRecord } from './record.js';
import { RotatingFile } from './rotating-file.js';
import { openSyslog, type SyslogHealth, type SyslogSender, type SyslogTarget } from './syslog.js';

export const AUDIT_FILE = 'audit.jsonl';

export interface AuditOptions {
  dir: string;
  maxBytes?: number;
  keep?: number;
  testHooks?: string[];
  throttle?: Partial<ThrottleOptions>;
  /** Also send every record to this syslog socket (e.g. /dev/log). */
  syslog?: SyslogTarget;
  /** Records kept in memory while the file cannot be written; newer ones are dropped and counted. */
  maxBacklogBytes?: number;
  /** Told when the file becomes unwritable or writable again (the daemon logs it). */
  onHealth?: (h: AuditHealth) => void;
}

/** Whether the audit file can be written; the gateway opens no new flow while it cannot. */
export interface AuditHealth {
  writable: boolean;
  /** errno code and message of the failed write (ENOSPC, EDQUOT, EIO, …). */
  error?: string;
  /** Since when (ms since the epoch) it has not been writable. */
  since?: number;
  /** Bytes held in memory, waiting to be written. */
  backlog_bytes: number;
  /** Records lost since the daemon started because the backlog was full. */
  dropped: number;
  syslog?: SyslogHealth;
}

/**
 * Buffered appender: records are queued and written in one write per event-loop turn (cheap on
 * the hot path); flushSync() drains on shutdown so SIGTERM loses nothing. Rotation is by size:
 * audit.jsonl → audit.jsonl.1 → … → audit.jsonl.<keep>. Every record is capped (cap.ts), denials
 * are aggregated and each sandbox is held to a budget (aggregate.ts).
 *
 * It never throws: a failed write (a full disk) keeps the unwritten bytes in a bounded backlog,
 * marks the log unwritable and retries once a second. Throwing here used to take the daemon's
 * crash handler into a loop that audited its own failure.
 */
export class AuditLog {
  private readonly file: RotatingFile;
  private queue: string[] = [];
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private dropped = 0;
  private droppedAtFailure = 0;
  private failure: { code: string; error: string; since: number } | undefined;
  private scheduled = false;
  private closed = false;
  private readonly throttle: ThrottleState;
  private readonly syslog: SyslogSender | undefined;
  private readonly timer: NodeJS.Timeout;
  readonly path: string;
  private readonly maxBacklog: number;

  constructor(private readonly opts: AuditOptions) {
    this.path = join(opts.dir, AUDIT_FILE);
    this.maxBacklog = opts.maxBacklogBytes ?? 4 * 2 ** 20;
    this.throttle = newThrottle(opts.throttle);
    this.syslog = opts.syslog && openSyslog(opts.syslog);
    // At start a failure is the caller's to report.
    this.file = new RotatingFile(this.path, { maxBytes: opts.maxBytes ?? 64 * 1024 * 1024, keep: opts.keep ?? 5, mode: 0o600 });
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Stamps the entry with `time` (now, unless given) and the gateway's test hooks. */
  write(entry: AuditEntry, time = Date.now()): void {
    if (this.closed) return;
    for (const t of aggregate(this.throttle, capEntry(entry), time)) this.admit(t.entry, t.time);
  }

  /** Close aggregation and budget windows that ended; retry a failed write. Called once a second. */
  tick(now = Date.now()): void {
    for (const t of [...expireDenials(this.throttle, now), ...expireBudgets(this.throttle, now)]) this.admit(t.entry, t.time);
    if (this.failure) this.flushSync();
  }

  /** The errno code of the write that failed, while the file cannot be written; cheap, for the hot path. */
  failureCode(): string | undefined {
    return this.failure?.code;
  }

  health(): AuditHealth {
    return {
      writable: this.failure === undefined,
      ...(this.failure ? { error: this.failure.error, since: this.failure.since } : {}),
      backlog_bytes: this.backlogBytes + this.queue.reduce((n, l) => n + Buffer.byteLength(l), 0),
      dropped: this.dropped,
      ...(this.syslog ? { syslog: this.syslog.health() } : {}),
    };
  }

  private admit(entry: AuditEntry, time: number): void {
    const full = { time, ...entry } as AuditRecord;
    if (this.opts.testHooks?.length) full.test_hooks = this.opts.testHooks;
    const line = JSON.stringify(full) + '\n';
    const sandbox = chargedTo(entry);
    if (sandbox !== undefined) {
      const c = charge(this.throttle, sandbox, Buffer.byteLength(line), time);
      if (c.summary) this.admit(c.summary.entry, c.summary.time);
      if (!c.admit) return;
    }
    this.syslog?.send(full.action === 'denied' ? 4 : 6, time, line.slice(0, -1));
    this.queue.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushSync());
    }
  }

  flushSync(): void {
    this.scheduled = false;
    for (const line of this.queue) {
      const b = Buffer.from(line);
      if (this.backlogBytes + b.length > this.maxBacklog) this.dropped++;
      else {
        this.backlog.push(b);
        this.backlogBytes += b.length;
      }
    }
    this.queue = [];
    if (this.backlogBytes === 0) return;
    const data = Buffer.concat(this.backlog);
    const { written, error } = this.file.append(data);
    if (error) {
      // A partial write leaves half a line; the rest follows on the next try, so the line is whole.
      this.backlog = [data.subarray(written)];
      this.backlogBytes = data.length - written;
      this.failed(error);
      return;
    }
    this.backlog = [];
    this.backlogBytes = 0;
    if (this.failure) this.recovered();
  }

  private failed(e: NodeJS.ErrnoException): void {
    if (this.failure) return;
    this.failure = { code: e.code ?? 'EIO', error: `${e.code ?? 'error'}: ${e.message}`, since: Date.now() };
    this.droppedAtFailure = this.dropped;
    this.opts.onHealth?.(this.health());
  }

  private recovered(): void {
    const f = this.failure!;
    this.failure = undefined;
    const lost = this.dropped - this.droppedAtFailure;
    this.write(
      lifecycle(
        'recover',
        `audit log writable again after ${Math.round((Date.now() - f.since) / 1000)}s (${f.error}); ${lost} records lost`,
      ),
    );
    this.opts.onHealth?.(this.health());
  }

  /** Write out open aggregation and budget windows, flush, close. */
  close(): void {
    if (this.closed) return;
    for (const t of [...expireDenials(this.throttle, Infinity), ...expireBudgets(this.throttle, Infinity)]) this.admit(t.entry, t.time);
    this.flushSync();
    this.closed = true;
    clearInterval(this.timer);
    this.file.close();
    this.syslog?.close();
  }
}

export interface AuditQuery {
  sandbox?: string;
  since?: number;
  denied?: boolean;
}

/** Records from the rotated files and the current one, oldest first. Unreadable lines are skipped. */
export function readAudit(dir: string, q: AuditQuery = {}): AuditRecord[] {
  const base = join(dir, AUDIT_FILE);
  const files: string[] = [];
  for (let i = 50; i >= 1; i--) if (existsSync(`${base}.${i}`)) files.push(`${base}.${i}`);
  if (existsSync(base)) files.push(base);
  const out: AuditRecord[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      let r: AuditRecord;
      try {
        r = JSON.parse(line) as AuditRecord;
      } catch {
        continue;
      }
      if (q.sandbox !== undefined && !('sandbox' in r && r.sandbox === q.sandbox)) continue;
      if (q.since !== undefined && r.time < q.since) continue;
      if (q.denied && r.action !== 'denied') continue;
      out.push(r);
    }
  }
  return out;
}

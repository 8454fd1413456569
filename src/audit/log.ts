// The audit log: JSON lines, one per connection, per HTTP request, per denial and per approval
// action (record kinds: record.ts). Written by the daemon's parts; read by `nemoclaw audit`.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry, AuditRecord } from './record.js';

export const AUDIT_FILE = 'audit.jsonl';

export interface AuditOptions {
  dir: string;
  maxBytes?: number;
  keep?: number;
  testHooks?: string[];
}

/**
 * Buffered appender: records are queued and written in one write per event-loop turn (cheap on
 * the hot path); flushSync() drains on shutdown so SIGTERM loses nothing. Rotation is by size:
 * audit.jsonl → audit.jsonl.1 → … → audit.jsonl.<keep>.
 */
export class AuditLog {
  private fd: number;
  private size: number;
  private queue: string[] = [];
  private scheduled = false;
  readonly path: string;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(private readonly opts: AuditOptions) {
    this.path = join(opts.dir, AUDIT_FILE);
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.keep = opts.keep ?? 5;
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Stamps the entry with `time` (now, unless given) and the gateway's test hooks. */
  write(entry: AuditEntry, time = Date.now()): void {
    const full: AuditRecord = { time, ...entry };
    if (this.opts.testHooks?.length) full.test_hooks = this.opts.testHooks;
    this.queue.push(JSON.stringify(full) + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushSync());
    }
  }

  flushSync(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.fd < 0) return;
    const data = Buffer.from(this.queue.join(''));
    this.queue = [];
    if (this.size > 0 && this.size + data.length > this.maxBytes) this.rotate();
    writeSync(this.fd, data);
    this.size += data.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    for (let i = this.keep - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }

  close(): void {
    this.flushSync();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
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

// The single-writer lock of apply/destroy/rollback/uninstall: a file created with O_EXCL that
// names its holder (pid, process start time, boot id). A holder that is gone — other boot, dead
// pid, or a pid reused by another process — is stale and its lock is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../util/errors.js';
import { procStartTime } from '../util/proc.js';

export interface LockHolder {
  pid: number;
  start: string | null;
  boot_id: string;
  command: string;
  since: string;
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

export function holderAlive(h: LockHolder): boolean {
  if (h.boot_id !== bootId()) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return h.start === null || procStartTime(h.pid) === h.start;
}

export interface Lock {
  release(): void;
  holder: LockHolder;
}

export async function acquireLock(
  path: string,
  command: string,
  o: { wait: boolean; timeoutMs?: number; onWait?: (h: LockHolder) => void },
): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const me: LockHolder = {
    pid: process.pid,
    start: procStartTime(process.pid),
    boot_id: bootId(),
    command,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me) + '\n');
      closeSync(fd);
      return {
        holder: me,
        release: () => {
          if (readHolder(path)?.pid === me.pid) rmSync(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = readHolder(path);
    if (h === null || !holderAlive(h)) {
      // Take over a stale (or half-written) lock by renaming it away first: of two takers only
      // one rename succeeds, and the loser retries the O_EXCL create.
      try {
        renameSync(path, `${path}.stale.${process.pid}`);
        rmSync(`${path}.stale.${process.pid}`, { force: true });
      } catch {
        /* someone else did */
      }
      if (h === null) await new Promise((r) => setTimeout(r, 50)); // a holder may be mid-write
      continue;
    }
    if (!o.wait) {
      throw new UserError(
        `another nemoclaw ${h.command} (pid ${h.pid}, since ${h.since}) holds the lock ${path}; retry later or pass --wait`,
        [],
        1,
      );
    }
    if (!announced) {
      o.onWait?.(h);
      announced = true;
    }
    if (Date.now() > deadline) throw new UserError(`gave up waiting for the lock ${path} held by pid ${h.pid}`, [], 1);
    await new Promise((r) => setTimeout(r, 100));
  }
}

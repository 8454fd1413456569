// Health after apply: a sandbox that was started or replaced must stay up for a settle time.
// The supervisor restarts an agent that exits, so "up" means running with no restart since the
// start this apply made; anything else is a failed apply with the exit and the log's last lines.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Driver } from './drivers/driver.js';
import type { StateStore } from '../state/store.js';

export interface HealthFailure {
  sandbox: string;
  state: string;
  restarts: number;
  last_error: string | null;
  log_tail: string[];
}

/** Default settle time; --settle or NEMOCLAW_SETTLE overrides it. */
export const DEFAULT_SETTLE_MS = 3000;

/** The last N lines of a log file (reads at most the last 16 KiB). */
export function tailLines(path: string, n: number): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(path).size;
    const len = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').split('\n').filter(Boolean).slice(-n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Wait SETTLE_MS, then check every sandbox in STARTED (name → restart count right after the
 * start) is still running without a restart.
 */
export async function checkHealth(
  store: StateStore,
  started: Map<string, { restarts: number; driver: Driver }>,
  settleMs: number,
): Promise<HealthFailure[]> {
  if (started.size === 0) return [];
  await new Promise((r) => setTimeout(r, settleMs));
  const seen = new Map<Driver, Awaited<ReturnType<Driver['observe']>>>();
  const failures: HealthFailure[] = [];
  for (const [name, { restarts, driver }] of started) {
    if (!seen.has(driver)) seen.set(driver, await driver.observe({ stateDir: store.root }));
    const view = seen.get(driver)!;
    // A driver that cannot tell is not a healthy sandbox: fail the step with its reason.
    const o = view.known ? view.sandboxes.get(name) : { state: 'unknown' as const, restarts: 0, last_error: view.reason };
    if (o && o.state === 'running' && o.restarts === restarts) continue;
    failures.push({
      sandbox: name,
      state: o?.state ?? 'absent',
      restarts: o?.restarts ?? 0,
      last_error: o?.last_error ?? null,
      log_tail: tailLines(store.layout.logFile(name), 10),
    });
  }
  return failures;
}

export function describeHealth(f: HealthFailure): string {
  return (
    `${f.sandbox} did not stay up (${f.state}, ${f.restarts} restart${f.restarts === 1 ? '' : 's'}` +
    `${f.last_error ? `, ${f.last_error}` : ''})` +
    (f.log_tail.length ? `; last log lines:\n      ${f.log_tail.join('\n      ')}` : '; the log is empty')
  );
}

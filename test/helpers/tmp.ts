// Temporary directories that clean up after the test, including any gateway daemon (and the
// sandboxes it supervises) whose state directory is inside: a test's daemons never outlive it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory under the system temp dir; the caller removes it (see tempDir for a test's). */
export function makeTempDir(prefix = 'nemoclaw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A docker sandbox's disk stays mounted on the host until its container is destroyed, which a
 * test's own after-hook may do only after this directory's (hooks run in the order registered):
 * detach (lazily: the container may still use it) whatever is mounted inside before removing it.
 */
export function detachMountsUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && p.startsWith(dir + '/'));
  for (const p of points.reverse()) execFileSync('umount', ['-l', p], { stdio: 'ignore' });
}

/** A fresh directory removed after the test, with any daemon whose state directory is inside it. */
export function tempDir(t: TestContext, prefix = 'nemoclaw-test-'): string {
  const dir = makeTempDir(prefix);
  t.after(async () => {
    await stopDaemonsUnder(dir);
    detachMountsUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Writes `files` (name → content) into a fresh temp dir and returns its path. */
export function tempFiles(t: TestContext, files: Record<string, string>): string {
  const dir = tempDir(t);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** SIGTERM every daemon with a pid file at <state>/gateway/gateway.pid up to 3 levels below DIR. */
async function stopDaemonsUnder(dir: string, depth = 3): Promise<void> {
  const pidFile = join(dir, 'gateway', 'gateway.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 1 && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  if (depth === 0) return;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'sandboxes')
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const name of entries) await stopDaemonsUnder(join(dir, name), depth - 1);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

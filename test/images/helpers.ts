// Shared by the image tests: the fixtures, and one download cache for every test run (the inputs
// are pinned, so what was fetched once is what a later run would fetch again).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli, type CliResult } from '../helpers/cli.js';

export const fixture = (name: string): string => join(repoRoot, 'test', 'fixtures', 'images', name);

/**
 * NEMOCLAW_CACHE_DIR when set (CI keeps it between runs), else ~/.cache/nemoclaw: the same default
 * as test/slow/openclaw.test.ts, so the slow tests build the OpenClaw image once between them.
 */
export function sharedCacheDir(): string {
  const dir = process.env.NEMOCLAW_CACHE_DIR ?? join(homedir(), '.cache', 'nemoclaw');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function imageCli(args: string[], stateDir: string, cacheDir = sharedCacheDir()): CliResult {
  return runCli(['image', ...args, '--state-dir', stateDir], { env: { NEMOCLAW_CACHE_DIR: cacheDir }, timeout: 600_000 });
}

/** Can this host fetch Debian packages (apt-get and dpkg-deb present)? */
export function aptAvailable(): { ok: boolean; reason: string } {
  const ok = ['apt-get', 'dpkg-deb', 'dpkg'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
  return { ok, reason: ok ? '' : 'apt-get/dpkg-deb not available (a Debian or Ubuntu host is needed)' };
}

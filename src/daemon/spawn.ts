// Starting the daemon in the background. Kept apart from daemon.ts so that clients (every CLI
// command that talks to the daemon) do not load the proxy, the supervisor and their dependencies.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-paths.js';
import { stateLayout } from '../state/paths.js';

/**
 * Node flags for the daemon. A 1 MiB semi-space keeps V8's young generation from growing to
 * 3 × 16 MiB under load and staying there (bench/proxy.ts --memory; see src/gateway/idle-gc.ts).
 */
export const gatewayNodeFlags: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Environment defaults for the daemon (the caller's own values win). Two malloc arenas rather than
 * eight per core: with the idle trim (src/util/malloc-trim.ts) RSS after a 10,000-request load
 * returns to 1.07× idle instead of 1.13× (bench/proxy.ts --memory).
 */
export const gatewayEnvDefaults: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** Start `nemoclaw gateway` in the background; output goes to gateway.log in the state dir. */
export function spawnDetached(stateDir: string, extraArgs: string[] = []): number {
  const layout = stateLayout(stateDir);
  mkdirSync(layout.gatewayDir, { recursive: true, mode: 0o700 });
  const logFd = openSync(join(layout.gatewayDir, 'gateway.log'), 'a', 0o600);
  const child = spawn(
    process.execPath,
    [...gatewayNodeFlags, join(packageRoot, 'bin', 'nemoclaw.js'), 'gateway', '--state-dir', stateDir, ...extraArgs],
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...gatewayEnvDefaults, ...process.env },
    },
  );
  closeSync(logFd);
  child.unref();
  return child.pid!;
}

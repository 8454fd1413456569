// Runs the built `nemoclaw` binary the way a user would.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const nemoclawBin = join(repoRoot, 'bin', 'nemoclaw.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [nemoclawBin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    ...opts,
    env: { ...process.env, NO_COLOR: '1', ...(opts.env ?? {}) },
  });
  return { status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export interface AsyncCliResult extends CliResult {
  signal: NodeJS.Signals | null;
}

/**
 * The CLI run asynchronously: for tests whose loopback servers live in the test process and must
 * keep answering while the command runs. The loopback test hook is on (the servers are on 127.0.0.1).
 */
export function runCliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<AsyncCliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [nemoclawBin, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => resolve({ status: status ?? -1, signal, stdout, stderr }));
  });
}

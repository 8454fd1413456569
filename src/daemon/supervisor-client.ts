// The reconciler's side of the supervisor routes (through the gateway's control socket).
import { call } from './client.js';
import type { EnsureResult, SupervisedStatus } from '../supervisor/supervisor.js';

/** What the supervisor runs; `unknown` says why that list cannot be trusted (null when it can). */
export function supervisedSandboxes(
  stateDir: string,
  signal?: AbortSignal,
): Promise<{ sandboxes: SupervisedStatus[]; unknown: string | null }> {
  return call(stateDir, 'GET', '/v1/supervisor/sandboxes', undefined, undefined, signal);
}

export function ensureSupervised(
  stateDir: string,
  name: string,
  digest: string,
  timeoutMs = 120_000,
): Promise<{ result: EnsureResult; status: SupervisedStatus }> {
  return call(stateDir, 'PUT', `/v1/supervisor/sandboxes/${encodeURIComponent(name)}`, { digest }, timeoutMs);
}

export async function stopSupervised(stateDir: string, name: string, timeoutMs = 60_000): Promise<boolean> {
  return (
    await call<{ stopped: boolean }>(stateDir, 'DELETE', `/v1/supervisor/sandboxes/${encodeURIComponent(name)}`, undefined, timeoutMs)
  ).stopped;
}

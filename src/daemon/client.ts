// Talking to a running gateway over its control socket.
import { createConnection } from 'node:net';
import { existsSync } from 'node:fs';
import { resolveStateDir, stateLayout } from '../state/paths.js';
import type { Approval } from '../gateway/approvals.js';
import { spawnDetached } from './spawn.js';
import type { GatewayStatus } from '../gateway/gateway.js';
import { EXIT_INVALID, UserError } from '../util/errors.js';

/** The gateway refused a request or could not be reached: a UserError (exit 1) at the CLI. */
export class GatewayError extends UserError {
  constructor(
    message: string,
    /** HTTP status of the gateway's answer; 0 when there was none. */
    readonly status = 0,
    /** errno of a failed connection (ENOENT, ECONNREFUSED, …), when that is what failed. */
    readonly errno: string | null = null,
  ) {
    super(message, [], EXIT_INVALID);
    this.name = 'GatewayError';
  }
}

// The control API's client. node:http costs ~14 ms to load at every CLI start, for requests to a
// server of ours (control.ts answers every request with JSON and a Content-Length): one request
// per connection with `Connection: close`, its answer read to the end, is all it takes.
export function call<T>(stateDir: string, method: string, path: string, body?: Uint8Array | object, timeoutMs = 30_000): Promise<T> {
  const socketPath = stateLayout(resolveStateDir(stateDir)).controlSocket;
  const data = body === undefined ? undefined : body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: control\r\nConnection: close\r\n` +
    (data ? `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n` : '') +
    '\r\n';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = createConnection(socketPath);
    sock.setTimeout(timeoutMs, () => sock.destroy(new GatewayError('gateway did not answer in time')));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) =>
      reject(
        e instanceof GatewayError
          ? e
          : new GatewayError(
              `gateway not reachable: ${(e as NodeJS.ErrnoException).code ?? e.message} (is it running? nemoclaw gateway --detach)`,
              0,
              (e as NodeJS.ErrnoException).code ?? null,
            ),
      ),
    );
    sock.on('end', () => {
      const reply = parseReply(Buffer.concat(chunks));
      if (!reply) return reject(new GatewayError('gateway sent a malformed reply'));
      let v: unknown;
      try {
        v = JSON.parse(reply.body.toString('utf8'));
      } catch {
        return reject(new GatewayError('gateway sent a malformed reply', reply.status));
      }
      if (reply.status >= 400) return reject(new GatewayError((v as { error?: string }).error ?? `HTTP ${reply.status}`, reply.status));
      resolve(v as T);
    });
    sock.write(data ? Buffer.concat([Buffer.from(head, 'latin1'), data]) : head);
  });
}

/** Status and body of a whole HTTP/1.1 response with a Content-Length; null if it is not one. */
function parseReply(raw: Buffer): { status: number; body: Buffer } | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3}) /.exec(`${lines[0]} `)?.[1];
  const lengths = lines.slice(1).filter((l) => /^content-length:/i.test(l));
  const length = lengths.length === 1 ? Number(lengths[0]!.slice(15).trim()) : NaN;
  const body = raw.subarray(end + 4);
  if (!status || !Number.isSafeInteger(length) || body.length !== length) return null;
  return { status: Number(status), body };
}

/** Is the gateway daemon there? Three answers: a socket that does not answer is not "absent". */
export type GatewayProbe = { state: 'running' } | { state: 'absent' } | { state: 'unknown'; reason: string };

export async function probeGateway(stateDir: string): Promise<GatewayProbe> {
  const socket = stateLayout(resolveStateDir(stateDir)).controlSocket;
  if (!existsSync(socket)) return { state: 'absent' };
  try {
    await call(stateDir, 'GET', '/v1/health', undefined, 2000);
    return { state: 'running' };
  } catch (e) {
    // A refused connection means nothing listens on the socket: a daemon that died left it
    // behind (and its sandboxes died with it). Anything else (a timeout, a reset, a malformed
    // or failed answer, EACCES) means something is there that we cannot see into.
    const errno = e instanceof GatewayError ? e.errno : null;
    if (errno === 'ECONNREFUSED' || errno === 'ENOENT') return { state: 'absent' };
    return { state: 'unknown', reason: `the gateway control socket ${socket} is present but does not answer: ${(e as Error).message}` };
  }
}

export async function isGatewayRunning(stateDir: string): Promise<boolean> {
  return (await probeGateway(stateDir)).state === 'running';
}

/** Start the daemon detached unless it already answers; resolves when it is ready. */
export async function ensureGateway(stateDir: string, timeoutMs = 10_000, extraArgs: string[] = []): Promise<void> {
  const dir = resolveStateDir(stateDir);
  if (await isGatewayRunning(dir)) return;
  spawnDetached(dir, extraArgs);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isGatewayRunning(dir)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new GatewayError(`gateway did not become ready within ${timeoutMs} ms; see ${stateLayout(dir).gatewayDir}/gateway.log`);
}

export interface Registered {
  socketPath: string;
  policyVersion: string;
  closedFlows: number;
}

/**
 * Register a sandbox or replace its policy. When it resolves, the returned version is the one in
 * force (the daemon swaps before it answers) and the sandbox socket exists.
 */
export async function registerSandbox(stateDir: string, name: string, egressJsonBytes: Uint8Array): Promise<Registered> {
  const r = await call<{ socket_path: string; policy_version: string; closed_flows: number }>(
    stateDir,
    'PUT',
    `/v1/sandboxes/${encodeURIComponent(name)}/policy`,
    egressJsonBytes,
  );
  return { socketPath: r.socket_path, policyVersion: r.policy_version, closedFlows: r.closed_flows };
}

/** Audit that sandbox NAME started without these mechanisms (best_effort), for drivers outside the daemon. */
export async function auditDegraded(stateDir: string, name: string, notEnforced: string[]): Promise<void> {
  await call(stateDir, 'POST', `/v1/sandboxes/${encodeURIComponent(name)}/degraded`, { not_enforced: notEnforced });
}

/** Reload = register on an existing sandbox; `wait` re-reads status until that version is reported. */
export async function reloadPolicy(stateDir: string, name: string, egressJsonBytes: Uint8Array, waitMs = 10_000): Promise<Registered> {
  const r = await registerSandbox(stateDir, name, egressJsonBytes);
  await waitForVersion(stateDir, name, r.policyVersion, waitMs);
  return r;
}

export async function waitForVersion(stateDir: string, name: string, version: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await gatewayStatus(stateDir);
    if (s.sandboxes.find((x) => x.name === name)?.policy_version === version) return;
    if (Date.now() > deadline) throw new GatewayError(`sandbox ${name} did not reach policy ${version} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function unregisterSandbox(stateDir: string, name: string): Promise<boolean> {
  return (await call<{ removed: boolean }>(stateDir, 'DELETE', `/v1/sandboxes/${encodeURIComponent(name)}`)).removed;
}

export function gatewayStatus(stateDir: string): Promise<GatewayStatus> {
  return call<GatewayStatus>(stateDir, 'GET', '/v1/status');
}

export async function listenTcp(stateDir: string, sandbox: string, host: string, port: number): Promise<number> {
  return (await call<{ port: number }>(stateDir, 'POST', `/v1/sandboxes/${encodeURIComponent(sandbox)}/tcp`, { host, port })).port;
}

export async function listApprovals(stateDir: string): Promise<Approval[]> {
  return (await call<{ approvals: Approval[] }>(stateDir, 'GET', '/v1/approvals')).approvals;
}

export async function decideApproval(
  stateDir: string,
  id: string,
  decision: 'approve' | 'deny',
  body: { actor: string; reason?: string; ttl_ms?: number | null; persisted?: boolean },
): Promise<Approval> {
  return (await call<{ approval: Approval }>(stateDir, 'POST', `/v1/approvals/${encodeURIComponent(id)}/${decision}`, body)).approval;
}

export async function stopGateway(stateDir: string, timeoutMs = 10_000): Promise<boolean> {
  if (!(await isGatewayRunning(stateDir))) return false;
  await call(stateDir, 'POST', '/v1/shutdown');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isGatewayRunning(stateDir))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new GatewayError('gateway did not stop in time');
}

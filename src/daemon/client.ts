// Talking to a running gateway over its control socket.
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { resolveStateDir, stateLayout } from '../state/paths.js';
import type { Approval } from '../gateway/approvals.js';
import { spawnDetached } from './spawn.js';
import type { GatewayStatus } from '../gateway/gateway.js';
import { EXIT_INVALID, UserError } from '../util/errors.js';
import { Batcher } from '../util/batch.js';

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

/**
 * One request to the daemon's control API. HTTP/1.1 over the unix socket, spoken here rather than
 * through node:http: loading the HTTP stack and building its first request (headers checked, an
 * Agent's host name matched against Node's IPv6 pattern) cost a CLI more than the round trip.
 * The daemon is node's HTTP server: a status line, headers, a body of content-length bytes
 * (chunked or until close are read too), `Connection: close`.
 */
export function call<T>(
  stateDir: string,
  method: string,
  path: string,
  body?: Uint8Array | object,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  const socketPath = stateLayout(resolveStateDir(stateDir)).controlSocket;
  const data = body === undefined ? undefined : body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (e: GatewayError) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(e);
    };
    const unreachable = (code: string | null, message: string) =>
      new GatewayError(`gateway not reachable: ${code ?? message} (is it running? nemoclaw gateway --detach)`, 0, code);
    const answer = (status: number, text: string) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return reject(new GatewayError('gateway sent a malformed reply', status));
      }
      if (status >= 400) return reject(new GatewayError((v as { error?: string } | null)?.error ?? `HTTP ${status}`, status));
      resolve(v as T);
    };
    /** A whole response in what has arrived (at the end of the stream: whatever there is), or undefined. */
    const parse = (ended: boolean): { status: number; body: string } | undefined | null => {
      const buf = Buffer.concat(chunks);
      const at = buf.indexOf('\r\n\r\n');
      if (at < 0) return ended ? null : undefined;
      const lines = buf.subarray(0, at).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1];
      if (!status) return null;
      const headers = new Map(
        lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const rest = buf.subarray(at + 4);
      const length = headers.get('content-length');
      if (length !== undefined) {
        const n = Number(length);
        if (!Number.isInteger(n) || n < 0) return null;
        if (rest.length < n) return ended ? null : undefined;
        return { status: Number(status), body: rest.subarray(0, n).toString('utf8') };
      }
      if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
        const parts: Buffer[] = [];
        for (let pos = 0; ;) {
          const eol = rest.indexOf('\r\n', pos);
          if (eol < 0) return ended ? null : undefined;
          const size = parseInt(rest.subarray(pos, eol).toString('latin1'), 16);
          if (!Number.isInteger(size) || size < 0) return null;
          if (size === 0) return { status: Number(status), body: Buffer.concat(parts).toString('utf8') };
          if (rest.length < eol + 2 + size + 2) return ended ? null : undefined;
          parts.push(rest.subarray(eol + 2, eol + 2 + size));
          pos = eol + 2 + size + 2;
        }
      }
      return ended ? { status: Number(status), body: rest.toString('utf8') } : undefined; // until the close
    };
    sock.setTimeout(timeoutMs, () => fail(new GatewayError('gateway did not answer in time')));
    signal?.addEventListener('abort', () => fail(new GatewayError('request abandoned')), { once: true });
    sock.on('error', (e: NodeJS.ErrnoException) => fail(unreachable(e.code ?? null, e.message)));
    sock.on('connect', () => {
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
        (data ? `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n` : method === 'GET' ? '' : 'Content-Length: 0\r\n') +
        '\r\n';
      // Not end(): the server would take a half-close for an aborted request. Destroyed once answered.
      sock.write(data ? Buffer.concat([Buffer.from(head, 'latin1'), data]) : head);
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const r = parse(false);
      if (r) answer(r.status, r.body);
      else if (r === null) fail(new GatewayError('gateway sent a malformed reply'));
    });
    sock.on('end', () => {
      const r = parse(true);
      if (r) answer(r.status, r.body);
      else fail(chunks.length === 0 ? unreachable('ECONNRESET', 'socket hang up') : new GatewayError('gateway sent a malformed reply'));
    });
  });
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

/** One change of a batch: register or reload a sandbox's policy (egress.json bytes), or remove it. */
export type PolicyChange = { sandbox: string; egress: Uint8Array } | { sandbox: string; remove: true };

/** What a request of a batch may hold (the daemon's limit is one largest policy, in base64). */
const BATCH_MAX_OPS = 1024;
const BATCH_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Apply many policy changes in one round trip (POST /v1/policies); one result per change, in
 * order: the daemon's Registered or removed flag, or a GatewayError naming that change's failure.
 * A daemon too old for the batch endpoint gets the changes one by one.
 */
export async function applyPolicyChanges(stateDir: string, changes: PolicyChange[]): Promise<(Registered | boolean | GatewayError)[]> {
  type Wire =
    | { sandbox: string; ok: true; socket_path: string; policy_version: string; closed_flows: number }
    | { sandbox: string; ok: true; removed: boolean }
    | { sandbox: string; ok: false; status: number; error: string };
  let r: { results: Wire[] };
  try {
    r = await call<{ results: Wire[] }>(stateDir, 'POST', '/v1/policies', {
      ops: changes.map((c) =>
        'remove' in c
          ? { sandbox: c.sandbox, remove: true }
          : { sandbox: c.sandbox, egress_base64: Buffer.from(c.egress).toString('base64') },
      ),
    });
  } catch (e) {
    if (!(e instanceof GatewayError && e.status === 404)) throw e;
    return Promise.all(
      changes.map((c) =>
        ('remove' in c ? unregisterSandbox(stateDir, c.sandbox) : registerSandbox(stateDir, c.sandbox, c.egress)).catch((x: unknown) =>
          x instanceof GatewayError ? x : new GatewayError((x as Error).message),
        ),
      ),
    );
  }
  if (!Array.isArray(r.results) || r.results.length !== changes.length) throw new GatewayError('gateway sent a malformed reply');
  return r.results.map((w, i) => {
    if (w.sandbox !== changes[i]!.sandbox) return new GatewayError('gateway sent a malformed reply');
    if (!w.ok) return new GatewayError(w.error, w.status);
    if ('removed' in w) return w.removed;
    return { socketPath: w.socket_path, policyVersion: w.policy_version, closedFlows: w.closed_flows };
  });
}

/**
 * The policy changes of concurrent callers (the sandboxes of one apply), sent in few round trips
 * (see util/batch.ts). When `register` resolves the returned version is in force, as with
 * registerSandbox; a failure names only the sandbox whose change failed.
 */
export class PolicyBatcher {
  private readonly batcher: Batcher<PolicyChange, Registered | boolean>;
  constructor(stateDir: string) {
    this.batcher = new Batcher<PolicyChange, Registered | boolean>((changes) => applyPolicyChanges(stateDir, changes), {
      maxItems: BATCH_MAX_OPS,
      maxSize: BATCH_MAX_BYTES,
      size: (c) => ('egress' in c ? c.egress.length : 0),
    });
  }
  async register(sandbox: string, egress: Uint8Array): Promise<Registered> {
    return (await this.batcher.run({ sandbox, egress })) as Registered;
  }
  async unregister(sandbox: string): Promise<boolean> {
    return (await this.batcher.run({ sandbox, remove: true })) as boolean;
  }
}

export async function unregisterSandbox(stateDir: string, name: string): Promise<boolean> {
  return (await call<{ removed: boolean }>(stateDir, 'DELETE', `/v1/sandboxes/${encodeURIComponent(name)}`)).removed;
}

export function gatewayStatus(stateDir: string, signal?: AbortSignal): Promise<GatewayStatus> {
  return call<GatewayStatus>(stateDir, 'GET', '/v1/status', undefined, undefined, signal);
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

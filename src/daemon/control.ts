// The control API: HTTP over a unix socket that only the owner can open (socket 0600 in a 0700
// directory). It is how the CLI, the reconciler and tests talk to a running gateway.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { degraded } from '../audit/record.js';
import type { Gateway, PolicyOp } from '../gateway/gateway.js';
import { MAX_POLICY_BYTES, PolicyError } from '../gateway/policy.js';

export const API_VERSION = 1;

/** POST /v1/policies: at most this many changes, and a body of one largest policy in base64 plus slack. */
export const MAX_POLICY_BATCH_OPS = 1024;
const MAX_POLICY_BATCH_BYTES = Math.ceil((MAX_POLICY_BYTES * 4) / 3) + 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function jsonBody(req: IncomingMessage, limit = 64 * 1024): Promise<Record<string, unknown>> {
  const b = await readBody(req, limit);
  if (b.length === 0) return {};
  try {
    const v = JSON.parse(b.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'body must be a JSON object');
  }
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new HttpError(400, `${what} must be a non-empty string`);
  return v;
};

/** Routes other modules mount on the control API (the supervisor's /v1/supervisor/...); undefined = not mine. */
export type ExtraRoutes = (req: IncomingMessage, parts: string[]) => Promise<[number, unknown] | undefined>;

export function createControlServer(gw: Gateway, onShutdown: () => void, extra?: ExtraRoutes): Server {
  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://control');
    const parts = url.pathname.split('/').filter(Boolean);
    const m = req.method;
    if (parts[0] !== 'v1') throw new HttpError(404, 'unknown endpoint');
    const [, a, b, c] = parts;
    if (m === 'GET' && a === 'health') return [200, { ok: true, api: API_VERSION, pid: process.pid }];
    if (m === 'GET' && a === 'status') return [200, gw.status()];
    if (a === 'sandboxes' && b && c === 'policy' && m === 'PUT') {
      const bytes = await readBody(req, MAX_POLICY_BYTES);
      const r = await gw.applyPolicy(bytes, { sandbox: b });
      return [200, { socket_path: r.socketPath, policy_version: r.policyVersion, closed_flows: r.closed }];
    }
    if (a === 'sandboxes' && b && !c && m === 'DELETE') return [200, { removed: await gw.unregister(b) }];
    if (a === 'policies' && !b && m === 'POST') {
      // Many registrations and removals in one round trip (an apply of many sandboxes). Each op
      // has its own result: a refused policy fails only itself.
      const body = await jsonBody(req, MAX_POLICY_BATCH_BYTES);
      if (!Array.isArray(body.ops) || body.ops.length > MAX_POLICY_BATCH_OPS)
        throw new HttpError(400, `ops must be an array of at most ${MAX_POLICY_BATCH_OPS} changes`);
      const ops = body.ops.map((o: unknown, i: number): PolicyOp => {
        const x = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
        const sandbox = str(x.sandbox, `ops[${i}].sandbox`);
        if (x.remove === true) return { sandbox, remove: true };
        return { sandbox, egress: Buffer.from(str(x.egress_base64, `ops[${i}].egress_base64`), 'base64') };
      });
      const results = await gw.applyPolicies(ops);
      return [
        200,
        {
          results: results.map((r) =>
            !r.ok
              ? { sandbox: r.sandbox, ok: false, status: r.policyError ? 400 : 500, error: r.error }
              : 'removed' in r
                ? { sandbox: r.sandbox, ok: true, removed: r.removed }
                : { sandbox: r.sandbox, ok: true, socket_path: r.socketPath, policy_version: r.policyVersion, closed_flows: r.closed },
          ),
        },
      ];
    }
    if (a === 'sandboxes' && b && c === 'tcp' && m === 'POST') {
      const body = await jsonBody(req);
      const port = await gw.listenTcp(b, str(body.host, 'host'), Number(body.port ?? 0));
      return [200, { host: body.host, port }];
    }
    if (a === 'sandboxes' && b && c === 'degraded' && m === 'POST') {
      // A driver outside the daemon (docker) started B without these mechanisms (best_effort).
      const body = await jsonBody(req);
      const list = Array.isArray(body.not_enforced) ? body.not_enforced.filter((x): x is string => typeof x === 'string') : [];
      if (list.length === 0) throw new HttpError(400, 'not_enforced must list at least one mechanism');
      gw.audit(
        degraded(
          b,
          list.map((x) => x.slice(0, 500)),
        ),
      );
      return [200, { audited: true }];
    }
    if (a === 'approvals' && !b && m === 'GET') return [200, { approvals: gw.approvals.list() }];
    if (a === 'approvals' && b && (c === 'approve' || c === 'deny') && m === 'POST') {
      if (!gw.approvals.get(b)) throw new HttpError(404, `no approval with id ${b}`);
      const body = await jsonBody(req);
      const actor = str(body.actor, 'actor');
      const reason = typeof body.reason === 'string' ? body.reason : undefined;
      if (c === 'deny') return [200, { approval: gw.deny(b, { actor, reason }) }];
      const ttl = body.ttl_ms === null || body.ttl_ms === undefined ? null : Number(body.ttl_ms);
      if (ttl !== null && !(Number.isFinite(ttl) && ttl > 0)) throw new HttpError(400, 'ttl_ms must be a positive number or null');
      return [200, { approval: gw.approve(b, { ttlMs: ttl, actor, reason, persisted: body.persisted === true }) }];
    }
    if (a === 'shutdown' && m === 'POST') {
      setImmediate(onShutdown);
      return [200, { stopping: true }];
    }
    const mounted = await extra?.(req, parts);
    if (mounted) return mounted;
    throw new HttpError(404, 'unknown endpoint');
  };

  return createServer({ headersTimeout: 10_000, requestTimeout: 60_000 }, (req: IncomingMessage, res: ServerResponse) => {
    route(req).then(
      ([status, body]) => send(res, status, body),
      (e) => send(res, e instanceof HttpError ? e.status : e instanceof PolicyError ? 400 : 500, { error: (e as Error).message }),
    );
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function listenControl(server: Server, path: string): Promise<void> {
  if (existsSync(path)) unlinkSync(path);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve();
    });
  });
}

// One sandbox's proxy listener: HTTP/1.1 CONNECT tunnels, absolute-form plain HTTP forwarding, and
// WebSocket upgrades of plain HTTP requests.
// Node's HTTP parser (llhttp) does the framing: bounded head size, strict syntax, timeouts for
// slow clients. Everything sandbox-specific (policy, approvals, audit) comes from the context.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Denial } from './deny.js';
import { denialBody, rawDenial, statusFor } from './deny.js';
import { forwardHeaders, framingHeaders, requestFraming, type Framing } from './framing.js';
import type { RequestKind } from './matcher.js';
import { parseAbsoluteUrl, parseAuthority, type Target } from './target.js';
import type { UpstreamPool } from './pool.js';
import { connectChecked, splice, type PumpOptions, type Tunnel } from './upstream.js';
import * as audit from '../audit/record.js';
import { INFERENCE_HOST, isInferenceRequest } from './inference-hook.js';

export interface Authorized {
  ok: true;
  addresses: string[];
  rule: string;
  policyVersion: string;
  /** A CONNECT allowed by a `protocol: http` endpoint: parse and check the requests inside. */
  inspect?: boolean;
}
export type Authz = Authorized | { ok: false; denial: Denial };

export interface Flow {
  sandbox: string;
  target: Target;
  kind: RequestKind;
  method?: string;
  path?: string;
  address: string;
  rule: string;
  close(reason: 'policy_reload' | 'grant_expired' | 'shutdown'): void;
}

export interface ProxyContext {
  readonly limits: {
    maxConnections: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    tunnelIdleMs: number;
    connectTimeoutMs: number;
    /** Hand bulk tunnels to nemoclaw-pump; null when the binary is not built. */
    pump: PumpOptions | null;
  };
  /** Idle upstream connections for plain HTTP; without it every request gets its own. */
  readonly pool?: UpstreamPool;
  authorize(sandbox: string, target: Target, kind: RequestKind, method?: string, path?: string): Promise<Authz>;
  audit(entry: audit.AuditEntry): void;
  /** Connection accounting; returns false when the sandbox is over its cap. */
  connectionOpened(sandbox: string): boolean;
  connectionClosed(sandbox: string): void;
  addFlow(f: Flow): void;
  removeFlow(f: Flow): void;
  denied(sandbox: string): void;
  /** Model calls (see inference-hook.ts) go to the inference router, not to the egress rules. */
  inference(sandbox: string, req: IncomingMessage, res: ServerResponse): void;
  inferenceTunnel(sandbox: string, port: number, socket: Socket, head: Buffer): void;
}

const pathOnly = (p: string) => p.split(/[?#]/, 1)[0]!;

/** Every socket a proxy server accepted, so shutdown can end them all (tunnels included). */
export const acceptedSockets = new WeakMap<Server, Set<Socket>>();

/**
 * Sockets of inspected CONNECT tunnels, by the destination the CONNECT named. Such a socket is
 * handed back to its own server as a new connection, so llhttp parses the requests inside the
 * tunnel with the same limits and timeouts as any other; its requests go to that destination only.
 */
const inspectedTunnels = new WeakMap<Socket, Target>();

export function createProxyServer(ctx: ProxyContext, sandbox: string): Server {
  const L = ctx.limits;
  const server = createServer({
    maxHeaderSize: 16 * 1024,
    headersTimeout: L.headersTimeoutMs,
    requestTimeout: L.requestTimeoutMs,
    keepAliveTimeout: L.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, L.headersTimeoutMs),
    requireHostHeader: false, // absolute-form carries the authority; Host is rewritten anyway
    noDelay: true,
  });

  const sockets = new Set<Socket>();
  acceptedSockets.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    if (inspectedTunnels.has(socket)) return; // already counted when it connected
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (!ctx.connectionOpened(sandbox)) {
      const d: Denial = {
        sandbox,
        host: '',
        port: 0,
        reason: 'connection_limit',
        detail: `more than ${L.maxConnections} connections from sandbox ${sandbox}`,
      };
      ctx.audit(audit.denied('network', { sandbox, reason: d.reason, detail: d.detail }));
      socket.end(rawDenial(d));
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    socket.once('close', () => ctx.connectionClosed(sandbox));
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !socket.destroyed && (socket as Socket & { _httpMessage?: unknown })._httpMessage == null) {
      const d: Denial = { sandbox, host: '', port: 0, reason: 'bad_request', detail: `malformed request (${err.code ?? 'parse error'})` };
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : null;
      const buf = rawDenial(d);
      socket.end(status ? Buffer.from(buf.toString('latin1').replace(/^HTTP\/1\.1 400 Bad Request/, `HTTP/1.1 ${status}`), 'latin1') : buf);
    }
    socket.destroy();
  });

  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.pause();
    void handleConnect(ctx, sandbox, req, socket, head, server).catch(() => socket.destroy());
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handleRequest(ctx, sandbox, req, res, inspectedTunnels.get(req.socket)).catch(() => res.destroy());
  });

  // Absolute-form requests with `Connection: Upgrade` (WebSocket over http://) arrive here.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.pause();
    void handleUpgrade(ctx, sandbox, req, socket, head, inspectedTunnels.get(socket)).catch(() => socket.destroy());
  });
  return server;
}

function auditDenial(ctx: ProxyContext, d: Denial, kind: RequestKind, http?: { method: string; path: string }): void {
  ctx.denied(d.sandbox);
  ctx.audit(
    audit.denied(kind === 'http' ? 'http' : 'network', {
      sandbox: d.sandbox,
      dst: { hostname: d.host, port: d.port },
      http,
      reason: d.reason,
      detail: d.detail,
      policy_version: d.policy_version,
      approval_id: d.approval_id || undefined,
    }),
  );
}

async function handleConnect(
  ctx: ProxyContext,
  sandbox: string,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  server: Server,
): Promise<void> {
  const started = Date.now();
  const target = parseAuthority(req.url ?? '');
  if (!inspectedTunnels.has(socket) && target?.host === INFERENCE_HOST) return ctx.inferenceTunnel(sandbox, target.port, socket, head);
  if (inspectedTunnels.has(socket)) {
    const d: Denial = {
      sandbox,
      host: target?.host ?? '',
      port: target?.port ?? 0,
      reason: 'bad_request',
      detail: 'CONNECT inside a tunnel',
    };
    auditDenial(ctx, d, 'tunnel');
    socket.end(rawDenial(d));
    return;
  }
  if (!target) {
    const d: Denial = {
      sandbox,
      host: String(req.url ?? '').slice(0, 256),
      port: 0,
      reason: 'bad_request',
      detail: 'CONNECT needs host:port',
    };
    auditDenial(ctx, d, 'tunnel');
    socket.end(rawDenial(d));
    return;
  }
  const az = await ctx.authorize(sandbox, target, 'tunnel');
  if (!az.ok) {
    auditDenial(ctx, az.denial, 'tunnel');
    socket.end(rawDenial(az.denial));
    return;
  }
  if (az.inspect) {
    inspectTunnel(ctx, sandbox, target, az, socket, head, server);
    return;
  }
  let upstream: Socket;
  try {
    upstream = await connectChecked(az.addresses, target.port, ctx.limits.connectTimeoutMs);
  } catch (e) {
    const d: Denial = {
      sandbox,
      host: target.host,
      port: target.port,
      reason: 'upstream_failed',
      detail: `connect failed: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      policy_version: az.policyVersion,
    };
    auditDenial(ctx, d, 'tunnel');
    socket.end(rawDenial(d));
    return;
  }
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  const address = upstream.remoteAddress ?? az.addresses[0]!;
  let closeReason: string | undefined;
  // eslint-disable-next-line prefer-const -- the flow's close() must see the tunnel made after it is registered
  let tunnel: Tunnel | undefined;
  const flow: Flow = {
    sandbox,
    target,
    kind: 'tunnel',
    address,
    rule: az.rule,
    close(reason) {
      closeReason = reason;
      tunnel?.close();
      socket.destroy();
      upstream.destroy();
    },
  };
  ctx.addFlow(flow);
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) upstream.write(head);
  tunnel = splice(
    socket,
    upstream,
    () => {
      ctx.removeFlow(flow);
      ctx.audit(
        audit.tunnelClosed({
          sandbox,
          dst: { hostname: target.host, port: target.port, ip: address },
          rule: az.rule,
          policy_version: az.policyVersion,
          bytes_out: tunnel?.bytesOut() ?? upstream.bytesWritten,
          bytes_in: tunnel?.bytesIn() ?? upstream.bytesRead,
          duration_ms: Date.now() - started,
          relay: tunnel?.relay() ?? 'node',
          reason: closeReason || undefined,
        }),
      );
    },
    { idleMs: ctx.limits.tunnelIdleMs, pump: ctx.limits.pump },
  );
}

/**
 * A CONNECT to a `protocol: http` endpoint: answer 200, then give the socket back to the server
 * as a new connection. Each request inside is then checked (method, path, framing) and forwarded
 * on its own upstream connection like an absolute-form request to the CONNECT's destination, so
 * keep-alive and pipelining get the same rules and the same re-framing.
 */
function inspectTunnel(
  ctx: ProxyContext,
  sandbox: string,
  target: Target,
  az: Authorized,
  socket: Socket,
  head: Buffer,
  server: Server,
): void {
  const flow: Flow = {
    sandbox,
    target,
    kind: 'tunnel',
    address: az.addresses[0]!,
    rule: az.rule,
    close: () => socket.destroy(),
  };
  ctx.addFlow(flow);
  socket.once('close', () => ctx.removeFlow(flow));
  inspectedTunnels.set(socket, target);
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) socket.unshift(head);
  server.emit('connection', socket);
  socket.resume();
}

type HttpInfo = { method: string; path: string };

/** A plain-HTTP request that passed the policy, with its checked connection to the destination. */
interface HttpUpstream {
  target: Target & { path: string };
  http: HttpInfo;
  az: Authorized;
  sock: Socket;
  address: string;
  /** Host header value for the destination. */
  authority: string;
  framing: Framing;
  started: number;
  /** Whether `sock` may go back to the pool after a complete response. */
  reusable: boolean;
}

/** The destination of a request inside an inspected tunnel: origin-form, or absolute-form naming the tunnel's own destination. */
function tunnelRequestTarget(url: string, tunnel: Target): (Target & { path: string }) | undefined {
  if (url.startsWith('/')) return { ...tunnel, path: url };
  const t = parseAbsoluteUrl(url);
  return t && t.host === tunnel.host && t.port === tunnel.port ? t : undefined;
}

/** Parse, check and connect an absolute-form request; on refusal calls `deny` and returns undefined. */
async function checkAndConnect(
  ctx: ProxyContext,
  sandbox: string,
  req: IncomingMessage,
  deny: (d: Denial, http: HttpInfo) => void,
  opts: { tunnel?: Target; upgrade?: boolean } = {},
): Promise<HttpUpstream | undefined> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const t = opts.tunnel ? tunnelRequestTarget(req.url ?? '', opts.tunnel) : parseAbsoluteUrl(req.url ?? '');
  if (!t) {
    deny(
      {
        sandbox,
        host: opts.tunnel?.host ?? '',
        port: opts.tunnel?.port ?? 0,
        reason: 'bad_request',
        detail: opts.tunnel
          ? `inside a tunnel to ${opts.tunnel.host}:${opts.tunnel.port}, send origin-form requests (GET /path)`
          : 'this is a proxy: send CONNECT host:port or an absolute-form http:// URL',
      },
      { method, path: '' },
    );
    return undefined;
  }
  const http = { method, path: pathOnly(t.path) };
  const f = requestFraming(method, req.rawHeaders, { upgrade: opts.upgrade });
  if (!f.ok) {
    deny({ sandbox, host: t.host, port: t.port, reason: 'bad_request', detail: `ambiguous request framing: ${f.detail}` }, http);
    return undefined;
  }
  const az = await ctx.authorize(sandbox, t, 'http', method, t.path);
  if (!az.ok) {
    deny(az.denial, http);
    return undefined;
  }
  const reusable = !opts.upgrade && ctx.pool !== undefined;
  // A pooled connection is one to an address in the list just checked for this request.
  let sock: Socket | undefined = reusable ? ctx.pool!.take(sandbox, t.host, t.port, az.addresses) : undefined;
  if (!sock)
    try {
      sock = await connectChecked(az.addresses, t.port, ctx.limits.connectTimeoutMs);
    } catch (e) {
      deny(
        {
          sandbox,
          host: t.host,
          port: t.port,
          reason: 'upstream_failed',
          detail: `connect failed: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
          policy_version: az.policyVersion,
        },
        http,
      );
      return undefined;
    }
  const authority = t.port === 80 ? t.host : `${t.ipLiteral && t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  return { target: t, http, az, sock, address: sock.remoteAddress ?? az.addresses[0]!, authority, framing: f.framing, started, reusable };
}

/** What an HTTP flow's audit record reports when it ends. */
interface HttpOutcome {
  status?: number;
  closeReason?: string;
  bytesOut(): number;
  bytesIn(): number;
  /** Set once a WebSocket upgrade became a tunnel. */
  upgrade?(): Pick<audit.HttpRequestRecord, 'upgrade' | 'relay'>;
}

/** Registers the flow for reload checks; returns `finish`, which writes its one audit record. */
function trackHttpFlow(ctx: ProxyContext, sandbox: string, u: HttpUpstream, out: HttpOutcome, close: () => void): () => void {
  const { target: t, http, az, address } = u;
  const flow: Flow = {
    sandbox,
    target: t,
    kind: 'http',
    method: http.method,
    path: t.path,
    address,
    rule: az.rule,
    close(reason) {
      out.closeReason = reason;
      close();
    },
  };
  ctx.addFlow(flow);
  let finished = false;
  return () => {
    if (finished) return;
    finished = true;
    ctx.removeFlow(flow);
    ctx.audit(
      audit.httpRequest({
        sandbox,
        dst: { hostname: t.host, port: t.port, ip: address },
        http: { ...http, ...(out.status ? { status: out.status } : {}) },
        rule: az.rule,
        policy_version: az.policyVersion,
        bytes_out: out.bytesOut(),
        bytes_in: out.bytesIn(),
        duration_ms: Date.now() - u.started,
        ...out.upgrade?.(),
        reason: out.closeReason || undefined,
      }),
    );
  };
}

async function handleRequest(
  ctx: ProxyContext,
  sandbox: string,
  req: IncomingMessage,
  res: ServerResponse,
  tunnel?: Target,
): Promise<void> {
  // Inside an inspected tunnel every request is for the tunnel's destination, never the router.
  if (!tunnel && isInferenceRequest(req.url ?? '')) return ctx.inference(sandbox, req, res);
  const u = await checkAndConnect(
    ctx,
    sandbox,
    req,
    (d, http) => {
      auditDenial(ctx, d, 'http', http);
      const body = denialBody(d);
      res.writeHead(statusFor(d.reason), {
        'content-type': 'application/json',
        'x-nemoclaw-deny': d.reason,
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      });
      res.end(body);
      req.resume();
    },
    { tunnel },
  );
  if (!u) return;
  const { sock, target: t, az } = u;
  const pool = u.reusable ? ctx.pool : undefined;
  // Re-framed from llhttp's parse: the body below is what llhttp decoded, framed by these headers.
  const headers = [
    ...forwardHeaders(req.rawHeaders, new Set(['host', 'content-length'])),
    'Host',
    u.authority,
    ...framingHeaders(u.http.method, u.framing),
    'Connection',
    pool ? 'keep-alive' : 'close',
  ];
  const up = httpRequest({
    method: u.http.method,
    path: t.path,
    headers: headers as unknown as Record<string, string>,
    setHost: false,
    createConnection: () => sock,
  });
  // Without an agent Node's client assumes `Connection: close` and never frees the socket; this
  // request said keep-alive, so let the client hand the socket back after a complete response.
  if (pool) (up as unknown as { shouldKeepAlive: boolean }).shouldKeepAlive = true;
  // A pooled socket carries earlier requests' bytes: count from here, and stop counting once it is
  // handed back (the next request's bytes are its own).
  const base = { out: sock.bytesWritten, in: sock.bytesRead };
  let released: { out: number; in: number } | undefined;
  const out: HttpOutcome = {
    bytesOut: () => (released?.out ?? sock.bytesWritten) - base.out,
    bytesIn: () => (released?.in ?? sock.bytesRead) - base.in,
  };
  const finish = trackHttpFlow(ctx, sandbox, u, out, () => {
    up.destroy();
    res.destroy();
  });
  let upRes: IncomingMessage | undefined;
  let failed = false;
  // Node's client emits 'free' only when the response was read to its end, the request was fully
  // written, neither side said `Connection: close`, and nothing failed.
  const onFree = () => {
    if (failed || !pool || !upRes?.complete) return sock.destroy();
    released = { out: sock.bytesWritten, in: sock.bytesRead };
    pool.put(sandbox, t.host, t.port, sock);
  };
  if (pool) sock.once('free', onFree);
  up.on('response', (r) => {
    upRes = r;
    out.status = r.statusCode;
    res.writeHead(r.statusCode ?? 502, r.statusMessage, forwardHeaders(r.rawHeaders, new Set()) as unknown as Record<string, string>);
    r.pipe(res);
    r.on('error', () => res.destroy());
    // 'free' comes on the next tick after the end, if at all; a socket not handed back is closed.
    r.once('end', () =>
      setImmediate(() => {
        if (!released) {
          sock.off('free', onFree);
          sock.destroy();
        }
      }),
    );
  });
  up.on('error', () => {
    failed = true;
    sock.destroy();
    if (!res.headersSent) {
      const body = denialBody({
        sandbox,
        host: t.host,
        port: t.port,
        reason: 'upstream_failed',
        detail: 'upstream connection failed',
        policy_version: az.policyVersion,
      });
      res.writeHead(502, { 'content-type': 'application/json', 'x-nemoclaw-deny': 'upstream_failed', connection: 'close' });
      res.end(body);
    } else res.destroy();
    finish();
  });
  res.on('close', () => {
    // The client went away (or the response is done): a response not read to its end is never reused.
    if (!upRes?.complete) {
      failed = true;
      sock.destroy();
    }
    finish();
  });
  req.pipe(up);
}

/** `HTTP/1.1 <status> <message>` and the headers, as raw bytes for a socket we write ourselves. */
function responseHead(status: number, message: string | undefined, headers: string[]): string {
  let out = `HTTP/1.1 ${status} ${message ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return out + '\r\n';
}

/**
 * A plain-HTTP request asking to switch protocols. The request is checked like any other (host,
 * port, method, path). Only `Upgrade: websocket` is passed on: once the server answers 101 the
 * connection becomes a tunnel, and WebSocket frames cannot name another path. Any other upgrade
 * (h2c, say) would let later requests on the same connection skip the method/path rules, so it
 * is forwarded as an ordinary request without the Upgrade header. When the server does not
 * switch, its response is relayed and the connection closed, for the same reason.
 */
async function handleUpgrade(
  ctx: ProxyContext,
  sandbox: string,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  inTunnel?: Target,
): Promise<void> {
  const u = await checkAndConnect(
    ctx,
    sandbox,
    req,
    (d, http) => {
      auditDenial(ctx, d, 'http', http);
      socket.end(rawDenial(d));
    },
    { tunnel: inTunnel, upgrade: true },
  );
  if (!u) return;
  const { sock, target: t, az } = u;
  if (socket.destroyed) {
    sock.destroy();
    return;
  }
  const protocol = String(req.headers.upgrade ?? '');
  const websocket = /^websocket$/i.test(protocol.trim());
  const headers = [
    ...forwardHeaders(req.rawHeaders, new Set(['host', 'content-length'])),
    'Host',
    u.authority,
    ...(websocket ? ['Connection', 'Upgrade', 'Upgrade', protocol] : ['Connection', 'close']),
  ];
  const up = httpRequest({
    method: u.http.method,
    path: t.path,
    headers: headers as unknown as Record<string, string>,
    setHost: false,
    createConnection: () => sock,
  });
  let tunnel: Tunnel | undefined;
  const out: HttpOutcome = {
    bytesOut: () => (tunnel?.bytesOut() ?? 0) || sock.bytesWritten,
    bytesIn: () => (tunnel?.bytesIn() ?? 0) || sock.bytesRead,
    upgrade: () => (tunnel ? { upgrade: 'websocket', relay: tunnel.relay() } : {}),
  };
  const finish = trackHttpFlow(ctx, sandbox, u, out, () => {
    tunnel?.close();
    up.destroy();
    sock.destroy();
    socket.destroy();
  });
  up.on('upgrade', (upRes: IncomingMessage, upSock: Socket, upHead: Buffer) => {
    out.status = 101;
    socket.write(responseHead(101, upRes.statusMessage, upRes.rawHeaders));
    if (upHead.length) socket.write(upHead);
    if (head.length) upSock.write(head);
    tunnel = splice(socket, upSock, finish, { idleMs: ctx.limits.tunnelIdleMs, pump: ctx.limits.pump });
  });
  up.on('response', (upRes: IncomingMessage) => {
    out.status = upRes.statusCode;
    socket.write(
      responseHead(upRes.statusCode ?? 502, upRes.statusMessage, [...forwardHeaders(upRes.rawHeaders, new Set()), 'Connection', 'close']),
    );
    upRes.pipe(socket);
    upRes.on('error', () => socket.destroy());
    socket.once('finish', () => socket.destroy()); // all written: close now, whatever the client does
  });
  up.on('error', () => {
    if (out.status === undefined) {
      socket.end(
        rawDenial({
          sandbox,
          host: t.host,
          port: t.port,
          reason: 'upstream_failed',
          detail: 'upstream connection failed',
          policy_version: az.policyVersion,
        }),
      );
    } else socket.destroy();
    finish();
  });
  socket.once('close', () => {
    if (!tunnel) {
      up.destroy();
      finish();
    }
  });
  up.end();
}

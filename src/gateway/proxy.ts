// One sandbox's proxy listener: HTTP/1.1 CONNECT tunnels, absolute-form plain HTTP forwarding, and
// WebSocket upgrades of plain HTTP requests.
// Node's HTTP parser (llhttp) does the framing: bounded head size, strict syntax, timeouts for
// slow clients. Everything sandbox-specific (policy, approvals, audit) comes from the context.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Denial } from './deny.js';
import { denialBody, rawDenial, statusFor } from './deny.js';
import type { RequestKind } from './matcher.js';
import { parseAbsoluteUrl, parseAuthority, type Target } from './target.js';
import { connectChecked, splice, type PumpOptions, type Tunnel } from './upstream.js';
import type { AuditRecord } from './audit.js';
import { INFERENCE_HOST, isInferenceRequest } from './inference-hook.js';

export interface Authorized {
  ok: true;
  addresses: string[];
  rule: string;
  policyVersion: string;
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
  authorize(sandbox: string, target: Target, kind: RequestKind, method?: string, path?: string): Promise<Authz>;
  audit(rec: Omit<AuditRecord, 'time'>): void;
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

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(raw: string[], extraDrop: Set<string>): string[] {
  const drop = new Set(HOP_BY_HOP);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) drop.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!drop.has(name) && !extraDrop.has(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

const pathOnly = (p: string) => p.split(/[?#]/, 1)[0]!;

/** Every socket a proxy server accepted, so shutdown can end them all (tunnels included). */
export const acceptedSockets = new WeakMap<Server, Set<Socket>>();

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
      ctx.audit({
        class_uid: 4001,
        class_name: 'Network Activity',
        activity: 'deny',
        action: 'denied',
        sandbox,
        reason: d.reason,
        detail: d.detail,
      });
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
    void handleConnect(ctx, sandbox, req, socket, head).catch(() => socket.destroy());
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handleRequest(ctx, sandbox, req, res).catch(() => res.destroy());
  });

  // Absolute-form requests with `Connection: Upgrade` (WebSocket over http://) arrive here.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.pause();
    void handleUpgrade(ctx, sandbox, req, socket, head).catch(() => socket.destroy());
  });
  return server;
}

function auditDenial(ctx: ProxyContext, d: Denial, kind: RequestKind, http?: { method: string; path: string }): void {
  ctx.denied(d.sandbox);
  ctx.audit({
    class_uid: kind === 'http' ? 4002 : 4001,
    class_name: kind === 'http' ? 'HTTP Activity' : 'Network Activity',
    activity: 'deny',
    action: 'denied',
    sandbox: d.sandbox,
    dst: { hostname: d.host, port: d.port },
    ...(http ? { http } : {}),
    reason: d.reason,
    detail: d.detail,
    policy_version: d.policy_version,
    ...(d.approval_id ? { approval_id: d.approval_id } : {}),
  });
}

async function handleConnect(ctx: ProxyContext, sandbox: string, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const started = Date.now();
  const target = parseAuthority(req.url ?? '');
  if (target?.host === INFERENCE_HOST) return ctx.inferenceTunnel(sandbox, target.port, socket, head);
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
      ctx.audit({
        class_uid: 4001,
        class_name: 'Network Activity',
        activity: 'close',
        action: 'allowed',
        sandbox,
        dst: { hostname: target.host, port: target.port, ip: address },
        rule: az.rule,
        policy_version: az.policyVersion,
        bytes_out: tunnel?.bytesOut() ?? upstream.bytesWritten,
        bytes_in: tunnel?.bytesIn() ?? upstream.bytesRead,
        duration_ms: Date.now() - started,
        relay: tunnel?.relay() ?? 'node',
        ...(closeReason ? { reason: closeReason } : {}),
      });
    },
    { idleMs: ctx.limits.tunnelIdleMs, pump: ctx.limits.pump },
  );
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
  started: number;
}

/** Parse, check and connect an absolute-form request; on refusal calls `deny` and returns undefined. */
async function checkAndConnect(
  ctx: ProxyContext,
  sandbox: string,
  req: IncomingMessage,
  deny: (d: Denial, http: HttpInfo) => void,
): Promise<HttpUpstream | undefined> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const t = parseAbsoluteUrl(req.url ?? '');
  if (!t) {
    deny(
      {
        sandbox,
        host: '',
        port: 0,
        reason: 'bad_request',
        detail: 'this is a proxy: send CONNECT host:port or an absolute-form http:// URL',
      },
      { method, path: '' },
    );
    return undefined;
  }
  const http = { method, path: pathOnly(t.path) };
  const az = await ctx.authorize(sandbox, t, 'http', method, t.path);
  if (!az.ok) {
    deny(az.denial, http);
    return undefined;
  }
  let sock: Socket;
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
  return { target: t, http, az, sock, address: sock.remoteAddress ?? az.addresses[0]!, authority, started };
}

/** What an HTTP flow's audit record reports when it ends. */
interface HttpOutcome {
  status?: number;
  closeReason?: string;
  bytesOut(): number;
  bytesIn(): number;
  extra?(): Record<string, unknown>;
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
    ctx.audit({
      class_uid: 4002,
      class_name: 'HTTP Activity',
      activity: 'request',
      action: 'allowed',
      sandbox,
      dst: { hostname: t.host, port: t.port, ip: address },
      http: { ...http, ...(out.status ? { status: out.status } : {}) },
      rule: az.rule,
      policy_version: az.policyVersion,
      bytes_out: out.bytesOut(),
      bytes_in: out.bytesIn(),
      duration_ms: Date.now() - u.started,
      ...(out.extra?.() ?? {}),
      ...(out.closeReason ? { reason: out.closeReason } : {}),
    });
  };
}

async function handleRequest(ctx: ProxyContext, sandbox: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (isInferenceRequest(req.url ?? '')) return ctx.inference(sandbox, req, res);
  const u = await checkAndConnect(ctx, sandbox, req, (d, http) => {
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
  });
  if (!u) return;
  const { sock, target: t, az } = u;
  const headers = [...forwardHeaders(req.rawHeaders, new Set(['host'])), 'Host', u.authority, 'Connection', 'close'];
  const up = httpRequest({
    method: u.http.method,
    path: t.path,
    headers: headers as unknown as Record<string, string>,
    setHost: false,
    createConnection: () => sock,
  });
  const out: HttpOutcome = { bytesOut: () => sock.bytesWritten, bytesIn: () => sock.bytesRead };
  const finish = trackHttpFlow(ctx, sandbox, u, out, () => {
    up.destroy();
    res.destroy();
  });
  up.on('response', (upRes) => {
    out.status = upRes.statusCode;
    res.writeHead(
      upRes.statusCode ?? 502,
      upRes.statusMessage,
      forwardHeaders(upRes.rawHeaders, new Set()) as unknown as Record<string, string>,
    );
    upRes.pipe(res);
    upRes.on('error', () => res.destroy());
  });
  up.on('error', () => {
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
    sock.destroy();
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
async function handleUpgrade(ctx: ProxyContext, sandbox: string, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const u = await checkAndConnect(ctx, sandbox, req, (d, http) => {
    auditDenial(ctx, d, 'http', http);
    socket.end(rawDenial(d));
  });
  if (!u) return;
  const { sock, target: t, az } = u;
  if (socket.destroyed) {
    sock.destroy();
    return;
  }
  const protocol = String(req.headers.upgrade ?? '');
  const websocket = /^websocket$/i.test(protocol.trim());
  const headers = [
    ...forwardHeaders(req.rawHeaders, new Set(['host'])),
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
    extra: () => (tunnel ? { upgrade: 'websocket', relay: tunnel.relay() } : {}),
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

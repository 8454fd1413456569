// Shared fixtures for gateway tests: loopback servers, policies, a gateway in a temp state dir,
// and minimal proxy clients that speak raw HTTP/1.1 so tests see exactly what the gateway sends.
import { rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';
import type { Resolver } from '../../src/gateway/ssrf.js';
import { makeTempDir } from '../helpers/tmp.js';

export interface Endpoint {
  host: string;
  port: number;
  wildcard?: boolean;
  protocol?: 'https' | 'http';
  methods?: string[] | null;
  paths?: string[] | null;
}

export function policyBytes(
  sandbox: string,
  rules: { name: string; endpoints: Endpoint[] }[],
  extra: { on_deny?: 'deny' | 'ask'; allowed_ips?: string[] } = {},
): Buffer {
  const p = {
    allowed_ips: extra.allowed_ips ?? [],
    default: 'deny',
    format_version: 1,
    inference: null,
    on_deny: extra.on_deny ?? 'deny',
    rules: rules.map((r) => ({
      endpoints: r.endpoints.map((e) => ({
        host: e.host,
        methods: e.methods ?? null,
        paths: e.paths ?? null,
        port: e.port,
        protocol: e.protocol ?? 'https',
        wildcard: e.wildcard ?? false,
      })),
      name: r.name,
      source: 'config',
    })),
    sandbox,
  };
  return Buffer.from(JSON.stringify(p) + '\n');
}

/** TCP echo server on 127.0.0.1 that also reports half-closes (echoes, then ends when the peer ends). */
export async function echoServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

export async function httpServer(): Promise<{
  server: HttpServer;
  port: number;
  seen: { method: string; url: string; headers: Record<string, unknown> }[];
}> {
  const seen: { method: string; url: string; headers: Record<string, unknown> }[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, seen };
}

/** A resolver for test host names; anything unknown fails like NXDOMAIN. Counts calls. */
export function fakeResolver(map: Record<string, string[] | (() => string[])>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const f = (async (host: string) => {
    calls.push(host);
    const v = map[host];
    if (!v) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return typeof v === 'function' ? v() : v;
  }) as Resolver & { calls: string[] };
  f.calls = calls;
  return f;
}

export async function startGateway(
  opts: Partial<GatewayOptions> & { resolver?: Resolver } = {},
): Promise<{ gw: Gateway; dir: string; cleanup: () => Promise<void> }> {
  const dir = makeTempDir('nemoclaw-gw-');
  const { resolver, ...rest } = opts;
  const gw = new Gateway({ stateDir: dir, testHooks: { resolver, allowLoopback: true }, ...rest });
  await gw.start();
  return {
    gw,
    dir,
    cleanup: async () => {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  socket: Socket;
  rest: Buffer;
}

/** Send `head` on a fresh connection and read one response head (+ body when content-length says so). */
export function rawRequest(socketPath: string | { port: number }, head: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = typeof socketPath === 'string' ? connect(socketPath) : connect(socketPath.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + len) return;
      s.off('data', onData);
      s.off('end', onEnd);
      const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
      resolve({ status, headers, body, socket: s, rest: buf.subarray(end + 4 + len) });
    };
    const onEnd = () => reject(new Error(`connection ended before a full response: ${JSON.stringify(buf.toString('latin1'))}`));
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('error', reject);
    s.write(head);
  });
}

export function connectVia(socketPath: string, authority: string): Promise<RawResponse> {
  return rawRequest(socketPath, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
}

/** Write `data` on an open tunnel and collect `data.length` echoed bytes. */
export function echoOnce(s: Socket, data: Buffer | string): Promise<Buffer> {
  const want = Buffer.from(data);
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= want.length) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(want);
  });
}

export function waitClosed(s: Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

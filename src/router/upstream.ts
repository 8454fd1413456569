// Connections to providers. Providers are operator configuration, so the router connects to
// exactly the configured endpoint, loopback and LAN included (the sandboxes' SSRF guard is for
// hosts the agent names, not these). TLS is always verified: against the system roots plus the
// provider's ca_file, if any (re-read when it changes). Connections are kept alive per provider.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import ipaddr from 'ipaddr.js';
import type { InferenceProviderRoute } from '../compiler/artifacts.js';

const LOCAL_RANGES = new Set(['loopback', 'private', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/** A loopback, private, link-local or unique-local address (IPv4-mapped IPv6 included). */
export function isLocalAddress(ip: string): boolean {
  try {
    return LOCAL_RANGES.has(ipaddr.process(ip).range());
  } catch {
    return false;
  }
}

/** Resolve, but refuse a name that resolves to anything not local (for local_only sandboxes). */
const localOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addrs: LookupAddress[]) => {
    if (err) return callback(err, '', 4);
    const bad = addrs.find((a) => !isLocalAddress(a.address));
    if (bad || addrs.length === 0) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, not a local address`);
      e.code = 'ENOTLOCAL';
      return callback(e, '', 4);
    }
    if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addrs);
    else callback(null, addrs[0]!.address, addrs[0]!.family);
  });
};

interface AgentEntry {
  stamp: string;
  agent: HttpAgent;
}
const agents = new Map<string, AgentEntry>();

function fileStamp(file: string | null): string {
  if (file === null) return '';
  const st = statSync(file, { bigint: true }); // throws: the call fails as upstream_failed
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

function agentFor(p: InferenceProviderRoute, localOnly: boolean, https: boolean): HttpAgent {
  const key = `${p.endpoint}|${p.ca_file ?? ''}|${localOnly}`;
  const stamp = https ? fileStamp(p.ca_file) : '';
  const hit = agents.get(key);
  if (hit && hit.stamp === stamp) return hit.agent;
  hit?.agent.destroy();
  const opts = { keepAlive: true, scheduling: 'lifo' as const, ...(localOnly ? { lookup: localOnlyLookup } : {}) };
  const ca = https && p.ca_file ? [...rootCertificates, readFileSync(p.ca_file, 'utf8')] : undefined;
  const agent = https ? new HttpsAgent({ ...opts, rejectUnauthorized: true, ...(ca ? { ca } : {}) }) : new HttpAgent(opts);
  agents.set(key, { stamp, agent });
  return agent;
}

/** The provider URL for a router path: OpenAI-style endpoints carry the version (…/v1), Anthropic-style ones may not. */
export function upstreamUrl(p: InferenceProviderRoute, path: string): URL {
  const url = new URL(p.endpoint);
  const base = url.pathname.replace(/\/+$/, '');
  const sub = p.api === 'openai' || base.endsWith('/v1') ? path.replace(/^\/v1(?=\/)/, '') : path;
  url.pathname = base + sub;
  url.search = '';
  return url;
}

export interface UpstreamCall {
  p: InferenceProviderRoute;
  localOnly: boolean;
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  connectTimeoutMs: number;
}

interface Target {
  https: boolean;
  host: string;
  port: string | number;
  path: string;
  /** Host header. */
  authority: string;
  servername: string | undefined;
  protocol: string;
}
const targets = new Map<string, Target>();

/** Where a router path goes at a provider; computed once per provider endpoint and path (the hot path parses no URL). */
function targetOf(p: InferenceProviderRoute, path: string): Target {
  const k = `${p.api} ${p.endpoint} ${path}`;
  let t = targets.get(k);
  if (!t) {
    const url = upstreamUrl(p, path);
    const https = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    t = {
      https,
      host,
      port: url.port || (https ? 443 : 80),
      path: url.pathname,
      authority: url.host,
      servername: isIP(host) ? undefined : host,
      protocol: url.protocol,
    };
    if (targets.size > 4096) targets.clear(); // bounded: endpoints come from policy reloads
    targets.set(k, t);
  }
  return t;
}

/** Send one request; resolves with the response head, rejects on connection errors. */
export function send(c: UpstreamCall): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const t = targetOf(c.p, c.path);
  if (c.localOnly && isIP(t.host) && !isLocalAddress(t.host)) {
    const e: NodeJS.ErrnoException = new Error(`${t.host} is not a local address`);
    e.code = 'ENOTLOCAL';
    throw e;
  }
  const req = (t.https ? httpsRequest : httpRequest)({
    protocol: t.protocol,
    host: t.host,
    port: t.port,
    path: t.path,
    method: c.method,
    headers: { ...c.headers, host: t.authority, 'content-length': c.body.length },
    agent: agentFor(c.p, c.localOnly, t.https),
    servername: t.servername,
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    // A timer only while a new connection is being made: a kept-alive one needs none.
    let timer: NodeJS.Timeout | undefined;
    // No Nagle delay for the request; set once per connection (a kept-alive one has it already).
    req.once('socket', (s) => {
      if (!s.connecting) return;
      timer = setTimeout(() => req.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), c.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setNoDelay(true);
      });
    });
    req.once('response', (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  req.end(c.body);
  return { req, response };
}

/** Errors that, on a reused connection and before any byte of the answer, mean the provider had closed it while idle. */
const STALE = new Set(['ECONNRESET', 'EPIPE']);

/**
 * send(), and when a kept-alive connection turns out to be dead before any byte of the answer
 * (the provider closed it while it sat idle), once more on a fresh connection: the provider never
 * got the request, so sending it again is safe. `current` always holds the request in flight, for
 * the caller to abort.
 */
export async function exchange(c: UpstreamCall, current: { req?: ClientRequest }): Promise<IncomingMessage> {
  const first = send(c);
  current.req = first.req;
  try {
    return await first.response;
  } catch (e) {
    if (!first.req.reusedSocket || !STALE.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  // The other idle connections to this provider are likely as dead: close them so the retry connects anew.
  const agent = agentFor(c.p, c.localOnly, targetOf(c.p, c.path).https);
  for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy();
  const again = send(c);
  current.req = again.req;
  return again.response;
}

export function closeAgents(): void {
  for (const a of agents.values()) a.agent.destroy();
  agents.clear();
}

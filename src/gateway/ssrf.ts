// The SSRF guard: resolve once, refuse if ANY address is internal (unless allowed_ips covers it),
// and hand back the checked addresses so the caller connects to exactly those (no second lookup,
// so a DNS answer that changes between check and connect — rebinding — cannot slip through).
import { lookup } from 'node:dns/promises';
import { ipViews, NEVER_ALLOWED, parseIp, rangeCovers, type Cidr, type IpCategory } from '../util/ip.js';

export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
};

/**
 * INNER's answers kept for TTL_MS, and one lookup in flight per name. Only the DNS answer is
 * reused: `guard` still checks every address on every request, so a cached answer never skips a
 * decision, and the caller still connects only to checked addresses. A lookup on the system
 * resolver (getaddrinfo in the thread pool) was most of what plain-HTTP keep-alive added per
 * request (issue 15). Failures are not kept. At most MAX names; the oldest goes first.
 */
export function cachingResolver(inner: Resolver, ttlMs = 2000, max = 1024, now = () => performance.now()): Resolver {
  const answers = new Map<string, { at: number; addresses: Promise<string[]> }>();
  return (host) => {
    const hit = answers.get(host);
    if (hit && now() - hit.at < ttlMs) return hit.addresses;
    answers.delete(host);
    if (answers.size >= max) answers.delete(answers.keys().next().value!);
    const addresses = inner(host);
    const entry = { at: now(), addresses };
    answers.set(host, entry);
    addresses.catch(() => {
      if (answers.get(host) === entry) answers.delete(host);
    });
    return addresses;
  };
}

/**
 * Test hooks. Reachable ONLY programmatically (GatewayOptions.testHooks) or through the
 * NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK variable, which the daemon announces loudly, records in
 * every audit line and reports in `gateway status` (see testHooksFromEnv in daemon.ts). They
 * never relax metadata, link-local or private ranges: only loopback, because tests may only
 * reach servers on 127.0.0.1.
 */
export interface TestHooks {
  resolver?: Resolver;
  allowLoopback?: boolean;
}

export type GuardResult =
  | { ok: true; addresses: string[] }
  | { ok: false; reason: 'ssrf_blocked'; address: string; category: IpCategory }
  | { ok: false; reason: 'resolve_failed'; detail: string };

export interface GuardOptions {
  allowedIps: readonly Cidr[];
  resolver: Resolver;
  allowLoopback: boolean;
  timeoutMs?: number;
}

/**
 * Why an address is refused, or undefined when it may be reached. The address is read every way
 * traffic to it can end up (itself and each IPv4 address embedded in it: mapped, NAT64, 6to4,
 * Teredo, ...): a never-allowed category in any reading refuses it; any other category must be
 * covered by allowed_ips in that reading.
 */
export function checkAddress(address: string, opts: Pick<GuardOptions, 'allowedIps' | 'allowLoopback'>): IpCategory | undefined {
  const ip = parseIp(address);
  if (!ip) return 'unspecified'; // unparseable: fail closed
  const views = ipViews(ip).filter((v) => v.category !== undefined && !(v.category === 'loopback' && opts.allowLoopback));
  const never = views.find((v) => NEVER_ALLOWED.has(v.category!));
  if (never) return never.category;
  return views.find((v) => !opts.allowedIps.some((c) => rangeCovers(c, v.ip)))?.category;
}

export async function guard(host: string, ipLiteral: boolean, opts: GuardOptions): Promise<GuardResult> {
  let addresses: string[];
  if (ipLiteral) {
    addresses = [host];
  } else {
    try {
      addresses = await withTimeout(opts.resolver(host), opts.timeoutMs ?? 5000);
    } catch (e) {
      return { ok: false, reason: 'resolve_failed', detail: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
    if (addresses.length === 0) return { ok: false, reason: 'resolve_failed', detail: 'no addresses' };
  }
  for (const a of addresses) {
    const cat = checkAddress(a, opts);
    if (cat) return { ok: false, reason: 'ssrf_blocked', address: a, category: cat };
  }
  return { ok: true, addresses };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

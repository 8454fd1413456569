// The requested destination, from a CONNECT authority or an absolute-form URL, normalized the way
// rules are (lower-case, no trailing dot, IDNA to ASCII) so matching compares like with like.
import { isIP } from 'node:net';
import { normalizeHost } from '../compiler/hosts.js';

export interface Target {
  host: string;
  port: number;
  ipLiteral: boolean;
}

/** `host:port` or `[v6]:port` (CONNECT). */
export function parseAuthority(authority: string): Target | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/?#@\[\]]+)):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  return makeTarget(m[1] ?? m[2]!, Number(m[3]));
}

export function makeTarget(rawHost: string, port: number): Target | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const h = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  if (isIP(h)) return { host: h.toLowerCase(), port, ipLiteral: true };
  if (h.startsWith('*')) return undefined;
  const n = normalizeHost(h);
  if (!n || n.wildcard) return undefined;
  // A name made only of digits and dots would be read as an IPv4 address by some resolvers.
  if (/^[0-9.]+$/.test(n.host) || /^0x/i.test(n.host)) return undefined;
  return { host: n.host, port, ipLiteral: false };
}

/** Absolute-form `http://host[:port]/path` (plain HTTP forwarding). */
export function parseAbsoluteUrl(target: string): (Target & { path: string }) | undefined {
  if (!/^http:\/\//i.test(target)) return undefined;
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return undefined;
  }
  if (u.username || u.password) return undefined;
  const t = makeTarget(u.hostname, u.port === '' ? 80 : Number(u.port));
  if (!t) return undefined;
  // Keep the raw path+query as sent (URL would normalize dot segments and hide them from the check).
  const afterAuthority = target.replace(/^http:\/\/[^/?#]*/i, '');
  const path = afterAuthority === '' ? '/' : afterAuthority;
  return { ...t, path };
}

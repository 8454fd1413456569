// IP address parsing and classification for the SSRF guard.
// Written here rather than with net.BlockList because the guard needs to (a) name the category
// that blocked an address (for the audit and the 403 body) and (b) look through IPv4 embedded in
// IPv6 (mapped, compatible, NAT64, 6to4), which BlockList does not do consistently.
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  bytes: Uint8Array;
}

export function parseIp(s: string): ParsedIp | undefined {
  if (isIPv4(s)) return { family: 4, bytes: Uint8Array.from(s.split('.').map(Number)) };
  if (!isIPv6(s) || s.includes('%')) return undefined; // zone ids never name a remote host
  let text = s;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    // a.b.c.d tail → two hex groups, so the rest is plain colon-hex
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = s.slice(0, lastColon + 1) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const halves = text.split('::');
  const parts = (x: string) => (x === '' ? [] : x.split(':'));
  const left = parts(halves[0]!);
  const right = halves.length === 2 ? parts(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : Number(s.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(s.slice(slash + 1)))) return undefined;
  return { family: ip.family, bytes: ip.bytes, prefix, text: s };
}

export function inCidr(ip: ParsedIp, c: Cidr): boolean {
  if (ip.family !== c.family) return false;
  const full = Math.floor(c.prefix / 8);
  for (let i = 0; i < full; i++) if (ip.bytes[i] !== c.bytes[i]) return false;
  const rem = c.prefix % 8;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (ip.bytes[full]! & mask) === (c.bytes[full]! & mask);
}

/** Categories of addresses a sandbox must not reach by default. */
export type IpCategory =
  'loopback' | 'link_local' | 'metadata' | 'unspecified' | 'multicast' | 'broadcast' | 'private' | 'cgnat' | 'unique_local' | 'reserved';

/** Never reachable, whatever allowed_ips says. */
export const NEVER_ALLOWED: ReadonlySet<IpCategory> = new Set([
  'loopback',
  'link_local',
  'metadata',
  'unspecified',
  'multicast',
  'broadcast',
]);

const table = (rows: [string, IpCategory][]) => rows.map(([c, cat]) => ({ cidr: parseCidr(c)!, cat }));
// Order matters: the first match names the category (metadata before its enclosing range).
const V4 = table([
  ['169.254.169.254/32', 'metadata'],
  ['100.100.100.200/32', 'metadata'],
  ['192.0.0.192/32', 'metadata'],
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['192.0.0.0/24', 'reserved'],
  ['198.18.0.0/15', 'reserved'],
  // Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are not
  // blocked: they name nothing internal, and lab networks (this project's CI among them) route
  // real services through them.
]);
const V6 = table([
  ['fd00:ec2::254/128', 'metadata'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'private'],
  ['fc00::/7', 'unique_local'],
  ['ff00::/8', 'multicast'],
  ['100::/64', 'reserved'],
]);

/** IPv4 carried inside an IPv6 address that would route to that IPv4 host. */
export function embeddedIpv4(ip: ParsedIp): ParsedIp | undefined {
  if (ip.family !== 6) return undefined;
  const b = ip.bytes;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number): ParsedIp => ({ family: 4, bytes: b.slice(at, at + 4) });
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d mapped
  if (zero(0, 12) && !zero(12, 14)) return v4(12); // ::a.b.c.d compatible (not ::/::1)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12); // 64:ff9b::/96 NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002::/16 6to4
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return v4(12); // ::ffff:0:a.b.c.d translated
  return undefined;
}

/** The blocking category of an address, or undefined for an ordinary public address. */
export function classifyIp(ip: ParsedIp): IpCategory | undefined {
  const inner = embeddedIpv4(ip);
  if (inner) return classifyIp(inner);
  for (const { cidr, cat } of ip.family === 4 ? V4 : V6) if (inCidr(ip, cidr)) return cat;
  return undefined;
}

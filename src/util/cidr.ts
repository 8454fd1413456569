// CIDR parsing and normalization (network address masked, IPv6 compressed) without I/O.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

export function parseCidr(raw: string): Cidr | undefined {
  const [addr, len, ...rest] = raw.trim().split('/');
  if (rest.length > 0 || addr === undefined) return undefined;
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : undefined;
  if (!family) return undefined;
  const width = family === 4 ? 32 : 128;
  const prefix = len === undefined ? width : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= width)) return undefined;
  const value = family === 4 ? ipv4ToBig(addr) : ipv6ToBig(addr);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  return { family, bits: value & mask, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${c.family === 4 ? bigToIpv4(c.bits) : bigToIpv6(c.bits)}/${c.prefix}`;
}

export function cidrContains(net: Cidr, other: Cidr): boolean {
  if (net.family !== other.family || other.prefix < net.prefix) return false;
  const width = net.family === 4 ? 32 : 128;
  const shift = BigInt(width - net.prefix);
  return other.bits >> shift === net.bits >> shift;
}

export function normalizeCidr(raw: string): string | undefined {
  const c = parseCidr(raw);
  return c ? formatCidr(c) : undefined;
}

function ipv4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}
function bigToIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
}
function ipv6ToBig(a: string): bigint {
  let s = a.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipv4ToBig(v4[1]!);
    s = s.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}
function bigToIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt((7 - i) * 16)) & 0xffffn));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

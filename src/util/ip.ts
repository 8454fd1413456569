// IP addresses and CIDR ranges: strict parsing, containment, and the categories of addresses a
// sandbox must not reach. One module for the linter, the compiler and the gateway, so the three
// agree about what a range covers. ipaddr.js does the parsing and matching; this file adds the
// strictness (ipaddr.js also accepts `127.1`, `0x7f.0.0.1`, `0177.0.0.1` and zone ids, which
// resolvers read differently), the category table and the IPv4 embedded in IPv6 addresses.
// Pure: no I/O, and nothing is computed at module load (the tables are built on first use).
import ipaddr from 'ipaddr.js';

export type Ip = ipaddr.IPv4 | ipaddr.IPv6;
export type Family = 4 | 6;

/** A range; `ip` is the network address (host bits cleared). */
export interface Cidr {
  readonly ip: Ip;
  readonly prefix: number;
}

export const familyOf = (ip: Ip): Family => (ip.kind() === 'ipv4' ? 4 : 6);
const width = (f: Family) => (f === 4 ? 32 : 128);

/** A literal address in its canonical spelling only: dotted-quad decimal IPv4, or IPv6 without a zone id. */
export function parseIp(s: string): Ip | undefined {
  if (DOTTED_QUAD.test(s)) {
    // The regex leaves only the range check: cheaper than ipaddr.js's five-format parse, on the
    // gateway's per-connection path.
    const octets = s.split('.').map(Number);
    return octets.every((o) => o <= 255) ? new ipaddr.IPv4(octets) : undefined;
  }
  if (!s.includes(':') || s.includes('%')) return undefined;
  // A dotted tail becomes two hex groups here: ipaddr.js reads `::a.b.c.d` (IPv4-compatible) as
  // `::ffff:a.b.c.d` (mapped), and accepts non-decimal IPv4 there.
  const at = s.lastIndexOf(':') + 1;
  const tail = s.slice(at);
  let text = s;
  if (tail.includes('.')) {
    const v4 = DOTTED_QUAD.test(tail) ? attempt(() => ipaddr.IPv4.parse(tail)) : undefined;
    if (!v4) return undefined;
    const [a, b, c, d] = v4.octets as [number, number, number, number];
    text = `${s.slice(0, at)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  return attempt(() => ipaddr.IPv6.parse(text));
}

/** Decimal octets without leading zeros (`01` is octal to inet_aton). */
const DOTTED_QUAD = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined; // ipaddr.js throws on what it cannot parse
  }
}

/** `addr/prefix` or a bare address (a /32 or /128). Host bits are cleared; see `hasHostBits`. */
export function parseCidr(s: string): Cidr | undefined {
  const parts = s.split('/');
  if (parts.length > 2) return undefined;
  const ip = parseIp(parts[0]!);
  if (!ip) return undefined;
  const max = width(familyOf(ip));
  if (parts.length === 1) return { ip, prefix: max };
  if (!/^\d{1,3}$/.test(parts[1]!)) return undefined;
  const prefix = Number(parts[1]);
  return prefix <= max ? { ip: mask(ip, prefix), prefix } : undefined;
}

/** True when `s` names an address inside its range rather than the range's network address. */
export function hasHostBits(s: string): boolean {
  const c = parseCidr(s);
  const ip = parseIp(s.split('/')[0]!);
  return c !== undefined && ip !== undefined && !sameIp(c.ip, ip);
}

export function formatCidr(c: Cidr): string {
  return `${c.ip.kind() === 'ipv4' ? c.ip.toString() : (c.ip as ipaddr.IPv6).toRFC5952String()}/${c.prefix}`;
}

/** The canonical spelling (network address, RFC 5952 IPv6), or undefined when not a CIDR. */
export function normalizeCidr(s: string): string | undefined {
  const c = parseCidr(s);
  return c ? formatCidr(c) : undefined;
}

export function sameIp(a: Ip, b: Ip): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

export function cidrHas(c: Cidr, ip: Ip): boolean {
  return c.ip.kind() === ip.kind() && (ip as ipaddr.IPv4).match(c.ip as ipaddr.IPv4, c.prefix);
}

/** `inner` lies entirely within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrHas(outer, inner.ip);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

function mask(ip: Ip, prefix: number): Ip {
  const bytes = ip.toByteArray().map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  return ipaddr.fromByteArray(bytes);
}

// ── Categories ──────────────────────────────────────────────────────────────────────────────────

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

/**
 * One row of the table. `category: null` marks a block the registry calls globally reachable (or
 * one we deliberately leave open, said next to it); for embedding blocks the IPv4 inside decides.
 */
export interface SpecialRange {
  readonly cidr: string;
  readonly name: string;
  readonly ref: string;
  readonly category: IpCategory | null;
}

/*
 * Sources, transcribed row by row (the RFC column is the registry's):
 * - "IANA IPv4 Special-Purpose Address Registry",
 *   https://www.iana.org/assignments/iana-ipv4-special-registry/ (RFC 6890 and its updates, up to
 *   RFC 8880, 2020-08: 192.0.0.170-171),
 * - "IANA IPv6 Special-Purpose Address Registry",
 *   https://www.iana.org/assignments/iana-ipv6-special-registry/ (up to RFC 9637, 2024-08: 3fff::/20,
 *   and RFC 9602, 2024-10: 5f00::/16),
 * - blocks outside those two from the "IANA IPv4 Address Space Registry" (224/4 multicast) and the
 *   "IANA IPv6 Address Space Registry" (ff00::/8, fec0::/10, and everything outside 2000::/3, which
 *   is not global unicast),
 * - cloud metadata endpoints, which no registry lists, from the providers' documentation.
 * A row with "Globally Reachable: False" gets a category; the most specific row wins.
 */
const V4: readonly SpecialRange[] = [
  { cidr: '0.0.0.0/8', name: '"this network"', ref: 'RFC 791', category: 'unspecified' },
  { cidr: '10.0.0.0/8', name: 'private-use', ref: 'RFC 1918', category: 'private' },
  { cidr: '100.64.0.0/10', name: 'shared address space (CGNAT)', ref: 'RFC 6598', category: 'cgnat' },
  { cidr: '127.0.0.0/8', name: 'loopback', ref: 'RFC 1122', category: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'link-local', ref: 'RFC 3927', category: 'link_local' },
  { cidr: '172.16.0.0/12', name: 'private-use', ref: 'RFC 1918', category: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments', ref: 'RFC 6890', category: 'reserved' },
  { cidr: '192.0.0.0/29', name: 'IPv4 service continuity prefix', ref: 'RFC 7335', category: 'reserved' },
  { cidr: '192.0.0.8/32', name: 'IPv4 dummy address', ref: 'RFC 7600', category: 'reserved' },
  { cidr: '192.0.0.9/32', name: 'Port Control Protocol anycast', ref: 'RFC 7723', category: null },
  { cidr: '192.0.0.10/32', name: 'TURN anycast', ref: 'RFC 8155', category: null },
  { cidr: '192.0.0.170/32', name: 'NAT64/DNS64 discovery', ref: 'RFC 8880', category: 'reserved' },
  { cidr: '192.0.0.171/32', name: 'NAT64/DNS64 discovery', ref: 'RFC 8880', category: 'reserved' },
  // Documentation ranges are not blocked: they name nothing internal, and lab networks route
  // real services through them.
  { cidr: '192.0.2.0/24', name: 'documentation (TEST-NET-1)', ref: 'RFC 5737', category: null },
  { cidr: '192.31.196.0/24', name: 'AS112-v4', ref: 'RFC 7535', category: null },
  { cidr: '192.52.193.0/24', name: 'AMT', ref: 'RFC 7450', category: null },
  { cidr: '192.88.99.0/24', name: 'deprecated 6to4 relay anycast', ref: 'RFC 7526', category: 'reserved' },
  { cidr: '192.168.0.0/16', name: 'private-use', ref: 'RFC 1918', category: 'private' },
  { cidr: '192.175.48.0/24', name: 'direct delegation AS112 service', ref: 'RFC 7534', category: null },
  { cidr: '198.18.0.0/15', name: 'benchmarking', ref: 'RFC 2544', category: 'reserved' },
  { cidr: '198.51.100.0/24', name: 'documentation (TEST-NET-2)', ref: 'RFC 5737', category: null },
  { cidr: '203.0.113.0/24', name: 'documentation (TEST-NET-3)', ref: 'RFC 5737', category: null },
  { cidr: '224.0.0.0/4', name: 'multicast', ref: 'RFC 5771', category: 'multicast' },
  { cidr: '240.0.0.0/4', name: 'reserved', ref: 'RFC 1112', category: 'reserved' },
  { cidr: '255.255.255.255/32', name: 'limited broadcast', ref: 'RFC 8190', category: 'broadcast' },
  // Metadata services (instance credentials live there).
  { cidr: '169.254.169.254/32', name: 'cloud metadata service (AWS, GCP, Azure, OCI, ...)', ref: 'providers', category: 'metadata' },
  { cidr: '169.254.170.2/32', name: 'AWS ECS task metadata', ref: 'AWS', category: 'metadata' },
  { cidr: '100.100.100.200/32', name: 'Alibaba Cloud metadata service', ref: 'Alibaba Cloud', category: 'metadata' },
  { cidr: '168.63.129.16/32', name: 'Azure WireServer', ref: 'Microsoft Azure', category: 'metadata' },
  { cidr: '192.0.0.192/32', name: 'Oracle Cloud metadata service', ref: 'Oracle Cloud', category: 'metadata' },
];

const V6: readonly SpecialRange[] = [
  { cidr: '::/0', name: 'outside global unicast (2000::/3)', ref: 'IPv6 Address Space', category: 'reserved' },
  { cidr: '2000::/3', name: 'global unicast', ref: 'RFC 4291', category: null },
  { cidr: '::/128', name: 'unspecified', ref: 'RFC 4291', category: 'unspecified' },
  { cidr: '::1/128', name: 'loopback', ref: 'RFC 4291', category: 'loopback' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped', ref: 'RFC 4291', category: null },
  { cidr: '::/96', name: 'IPv4-compatible (deprecated)', ref: 'RFC 4291', category: null },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated', ref: 'RFC 6145', category: null },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 translation (NAT64 well-known prefix)', ref: 'RFC 6052', category: null },
  { cidr: '64:ff9b:1::/48', name: 'IPv4-IPv6 translation (local-use NAT64)', ref: 'RFC 8215', category: null },
  { cidr: '100::/64', name: 'discard-only', ref: 'RFC 6666', category: 'reserved' },
  { cidr: '2001::/23', name: 'IETF protocol assignments', ref: 'RFC 2928', category: 'reserved' },
  { cidr: '2001::/32', name: 'Teredo', ref: 'RFC 4380', category: null },
  { cidr: '2001:1::1/128', name: 'Port Control Protocol anycast', ref: 'RFC 7723', category: null },
  { cidr: '2001:1::2/128', name: 'TURN anycast', ref: 'RFC 8155', category: null },
  { cidr: '2001:1::3/128', name: 'DNS-SD SRP anycast', ref: 'RFC 9665', category: null },
  { cidr: '2001:2::/48', name: 'benchmarking', ref: 'RFC 5180', category: 'reserved' },
  { cidr: '2001:3::/32', name: 'AMT', ref: 'RFC 7450', category: null },
  { cidr: '2001:4:112::/48', name: 'AS112-v6', ref: 'RFC 7535', category: null },
  { cidr: '2001:10::/28', name: 'deprecated ORCHID', ref: 'RFC 4843', category: 'reserved' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2', ref: 'RFC 7343', category: 'reserved' },
  { cidr: '2001:30::/28', name: 'drone remote ID entity tags', ref: 'RFC 9374', category: 'reserved' },
  { cidr: '2001:db8::/32', name: 'documentation', ref: 'RFC 3849', category: null },
  { cidr: '2002::/16', name: '6to4', ref: 'RFC 3056', category: null },
  { cidr: '2620:4f:8000::/48', name: 'direct delegation AS112 service', ref: 'RFC 7534', category: null },
  { cidr: '3fff::/20', name: 'documentation', ref: 'RFC 9637', category: null },
  { cidr: '5f00::/16', name: 'segment routing (SRv6) SIDs', ref: 'RFC 9602', category: 'reserved' },
  { cidr: 'fc00::/7', name: 'unique local (ULA)', ref: 'RFC 4193', category: 'unique_local' },
  { cidr: 'fe80::/10', name: 'link-local', ref: 'RFC 4291', category: 'link_local' },
  { cidr: 'fec0::/10', name: 'site-local (deprecated)', ref: 'RFC 3879', category: 'private' },
  { cidr: 'ff00::/8', name: 'multicast', ref: 'RFC 4291', category: 'multicast' },
  { cidr: 'fd00:ec2::254/128', name: 'AWS metadata service (IPv6)', ref: 'AWS', category: 'metadata' },
];

export interface ParsedRange extends SpecialRange {
  readonly range: Cidr;
  /** The network address's bytes, for the per-connection lookup in `rangeOf`. */
  readonly bytes: readonly number[];
}

let tables: { 4: ParsedRange[]; 6: ParsedRange[] } | undefined;

/** The table for one family, most specific first. */
export function specialRanges(f: Family): readonly ParsedRange[] {
  tables ??= {
    4: parseTable(V4),
    6: parseTable(V6),
  };
  return tables[f];
}

function parseTable(rows: readonly SpecialRange[]): ParsedRange[] {
  return rows
    .map((r) => {
      const range = parseCidr(r.cidr)!;
      return { ...r, range, bytes: range.ip.toByteArray() };
    })
    .sort((a, b) => b.range.prefix - a.range.prefix);
}

/** The most specific table row holding the address (IPv6 always has one: ::/0). */
export function rangeOf(ip: Ip): ParsedRange | undefined {
  const bytes = ip.toByteArray();
  return specialRanges(familyOf(ip)).find((r) => samePrefix(r.bytes, bytes, r.range.prefix));
}

/** Byte-wise prefix comparison: what ipaddr.js's match() does, without re-deriving parts per row. */
function samePrefix(net: readonly number[], bytes: readonly number[], prefix: number): boolean {
  let i = 0;
  for (; prefix >= 8; prefix -= 8, i++) if (net[i] !== bytes[i]) return false;
  return prefix === 0 || ((net[i]! ^ bytes[i]!) & (0xff << (8 - prefix)) & 0xff) === 0;
}

// ── IPv4 embedded in IPv6 ───────────────────────────────────────────────────────────────────────

/**
 * Where an IPv6 block carries an IPv4 address that traffic to it ends up at: `bits` lists the
 * [offset, length] runs (in bits from the start) that hold the 32 IPv4 bits in order; Teredo
 * stores its client address inverted. `guessed`: one of several layouts the address may use, so a
 * reading in 0.0.0.0/8 is the zero padding of another layout (a NAT64 never translates to it).
 */
export interface Embedding {
  readonly cidr: string;
  readonly name: string;
  readonly bits: readonly (readonly [number, number])[];
  readonly inverted?: boolean;
  readonly guessed?: boolean;
}

const EMBEDDINGS: readonly Embedding[] = [
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped', bits: [[96, 32]] },
  { cidr: '::/96', name: 'IPv4-compatible', bits: [[96, 32]] },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated', bits: [[96, 32]] },
  { cidr: '64:ff9b::/96', name: 'NAT64', bits: [[96, 32]] },
  // Local-use NAT64 (RFC 8215) may be run with any RFC 6052 prefix length from /48 to /96, and the
  // address does not say which: every layout is checked (RFC 6052 section 2.2, bits 64-71 skipped).
  {
    cidr: '64:ff9b:1::/48',
    name: 'local-use NAT64 /48',
    bits: [
      [48, 16],
      [72, 16],
    ],
    guessed: true,
  },
  {
    cidr: '64:ff9b:1::/48',
    name: 'local-use NAT64 /56',
    bits: [
      [56, 8],
      [72, 24],
    ],
    guessed: true,
  },
  { cidr: '64:ff9b:1::/48', name: 'local-use NAT64 /64', bits: [[72, 32]], guessed: true },
  { cidr: '64:ff9b:1::/48', name: 'local-use NAT64 /96', bits: [[96, 32]], guessed: true },
  { cidr: '2002::/16', name: '6to4', bits: [[16, 32]] },
  { cidr: '2001::/32', name: 'Teredo server', bits: [[32, 32]] },
  { cidr: '2001::/32', name: 'Teredo client', bits: [[96, 32]], inverted: true },
];

let embeddings: (Embedding & { range: Cidr })[] | undefined;
function embeddingTable(): (Embedding & { range: Cidr })[] {
  return (embeddings ??= EMBEDDINGS.map((e) => ({ ...e, range: parseCidr(e.cidr)! })));
}

function readBits(bytes: readonly number[], runs: Embedding['bits']): number[] {
  const out = [0, 0, 0, 0];
  let k = 0;
  for (const [at, len] of runs) {
    for (let i = at; i < at + len; i++, k++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      out[k >> 3] = out[k >> 3]! | (bit << (7 - (k & 7)));
    }
  }
  return out;
}

const v4From = (bytes: number[], inverted: boolean | undefined) => new ipaddr.IPv4(inverted ? bytes.map((b) => ~b & 0xff) : bytes);

/**
 * The IPv4 addresses traffic to this IPv6 address may reach (mapped, compatible, translated,
 * NAT64, local-use NAT64, 6to4, both Teredo addresses). `::` and `::1` carry none.
 */
export function embeddedIpv4(ip: Ip): { via: string; ip: ipaddr.IPv4 }[] {
  if (ip.kind() !== 'ipv6') return [];
  const out: { via: string; ip: ipaddr.IPv4 }[] = [];
  let bytes: number[] | undefined;
  for (const e of embeddingTable()) {
    if (!cidrHas(e.range, ip)) continue;
    bytes ??= ip.toByteArray();
    if (bytes.every((b, i) => (i === 15 ? b <= 1 : b === 0))) return []; // :: and ::1
    const v4 = v4From(readBits(bytes, e.bits), e.inverted);
    if (!(e.guessed && v4.octets[0] === 0)) out.push({ via: e.name, ip: v4 });
  }
  return out;
}

/**
 * The IPv4 ranges an IPv6 range reaches through the embeddings it overlaps. A range shorter than
 * the embedding prefix reaches all of IPv4; otherwise the prefix bits that fall on IPv4 bits fix
 * an IPv4 prefix (the runs are in order, so a CIDR maps to a CIDR).
 */
export function embeddedRanges(c: Cidr): { via: string; range: Cidr }[] {
  if (c.ip.kind() !== 'ipv6') return [];
  const out: { via: string; range: Cidr }[] = [];
  for (const e of embeddingTable()) {
    if (!cidrsOverlap(e.range, c)) continue;
    if (c.prefix < e.range.prefix) {
      out.push({ via: e.name, range: { ip: new ipaddr.IPv4([0, 0, 0, 0]), prefix: 0 } });
      continue;
    }
    const fixed = e.bits.reduce((n, [at, len]) => n + Math.max(0, Math.min(len, c.prefix - at)), 0);
    const ip = v4From(readBits(c.ip.toByteArray(), e.bits), e.inverted);
    out.push({ via: e.name, range: { ip: mask(ip, fixed), prefix: fixed } });
  }
  return out;
}

// ── Classification ──────────────────────────────────────────────────────────────────────────────

/** One way of reading an address: itself, or an IPv4 address embedded in it. */
export interface IpView {
  readonly ip: Ip;
  readonly via?: string;
  readonly category: IpCategory | undefined;
}

/** The address and every IPv4 address embedded in it, each with its category. */
export function ipViews(ip: Ip): IpView[] {
  return [
    { ip, category: rangeOf(ip)?.category ?? undefined },
    ...embeddedIpv4(ip).map((e) => ({ ip: e.ip, via: e.via, category: rangeOf(e.ip)?.category ?? undefined })),
  ];
}

/**
 * The category that blocks an address by default, or undefined for an ordinary public address. A
 * never-allowed category in any view wins over the others.
 */
export function classifyIp(ip: Ip): IpCategory | undefined {
  const cats = ipViews(ip)
    .map((v) => v.category)
    .filter((c): c is IpCategory => c !== undefined);
  return cats.find((c) => NEVER_ALLOWED.has(c)) ?? cats[0];
}

/**
 * A range covers an address when it contains it, or, for an IPv6 range over an embedding block
 * (`::ffff:10.0.0.0/104`, `64:ff9b::a00:0/104`), when the IPv4 range it stands for contains it:
 * one address space, two spellings.
 */
export function rangeCovers(c: Cidr, ip: Ip): boolean {
  if (cidrHas(c, ip)) return true;
  return ip.kind() === 'ipv4' && c.ip.kind() === 'ipv6' && embeddedRanges(c).some((r) => cidrHas(r.range, ip));
}

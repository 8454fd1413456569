// allowed_ips: internal ranges an allowed host may resolve to. The ranges and their categories are
// the gateway's own (src/util/ip.ts), so the linter refuses exactly what the gateway never opens
// and warns about what allowed_ips really does open there.
import {
  cidrContains,
  cidrsOverlap,
  embeddedRanges,
  formatCidr,
  hasHostBits,
  NEVER_ALLOWED,
  parseCidr,
  specialRanges,
  type Cidr,
  type ParsedRange,
} from '../../util/ip.js';
import { quote, stringItems, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

/** A range the entry reaches: itself, or the IPv4 range behind an embedding block it overlaps. */
interface Reach {
  range: Cidr;
  via?: string;
}

const describe = (r: ParsedRange, reach: Reach) =>
  `${r.cidr} (${r.name}${reach.via ? `, through ${reach.via} ${formatCidr(reach.range)}` : ''})`;

export function lintAllowedIps(r: Reporter, base: Path, list: unknown): void {
  for (const [i, raw] of stringItems(list)) {
    const at = [...base, 'network', 'allowed_ips', i];
    const c = parseCidr(raw);
    if (!c) {
      r.report('allowed-ips-invalid', at, `${quote(raw)} is not a CIDR`, 'write an address range such as 10.20.0.0/16 or fd12:3456::/48');
      continue;
    }
    const v4 = c.ip.kind() === 'ipv4';
    if (hasHostBits(raw)) {
      r.report(
        'allowed-ips-invalid',
        at,
        `${quote(raw)} has host bits set beyond the /${c.prefix} prefix, so the intended range is ambiguous`,
        `write the network address (e.g. ${v4 ? '10.20.0.0/16' : 'fd12:3456::/48'}) or a /${v4 ? 32 : 128} for one address`,
      );
      continue;
    }
    const reaches: Reach[] = [{ range: c }, ...embeddedRanges(c)];
    const forbidden: string[] = [];
    const internal: string[] = [];
    const metadataInside: string[] = [];
    for (const reach of reaches) {
      const table = specialRanges(reach.range.ip.kind() === 'ipv4' ? 4 : 6);
      // The most specific row holding the whole range decides for it; rows inside the range count too.
      const home = table.find((s) => cidrContains(s.range, reach.range));
      for (const s of table) {
        if (!s.category || !cidrsOverlap(s.range, reach.range)) continue;
        if (s.range.prefix < reach.range.prefix && s !== home) continue;
        // A metadata address inside a legitimate range (Alibaba's sits in CGNAT, which e.g.
        // Tailscale uses) is refused when targeted and only mentioned when a larger range holds it.
        if (s.category === 'metadata' && !cidrContains(s.range, reach.range)) metadataInside.push(`; it contains ${describe(s, reach)}`);
        else if (NEVER_ALLOWED.has(s.category)) forbidden.push(describe(s, reach));
        else internal.push(describe(s, reach));
      }
    }
    if (forbidden.length > 0) {
      r.report(
        'allowed-ips-forbidden',
        at,
        `${quote(raw)} covers ${unique(forbidden).join(', ')}, which the gateway never lets a sandbox reach`,
        'allow only the internal range the service really uses',
      );
    } else if (internal.length > 0) {
      r.report(
        'allowed-ips-private',
        at,
        `${quote(raw)} lets allowed hosts resolve to the internal range ${unique(internal).join(', ')}${unique(metadataInside).join('')}`,
        'keep it as narrow as the service needs (ideally one /32 or /128); suppress with lint.suppress: [allowed-ips-private]',
      );
    }
  }
}

const unique = (xs: string[]) => [...new Set(xs)];

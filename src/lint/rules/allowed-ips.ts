// allowed_ips: internal ranges an allowed host may resolve to. Never loopback, link-local,
// unspecified or metadata addresses; private ranges are allowed but worth a second look.
import { cidrContains, parseCidr, type Cidr } from '../../util/cidr.js';
import { quote, stringItems, type Reporter } from '../report.js';

type Path = readonly (string | number)[];
interface Range {
  cidr: Cidr;
  text: string;
  what: string;
}

const ranges = (list: [string, string][]): Range[] => list.map(([text, what]) => ({ cidr: parseCidr(text)!, text, what }));

/** An entry inside or containing one of these is refused. */
const FORBIDDEN = ranges([
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (includes the cloud metadata service 169.254.169.254)'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['::ffff:0.0.0.0/104', 'IPv4-mapped unspecified'],
  ['::ffff:127.0.0.0/104', 'IPv4-mapped loopback'],
  ['::ffff:169.254.0.0/112', 'IPv4-mapped link-local'],
]);

/**
 * Metadata services that live inside otherwise legitimate ranges (Alibaba Cloud's sits in CGNAT,
 * which e.g. Tailscale uses): refused when targeted, only mentioned when a larger range contains them.
 */
const METADATA = ranges([
  ['100.100.100.200/32', 'the Alibaba Cloud metadata service'],
  ['fd00:ec2::254/128', 'the AWS metadata service (IPv6)'],
]);

const PRIVATE = ranges([
  ['10.0.0.0/8', 'RFC 1918'],
  ['172.16.0.0/12', 'RFC 1918'],
  ['192.168.0.0/16', 'RFC 1918'],
  ['100.64.0.0/10', 'CGNAT (RFC 6598)'],
  ['fc00::/7', 'IPv6 unique local (ULA)'],
]);

const overlaps = (a: Cidr, b: Cidr): boolean => cidrContains(a, b) || cidrContains(b, a);

export function lintAllowedIps(r: Reporter, base: Path, list: unknown): void {
  for (const [i, raw] of stringItems(list)) {
    const at = [...base, 'network', 'allowed_ips', i];
    const c = parseCidr(raw);
    if (!c || raw !== raw.trim()) {
      r.report('allowed-ips-invalid', at, `${quote(raw)} is not a CIDR`, 'write an address range such as 10.20.0.0/16 or fd12:3456::/48');
      continue;
    }
    const address = raw.split('/')[0]!;
    const full = parseCidr(address)!;
    if (full.bits !== c.bits) {
      r.report(
        'allowed-ips-invalid',
        at,
        `${quote(raw)} has host bits set beyond the /${c.prefix} prefix, so the intended range is ambiguous`,
        `write the network address (e.g. ${c.family === 4 ? '10.20.0.0/16' : 'fd12:3456::/48'}) or a /${c.family === 4 ? 32 : 128} for one address`,
      );
      continue;
    }
    const forbidden = FORBIDDEN.filter((f) => overlaps(c, f.cidr)).concat(METADATA.filter((m) => cidrContains(m.cidr, c)));
    if (forbidden.length > 0) {
      const list = forbidden.map((f) => `${f.text} (${f.what})`).join(', ');
      r.report(
        'allowed-ips-forbidden',
        at,
        `${quote(raw)} covers ${list}, which the gateway never lets a sandbox reach`,
        'allow only the internal range the service really uses',
      );
      continue;
    }
    const priv = PRIVATE.filter((p) => overlaps(c, p.cidr));
    if (priv.length > 0) {
      const meta = METADATA.filter((m) => cidrContains(c, m.cidr))
        .map((m) => `; it contains ${m.text}, ${m.what}`)
        .join('');
      r.report(
        'allowed-ips-private',
        at,
        `${quote(raw)} lets allowed hosts resolve to the private range ${priv.map((p) => `${p.text} (${p.what})`).join(', ')}${meta}`,
        'keep it as narrow as the service needs (ideally one /32 or /128); suppress with lint.suppress: [allowed-ips-private]',
      );
    }
  }
}

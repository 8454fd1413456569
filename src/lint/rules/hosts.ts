// Classifies an egress host as written: a usable DNS name or wildcard, or which rule it breaks.
import { domainToASCII } from 'node:url';
import { normalizeHost } from '../../compiler/hosts.js';
import { parseIp } from '../../util/ip.js';
import type { RuleId } from '../catalog.js';

/**
 * Public suffixes under which anyone can register a name, so `*.<suffix>` allows unrelated
 * parties. Single-label suffixes (`*.com`) are always refused; this is the short list of common
 * two-label ones. Deliberately not the full Public Suffix List: that is ~10k entries, changes
 * monthly, and its private section (e.g. github.io) would need a policy decision of its own.
 */
export const TWO_LABEL_PUBLIC_SUFFIXES: ReadonlySet<string> = new Set([
  'ac.uk',
  'co.uk',
  'gov.uk',
  'ltd.uk',
  'me.uk',
  'net.uk',
  'nhs.uk',
  'org.uk',
  'plc.uk',
  'sch.uk',
  'com.au',
  'edu.au',
  'gov.au',
  'id.au',
  'net.au',
  'org.au',
  'co.nz',
  'net.nz',
  'org.nz',
  'govt.nz',
  'ac.jp',
  'co.jp',
  'go.jp',
  'ne.jp',
  'or.jp',
  'co.kr',
  'or.kr',
  'co.in',
  'net.in',
  'org.in',
  'co.za',
  'org.za',
  'co.il',
  'co.id',
  'co.th',
  'co.ke',
  'com.ar',
  'com.br',
  'net.br',
  'org.br',
  'com.cn',
  'net.cn',
  'org.cn',
  'gov.cn',
  'com.eg',
  'com.hk',
  'com.mx',
  'com.my',
  'com.ng',
  'com.ph',
  'com.pl',
  'com.sa',
  'com.sg',
  'com.tr',
  'com.tw',
  'com.ua',
  'com.vn',
]);

export type HostVerdict = { ok: true; host: string; wildcard: boolean } | { ok: false; rule: RuleId; why: string; hint: string };

const fail = (rule: RuleId, why: string, hint: string): HostVerdict => ({ ok: false, rule, why, hint });
const IP_HINT = 'name the host; if it resolves to an internal address, also list that range in allowed_ips';

export function classifyHost(raw: string): HostVerdict {
  if (raw !== raw.trim() || raw === '') return fail('host-invalid', 'is empty or has surrounding spaces', 'write just the host name');
  if (raw.includes('://'))
    return fail('host-invalid', 'is a URL', 'write only the host name; the port goes in port and the scheme in protocol');
  if (raw.includes('/'))
    return fail('host-invalid', 'contains "/"', 'write only the host name; narrow URL paths with paths (plain http only)');
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // util/ip rather than node:net's isIP, whose IPv6 pattern alone costs lint ~10 ms to compile.
  if (parseIp(bare)) return fail('host-ip-literal', 'is an IP address', IP_HINT);
  if (raw.includes(':')) return fail('host-invalid', 'contains ":"', 'put the port in the port field');

  let name = raw;
  let wildcard = false;
  if (raw.includes('*')) {
    if (raw === '*' || raw === '*.') return fail('host-wildcard-too-broad', 'matches every host', 'list the hosts the agent needs');
    const labels = raw.split('.');
    if (labels[0] !== '*' || labels.slice(1).some((l) => l.includes('*'))) {
      return fail(
        'host-wildcard-position',
        'has a wildcard that is not the whole leftmost label',
        'write *.example.com (any subdomain) or the exact host',
      );
    }
    name = labels.slice(1).join('.');
    wildcard = true;
  }

  const plain = name.endsWith('.') ? name.slice(0, -1) : name;
  // WHATWG URL parsing (what agents' HTTP clients do) reads a name whose last label is numeric
  // or hex as an IPv4 address: 127.1, 0x7f.1 and 2130706433 all mean 127.0.0.1.
  const last = plain.split('.').pop() ?? '';
  if (/^(0x[0-9a-f]*|[0-9]+)$/i.test(last)) return fail('host-ip-literal', 'is an IP address (in a shorthand form)', IP_HINT);

  const why = invalidNameReason(plain);
  const norm = why === undefined ? normalizeHost(plain) : undefined;
  if (!norm)
    return fail(
      'host-invalid',
      why ?? 'is not a valid DNS name',
      'use letters, digits and hyphens in dot-separated labels, e.g. api.example.com',
    );

  if (wildcard && (!norm.host.includes('.') || TWO_LABEL_PUBLIC_SUFFIXES.has(norm.host))) {
    return fail(
      'host-wildcard-too-broad',
      `matches every name under the public suffix "${norm.host}"`,
      "name the organisation's domain, e.g. *.example.com",
    );
  }
  return { ok: true, host: norm.host, wildcard };
}

function invalidNameReason(name: string): string | undefined {
  if (name === '' || name.split('.').includes('')) return 'has an empty label';
  const ascii = domainToASCII(name);
  if (ascii === '') return 'is not a valid (internationalized) domain name';
  if (ascii.length > 253) return 'is longer than 253 characters';
  for (const label of ascii.toLowerCase().split('.')) {
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (!/^[a-z0-9_-]+$/.test(label)) return `has invalid characters in label "${label}"`;
    if (label.startsWith('-') || label.endsWith('-')) return `has a label that starts or ends with "-"`;
  }
  return undefined;
}

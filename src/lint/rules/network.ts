// Egress rules: hosts, ports, what the gateway can actually inspect, and overlap between endpoints.
import type { SandboxSpec } from '../../generated/config.js';
import { isObject, quote, str, stringItems, type Reporter } from '../report.js';
import { classifyHost } from './hosts.js';
import { lintAllowedIps } from './allowed-ips.js';

type Path = readonly (string | number)[];

/** An endpoint reduced to what decides which requests it allows. */
interface Match {
  at: Path;
  rule: number;
  index: number;
  host: string;
  wildcard: boolean;
  port: number;
  protocol: 'http' | 'https';
  /** null: any. */
  methods: ReadonlySet<string> | null;
  paths: ReadonlySet<string> | null;
}

export function lintNetwork(r: Reporter, base: Path, sb: SandboxSpec): void {
  const net = isObject(sb.network) ? sb.network : undefined;
  if (!net) return;
  const names = new Map<string, number>();
  const matches: Match[] = [];

  (Array.isArray(net.egress) ? net.egress : []).forEach((rule: unknown, ri) => {
    if (!isObject(rule)) return;
    const rpath = [...base, 'network', 'egress', ri];
    const name = str(rule.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        r.report(
          'egress-rule-duplicate-name',
          [...rpath, 'name'],
          `egress rule name ${quote(name)} is already used by rule ${first}`,
          'give every rule its own name: audit records and denials refer to rules by name',
        );
      } else names.set(name, ri);
    }
    if (rule.binaries !== undefined) {
      r.report(
        'egress-binaries',
        [...rpath, 'binaries'],
        'binaries is not enforced by this gateway version: the rule would apply to every program in the sandbox',
        'remove binaries; the rule then honestly applies to the whole sandbox',
        { key: true },
      );
    }
    (Array.isArray(rule.endpoints) ? rule.endpoints : []).forEach((ep: unknown, ei) => {
      if (!isObject(ep)) return;
      const m = lintEndpoint(r, [...rpath, 'endpoints', ei], ri, ei, ep);
      if (m) matches.push(m);
    });
  });

  reportOverlaps(r, matches);
  lintAllowedIps(r, base, net.allowed_ips);
}

function lintEndpoint(r: Reporter, at: Path, rule: number, index: number, ep: Record<string, unknown>): Match | undefined {
  let ok = true;
  const host = str(ep.host);
  let verdict: ReturnType<typeof classifyHost> | undefined;
  if (host !== undefined) {
    verdict = classifyHost(host);
    if (!verdict.ok) {
      r.report(verdict.rule, [...at, 'host'], `host ${quote(host)} ${verdict.why}`, verdict.hint);
      ok = false;
    }
  }
  const port = ep.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    r.report('port-range', [...at, 'port'], `port ${String(port)} is outside 1–65535`, 'use the TCP port the service listens on, e.g. 443');
    ok = false;
  }
  const explicit = ep.protocol === 'http' || ep.protocol === 'https' ? ep.protocol : undefined;
  const protocol = explicit ?? (port === 443 ? 'https' : 'http');
  if (protocol === 'https') {
    const because = explicit ? 'protocol is https' : 'port 443 defaults to protocol https';
    for (const field of ['methods', 'paths'] as const) {
      if (ep[field] === undefined) continue;
      r.report(
        'https-method-path-filter',
        [...at, field],
        `${field} cannot be enforced here: ${because}, and the gateway matches HTTPS only by host and port (TLS is not terminated, so it never sees the request)`,
        'drop methods/paths to allow the whole host and port, or use protocol: http for a plain-HTTP service',
        { key: true },
      );
    }
  }
  if (!ok || !verdict?.ok || typeof port !== 'number') return undefined;
  const set = (v: unknown): ReadonlySet<string> | null => (Array.isArray(v) ? new Set(stringItems(v).map(([, s]) => s)) : null);
  const paths = set(ep.paths);
  return {
    at,
    rule,
    index,
    host: verdict.host,
    wildcard: verdict.wildcard,
    port,
    protocol,
    methods: set(ep.methods),
    // `/**` matches every path: the same as no path filter.
    paths: paths?.has('/**') ? null : paths,
  };
}

function subset(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (b === null) return true;
  if (a === null) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Does `b` allow every request `a` allows? Path globs are compared literally (except `/**`). */
function covers(b: Match, a: Match): boolean {
  if (b.port !== a.port || b.protocol !== a.protocol) return false;
  const hostOk = b.wildcard ? a.host.endsWith('.' + b.host) || (a.wildcard && a.host === b.host) : !a.wildcard && a.host === b.host;
  return hostOk && subset(a.methods, b.methods) && subset(a.paths, b.paths);
}

const describe = (m: Match): string => `${m.wildcard ? '*.' : ''}${m.host}:${m.port}`;
const where = (m: Match): string => `egress[${m.rule}].endpoints[${m.index}]`;

function reportOverlaps(r: Reporter, ms: Match[]): void {
  ms.forEach((a, i) => {
    // A duplicate is reported once, on the later copy.
    const dup = ms.findIndex((b, j) => j < i && covers(b, a) && covers(a, b));
    if (dup >= 0) {
      r.report('endpoint-duplicate', a.at, `endpoint ${describe(a)} repeats ${where(ms[dup]!)}`, 'remove one of them');
      return;
    }
    const wider = ms.find((b, j) => j !== i && covers(b, a) && !covers(a, b));
    if (wider) {
      r.report(
        'endpoint-shadowed',
        a.at,
        `endpoint ${describe(a)} is already allowed by ${describe(wider)} at ${where(wider)}, so it has no effect`,
        'remove the narrower endpoint, or narrow the broader one',
      );
    }
  });
}

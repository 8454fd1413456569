// Rule matching, indexed by host so that its cost depends on the number of labels in the
// requested host, not on the number of rules: an exact-host map plus a walk over the host's
// suffixes in a wildcard map (`*.slack.com` is stored under `slack.com`).
import type { EgressPolicy } from './policy.js';

export type RequestKind = 'tunnel' | 'http';
export type DenyReason =
  | 'no_rule'
  | 'port_not_allowed'
  | 'protocol_mismatch'
  | 'method_not_allowed'
  | 'path_not_allowed'
  | 'ambiguous_path'
  | 'ip_literal'
  | 'ssrf_blocked'
  | 'approval_denied'
  | 'bad_request'
  | 'connection_limit'
  | 'sandbox_unknown'
  | 'policy_reload'
  | 'grant_expired';

export interface MatchQuery {
  host: string;
  port: number;
  kind: RequestKind;
  method?: string;
  path?: string;
}
/**
 * `inspect`: a CONNECT tunnel allowed by a `protocol: http` endpoint. HTTP clients (Node's env
 * proxy among them) tunnel plain http:// too; the gateway then parses the requests inside the
 * tunnel and checks each one's method and path like an absolute-form request.
 */
export type MatchResult = { allowed: true; rule: string; inspect?: boolean } | { allowed: false; reason: DenyReason; detail: string };

interface Entry {
  rule: string;
  port: number;
  protocol: 'https' | 'http';
  methods: Set<string> | null;
  paths: RegExp[] | null;
}

// How close a near-miss came: the most specific reason is reported to the agent.
const closeness: Record<string, number> = {
  no_rule: 0,
  port_not_allowed: 1,
  protocol_mismatch: 2,
  method_not_allowed: 3,
  path_not_allowed: 4,
};

export class PolicyIndex {
  private readonly exact = new Map<string, Entry[]>();
  private readonly wildcard = new Map<string, Entry[]>();

  constructor(policy: EgressPolicy) {
    for (const rule of policy.rules) {
      for (const e of rule.endpoints) {
        const map = e.wildcard ? this.wildcard : this.exact;
        const list = map.get(e.host) ?? [];
        list.push({
          rule: rule.name,
          port: e.port,
          protocol: e.protocol,
          methods: e.methods ? new Set(e.methods) : null,
          paths: e.paths ? e.paths.map(globToRegExp) : null,
        });
        map.set(e.host, list);
      }
    }
  }

  match(q: MatchQuery): MatchResult {
    let best: MatchResult = { allowed: false, reason: 'no_rule', detail: `no rule allows ${q.host}` };
    let inspected: MatchResult | undefined;
    const consider = (entries: Entry[] | undefined) => {
      if (!entries) return undefined;
      for (const e of entries) {
        const r = matchEntry(e, q);
        // An https endpoint for the same host and port allows the raw tunnel: prefer it.
        if (r.allowed && r.inspect) inspected ??= r;
        else if (r.allowed) return r;
        else if (closeness[r.reason]! > closeness[(best as { reason: string }).reason]!) best = r;
      }
      return undefined;
    };
    const hit = consider(this.exact.get(q.host));
    if (hit) return hit;
    // Wildcards: every proper suffix of the host (at least one label must stay in front).
    for (let i = q.host.indexOf('.'); i >= 0; i = q.host.indexOf('.', i + 1)) {
      const w = consider(this.wildcard.get(q.host.slice(i + 1)));
      if (w) return w;
    }
    return inspected ?? best;
  }
}

function matchEntry(e: Entry, q: MatchQuery): MatchResult {
  if (e.port !== q.port) return { allowed: false, reason: 'port_not_allowed', detail: `port ${q.port} is not allowed for ${q.host}` };
  if (q.kind === 'tunnel' && e.protocol === 'http') return { allowed: true, rule: e.rule, inspect: true };
  if (q.kind === 'http' && e.protocol !== 'http') {
    return {
      allowed: false,
      reason: 'protocol_mismatch',
      detail: `rule "${e.rule}" allows ${q.host}:${q.port} only as an https CONNECT tunnel`,
    };
  }
  if (q.kind === 'http') {
    if (e.methods && !e.methods.has(q.method ?? ''))
      return { allowed: false, reason: 'method_not_allowed', detail: `method ${q.method} is not allowed for ${q.host}:${q.port}` };
    if (e.paths && !e.paths.some((re) => re.test(q.path ?? '')))
      return { allowed: false, reason: 'path_not_allowed', detail: `path ${q.path} is not allowed for ${q.host}:${q.port}` };
  }
  return { allowed: true, rule: e.rule };
}

/** `*` within one segment, `**` across segments; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The path as the origin will interpret it, or undefined when it is ambiguous. A path that could
 * match a glob here and mean another path upstream is refused (fail closed):
 * - dot segments, also percent-encoded (`%2e`), with a segment parameter (`..;` is `..` to Tomcat
 *   and Spring) or in a compatibility form (fullwidth `．．`, which NFKC folds to `..`);
 * - encoded slashes and backslashes, raw backslashes, encoded control characters;
 * - escapes some servers decode twice or leniently: double encoding (`%252e`), IIS `%u002e`,
 *   overlong UTF-8 (`%c0%ae`) and any malformed escape or invalid UTF-8.
 */
export function matchablePath(rawTarget: string): string | undefined {
  const path = rawTarget.split(/[?#]/, 1)[0]!;
  if (!path.startsWith('/') || path.includes('\\')) return undefined;
  if (/%2f|%5c/i.test(path) || /%(?![0-9a-f]{2})/i.test(path)) return undefined;
  for (const raw of path.split('/')) {
    const seg = decodeSegment(raw);
    if (seg === undefined || /%[0-9a-f]{2}|%u[0-9a-f]{4}/i.test(seg) || /[\x00-\x1f\x7f]/.test(seg)) return undefined;
    const folded = seg.normalize('NFKC');
    if (/[/\\]/.test(folded)) return undefined;
    const name = folded.split(';', 1)[0]!;
    if (name === '.' || name === '..') return undefined;
  }
  return path;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decoding as an origin does it, refusing what is not valid UTF-8 (overlong forms included). */
function decodeSegment(seg: string): string | undefined {
  if (!seg.includes('%')) return seg;
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === '%') {
      bytes.push(parseInt(seg.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = seg.charCodeAt(i);
      if (code > 0x7f) return undefined; // raw non-ASCII never reaches here from llhttp
      bytes.push(code);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

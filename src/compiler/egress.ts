// egress.json: the gateway's rules for one sandbox, normalized and with presets expanded.
import type { Endpoint, NemoclawConfig } from '../generated/config.js';
import type { EgressArtifact, EgressEndpoint, EgressRuleArtifact, InferenceProviderRoute, InferenceRoute } from './artifacts.js';
import { classifyIp, normalizeCidr, parseIp, type IpCategory } from '../util/ip.js';
import { normalizeHost } from './hosts.js';
import { CompileError, type CompileFacts, type PresetSource } from './inputs.js';
import type { ResolvedSandbox } from './resolve.js';

export const NPM_REGISTRY_TEMPLATE = '{{npm_registry}}';

export function compileEgress(
  name: string,
  s: ResolvedSandbox,
  config: NemoclawConfig,
  presets: Record<string, PresetSource>,
  facts: CompileFacts,
): EgressArtifact {
  const rules: EgressRuleArtifact[] = [];
  for (const presetName of s.network.presets) {
    const preset = presets[presetName];
    if (!preset) throw new CompileError(name, `unknown preset "${presetName}"`);
    rules.push({
      name: `preset:${preset.name}`,
      source: `preset:${preset.name}@${preset.version}`,
      endpoints: normalizeEndpoints(
        name,
        preset.endpoints.map((e) => fillTemplate(name, e, facts)),
      ),
    });
  }
  for (const r of s.network.egress) {
    rules.push({ name: r.name, source: 'config', endpoints: normalizeEndpoints(name, r.endpoints) });
  }
  rules.sort((a, b) => cmp(a.name, b.name));

  const allowed = s.network.allowed_ips.map((c) => {
    const n = normalizeCidr(c);
    if (!n) throw new CompileError(name, `invalid CIDR "${c}" in allowed_ips`);
    return n;
  });

  return {
    format_version: 1,
    sandbox: name,
    default: 'deny',
    on_deny: s.network.on_deny,
    allowed_ips: [...new Set(allowed)].sort(),
    rules,
    ...(s.ports?.length ? { ports: publishedPorts(name, s) } : {}),
    inference: inferenceRoute(name, s, config),
  };
}

/** "ADDRESS:PORT" (IPv6 in brackets) → parts; the schema checked the shape, this checks the range. */
export function parseHostPort(text: string): { address: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  return m && port >= 1 && port <= 65535 ? { address: (m[1] ?? m[2])!, port } : null;
}

function publishedPorts(name: string, s: ResolvedSandbox): NonNullable<EgressArtifact['ports']> {
  const out = (s.ports ?? []).map((p) => {
    const h = parseHostPort(p.host);
    if (!h) throw new CompileError(name, `ports: "${p.host}" is not ADDRESS:PORT`);
    if (!s.network.listen.includes(p.sandbox)) throw new CompileError(name, `ports: sandbox port ${p.sandbox} is not in network.listen`);
    return { host_address: h.address, host_port: h.port, sandbox_port: p.sandbox };
  });
  return out.sort((a, b) => a.host_address.localeCompare(b.host_address) || a.host_port - b.host_port);
}

function inferenceRoute(name: string, s: ResolvedSandbox, config: NemoclawConfig): InferenceRoute | null {
  if (!s.inference) return null;
  const inf = s.inference;
  const defined = config.inference?.providers ?? {};
  const provider = (p: string, what: string): InferenceProviderRoute => {
    const d = defined[p];
    if (!d) throw new CompileError(name, `inference provider "${p}" (${what}) is not defined under inference.providers`);
    return {
      api: d.api,
      endpoint: d.endpoint,
      model: d.model,
      models: [...new Set(d.models ?? [])].sort(),
      credential: d.credential ?? null,
      ca_file: d.ca_file ?? null,
      local: d.local ?? isLocalEndpoint(d.endpoint),
    };
  };
  const providers: Record<string, InferenceProviderRoute> = {};
  providers[inf.provider] = provider(inf.provider, 'inference.provider');
  for (const p of inf.providers ?? []) providers[p] = provider(p, 'inference.providers');
  const aliases: InferenceRoute['aliases'] = {};
  for (const [asked, to] of Object.entries(inf.models ?? {})) {
    if (!providers[to.provider])
      throw new CompileError(name, `inference.models.${asked}: provider "${to.provider}" is not in inference.providers`);
    aliases[asked] = { provider: to.provider, model: to.model };
  }
  for (const p of inf.fallback ?? []) {
    if (!providers[p]) throw new CompileError(name, `inference.fallback: provider "${p}" is not in inference.providers`);
  }
  return {
    provider: inf.provider,
    providers: sortKeys(providers),
    aliases: sortKeys(aliases),
    fallback: [...(inf.fallback ?? [])],
    local_only: inf.local_only ?? false,
    // Only when on, so routes without capture compile to the same bytes (and digests) as before.
    ...(inf.capture === 'full' ? { capture: 'full' as const } : {}),
    limits: {
      requests_per_minute: inf.limits?.requests_per_minute ?? null,
      concurrent: inf.limits?.concurrent ?? null,
      tokens_per_day: inf.limits?.tokens_per_day ?? null,
    },
  };
}

/** localhost, or a loopback, private (RFC 1918, fc00::/7) or link-local address literal. */
export function isLocalEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const ip = parseIp(host);
  // This machine or a private network (the same table the SSRF guard uses): a local model server.
  return ip !== undefined && LOCAL_CATEGORIES.has(classifyIp(ip) ?? 'reserved');
}
const LOCAL_CATEGORIES: ReadonlySet<IpCategory> = new Set(['loopback', 'private', 'unique_local', 'link_local']);

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => cmp(a, b)));
}

function normalizeEndpoints(sandbox: string, endpoints: Endpoint[]): EgressEndpoint[] {
  const out = new Map<string, EgressEndpoint>();
  for (const e of endpoints) {
    const h = normalizeHost(e.host);
    if (!h) throw new CompileError(sandbox, `invalid host "${e.host}"`);
    if (!(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535)) throw new CompileError(sandbox, `invalid port ${e.port}`);
    const n: EgressEndpoint = {
      host: h.host,
      wildcard: h.wildcard,
      port: e.port,
      protocol: e.protocol ?? (e.port === 443 ? 'https' : 'http'),
      methods: e.methods?.length ? [...new Set(e.methods)].sort() : null, // the schema allows upper-case names only
      paths: e.paths?.length ? [...new Set(e.paths)].sort() : null,
    };
    out.set(JSON.stringify(n), n);
  }
  return [...out.values()].sort(
    (a, b) =>
      cmp(a.host, b.host) || a.port - b.port || Number(a.wildcard) - Number(b.wildcard) || cmp(JSON.stringify(a), JSON.stringify(b)),
  );
}

/** The npm preset's host and port come from the operator's npm registry (pinned in the lock). */
function fillTemplate(sandbox: string, e: Endpoint, facts: CompileFacts): Endpoint {
  if (e.host !== NPM_REGISTRY_TEMPLATE) return e;
  if (!facts.npm_registry)
    throw new CompileError(
      sandbox,
      'the npm preset needs the npm registry, and none is known (run compile --update-lock where npm is configured)',
    );
  const url = new URL(facts.npm_registry);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { ...e, host: url.hostname, port };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// egress.json: the gateway's rules for one sandbox, normalized and with presets expanded.
import type { Endpoint, NemoclawConfig } from '../generated/config.js';
import type { EgressArtifact, EgressEndpoint, EgressRuleArtifact, InferenceRoute } from './artifacts.js';
import { normalizeCidr } from '../util/ip.js';
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
    inference: inferenceRoute(name, s, config),
  };
}

function inferenceRoute(name: string, s: ResolvedSandbox, config: NemoclawConfig): InferenceRoute | null {
  if (!s.inference) return null;
  const p = config.inference?.providers?.[s.inference.provider];
  if (!p) throw new CompileError(name, `inference provider "${s.inference.provider}" is not defined under inference.providers`);
  return { provider: s.inference.provider, api: p.api, endpoint: p.endpoint, model: p.model, credential: p.credential ?? null };
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

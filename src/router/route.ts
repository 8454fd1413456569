// The routing decision, pure: which API shape a request path speaks, and which provider and real
// model (then which fallbacks) serve the model the agent asked for. The policy decides, never the
// agent: a name that is neither an alias nor a model of an allowed provider is refused.
import type { InferenceProviderRoute, InferenceRoute } from '../compiler/artifacts.js';

export type Api = 'openai' | 'anthropic';

export interface Endpoint {
  api: Api;
  /** The path the request was sent to, e.g. /v1/chat/completions. */
  path: string;
  /** Answered by the router itself from the policy (model lists). */
  local: boolean;
}

const OPENAI_PATHS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/embeddings']);
const ANTHROPIC_PATHS = new Set(['/v1/messages', '/v1/messages/count_tokens']);

/** The endpoint a request names, or undefined when the router does not serve it. */
export function endpointOf(method: string, path: string, anthropicHeaders: boolean): Endpoint | undefined {
  if (method === 'GET' && (path === '/v1/models' || path === '/v1/models/')) {
    return { api: anthropicHeaders ? 'anthropic' : 'openai', path: '/v1/models', local: true };
  }
  if (method !== 'POST') return undefined;
  if (OPENAI_PATHS.has(path)) return { api: 'openai', path, local: false };
  if (ANTHROPIC_PATHS.has(path)) return { api: 'anthropic', path, local: false };
  return undefined;
}

export interface Attempt {
  provider: string;
  model: string;
  p: InferenceProviderRoute;
}

export type Choice =
  | { ok: true; attempts: Attempt[]; skipped: string[] }
  | { ok: false; reason: 'model_not_allowed' | 'provider_not_local' | 'api_mismatch'; detail: string; allowed: string[] };

/** Every model name this sandbox may ask for through API shape `api`, sorted. */
export function allowedModels(route: InferenceRoute, api: Api): string[] {
  const names = new Set<string>();
  for (const [alias, t] of Object.entries(route.aliases)) if (route.providers[t.provider]?.api === api) names.add(alias);
  for (const p of Object.values(route.providers)) {
    if (p.api !== api) continue;
    names.add(p.model);
    for (const m of p.models) names.add(m);
  }
  return [...names].sort();
}

export function choose(route: InferenceRoute, api: Api, asked: string | undefined): Choice {
  const allowed = allowedModels(route, api);
  let first: { provider: string; model: string } | undefined;
  if (asked === undefined || asked === '') {
    first = { provider: route.provider, model: route.providers[route.provider]?.model ?? '' };
  } else if (Object.hasOwn(route.aliases, asked)) {
    first = route.aliases[asked];
  } else {
    // A real model name: the default provider first, then the others in name order.
    const order = [route.provider, ...Object.keys(route.providers).filter((n) => n !== route.provider)];
    const provider = order.find((n) => {
      const p = route.providers[n];
      return p !== undefined && p.api === api && (p.model === asked || p.models.includes(asked));
    });
    if (provider) first = { provider, model: asked };
  }
  const fp = first && route.providers[first.provider];
  if (!first || !fp) {
    return {
      ok: false,
      reason: 'model_not_allowed',
      detail: `model ${JSON.stringify(asked)} is not allowed for this sandbox`,
      allowed,
    };
  }
  if (fp.api !== api) {
    return {
      ok: false,
      reason: 'api_mismatch',
      detail: `model ${JSON.stringify(asked ?? first.model)} is served by ${first.provider}, which speaks the ${fp.api} API, not ${api}`,
      allowed,
    };
  }
  if (route.local_only && !fp.local) {
    return {
      ok: false,
      reason: 'provider_not_local',
      detail: `provider ${first.provider} is not local and this sandbox is local_only`,
      allowed: allowed.filter((m) => localModel(route, api, m)),
    };
  }
  const attempts: Attempt[] = [{ ...first, p: fp }];
  const skipped: string[] = [];
  for (const name of route.fallback) {
    const p = route.providers[name];
    if (!p || name === first.provider) continue;
    if (p.api !== api || (route.local_only && !p.local)) skipped.push(name);
    else attempts.push({ provider: name, model: p.model, p });
  }
  return { ok: true, attempts, skipped };
}

function localModel(route: InferenceRoute, api: Api, m: string): boolean {
  const c = choose({ ...route, local_only: false }, api, m);
  return c.ok && c.attempts[0]!.p.local;
}

/** A policy's inference section as the router will serve it; throws on anything it cannot. */
export function checkRoute(r: InferenceRoute): void {
  const v = r as unknown as Record<string, unknown>;
  if (typeof v.provider !== 'string') throw new Error('provider must be a string');
  if (!isObj(v.providers)) throw new Error('providers must be an object');
  for (const [name, p] of Object.entries(v.providers)) {
    if (!isObj(p)) throw new Error(`providers.${name} must be an object`);
    if (p.api !== 'openai' && p.api !== 'anthropic') throw new Error(`providers.${name}.api must be openai or anthropic`);
    let url: URL;
    try {
      url = new URL(String(p.endpoint));
    } catch {
      throw new Error(`providers.${name}.endpoint is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`providers.${name}.endpoint must be http(s)`);
    if (url.username || url.password) throw new Error(`providers.${name}.endpoint must not carry credentials`);
    if (typeof p.model !== 'string') throw new Error(`providers.${name}.model must be a string`);
    if (!Array.isArray(p.models) || !p.models.every((m) => typeof m === 'string'))
      throw new Error(`providers.${name}.models must be strings`);
    if (p.credential !== null && !(typeof p.credential === 'string' && /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/.test(p.credential)))
      throw new Error(`providers.${name}.credential must be null, env:NAME or file:/path`);
    if (p.ca_file !== null && !(typeof p.ca_file === 'string' && p.ca_file.startsWith('/')))
      throw new Error(`providers.${name}.ca_file must be null or an absolute path`);
    if (typeof p.local !== 'boolean') throw new Error(`providers.${name}.local must be a boolean`);
  }
  if (!Object.hasOwn(v.providers, v.provider)) throw new Error(`provider ${v.provider} is not in providers`);
  if (!isObj(v.aliases)) throw new Error('aliases must be an object');
  for (const [a, t] of Object.entries(v.aliases)) {
    if (!isObj(t) || typeof t.model !== 'string' || typeof t.provider !== 'string' || !Object.hasOwn(v.providers, t.provider))
      throw new Error(`aliases.${a} must name a provider in providers and a model`);
  }
  if (!Array.isArray(v.fallback) || !v.fallback.every((f) => typeof f === 'string' && Object.hasOwn(v.providers as object, f)))
    throw new Error('fallback must list providers in providers');
  if (typeof v.local_only !== 'boolean') throw new Error('local_only must be a boolean');
  if (!isObj(v.limits)) throw new Error('limits must be an object');
  for (const k of ['requests_per_minute', 'concurrent', 'tokens_per_day'] as const) {
    const x = v.limits[k];
    if (x !== null && !(Number.isInteger(x) && (x as number) > 0)) throw new Error(`limits.${k} must be null or a positive integer`);
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Inference providers and the sandboxes that select them.
import type { NemoclawConfig, SandboxSpec } from '../../generated/config.js';
import { parseSecretRef } from '../../compiler/secret-ref.js';
import { isLocalEndpoint } from '../../compiler/egress.js';
import { inferenceEnv } from '../../compiler/sandbox.js';
import { isObject, objectEntries, quote, str, type Reporter } from '../report.js';

const INFERENCE_ENV = Object.keys(inferenceEnv());

type Path = readonly (string | number)[];

export function lintSandboxInference(r: Reporter, base: Path, sb: SandboxSpec, config: NemoclawConfig): void {
  const provider = isObject(sb.inference) ? str(sb.inference.provider) : undefined;
  if (provider === undefined) return;
  const providers = isObject(config.inference) ? config.inference.providers : undefined;
  const names = objectEntries(providers)
    .map(([n]) => n)
    .sort();
  const inf = sb.inference!;
  const allowed = new Set([provider, ...(inf.providers ?? [])]);
  const defined = (name: string, at: Path) => {
    if (names.includes(name)) return true;
    r.report(
      'inference-provider-unknown',
      at,
      `inference provider ${quote(name)} is not defined under inference.providers (${names.length === 0 ? 'none are defined' : `defined: ${names.join(', ')}`})`,
      'define it under inference.providers, or name a defined one',
    );
    return false;
  };
  (inf.providers ?? []).forEach((p, i) => defined(p, [...base, 'inference', 'providers', i]));
  const mustBeAllowed = (name: string, at: Path, what: string) => {
    if (!defined(name, at) || allowed.has(name)) return;
    r.report(
      'inference-provider-not-allowed',
      at,
      `${what} names provider ${quote(name)}, which this sandbox may not use`,
      `add ${quote(name)} to inference.providers of this sandbox, or name one of: ${[...allowed].join(', ')}`,
    );
  };
  for (const [alias, t] of objectEntries(inf.models)) {
    if (isObject(t) && str(t.provider) !== undefined)
      mustBeAllowed(str(t.provider)!, [...base, 'inference', 'models', alias, 'provider'], `model alias ${quote(alias)}`);
  }
  (inf.fallback ?? []).forEach((p, i) => mustBeAllowed(p, [...base, 'inference', 'fallback', i], 'the fallback list'));
  if (inf.local_only === true) {
    const providers = (isObject(config.inference) ? config.inference.providers : undefined) ?? {};
    for (const name of [...allowed].sort()) {
      const p = providers[name];
      if (p && !(p.local ?? isLocalEndpoint(p.endpoint))) {
        r.report(
          'inference-not-local',
          [...base, 'inference', 'local_only'],
          `this sandbox is local_only but may use provider ${quote(name)} (${p.endpoint}), which is not local: the router refuses every call routed to it`,
          `remove ${quote(name)} from this sandbox's providers, or mark the provider local: true if it really runs on this host or network`,
        );
      }
    }
  }
  for (const name of INFERENCE_ENV) {
    if (sb.env && Object.hasOwn(sb.env, name)) {
      r.report(
        'env-reserved',
        [...base, 'env', name],
        `${name} is set by nemoclaw for a sandbox with inference (the router's address, or a placeholder key)`,
        'remove it: the agent reaches the router through the value nemoclaw sets, and never holds a provider key',
        { key: true },
      );
    }
  }
  if (!names.includes(provider)) {
    r.report(
      'inference-provider-unknown',
      [...base, 'inference', 'provider'],
      `inference provider ${quote(provider)} is not defined under inference.providers (${names.length === 0 ? 'none are defined' : `defined: ${names.join(', ')}`})`,
      'define it under inference.providers, or select a defined one',
    );
  }
}

export function lintProviders(r: Reporter, config: NemoclawConfig): void {
  const providers = isObject(config.inference) ? config.inference.providers : undefined;
  for (const [name, p] of objectEntries(providers)) {
    if (!isObject(p)) continue;
    const at = ['inference', 'providers', name];
    const endpoint = str(p.endpoint);
    if (endpoint !== undefined && !/^https:\/\//i.test(endpoint)) {
      r.report(
        'provider-endpoint-insecure',
        [...at, 'endpoint'],
        `provider ${quote(name)} is reached over plain http: the credential the router adds and every prompt travel unencrypted`,
        'use an https endpoint; for a model served on this host, suppress with lint.suppress: [provider-endpoint-insecure]',
      );
    }
    const credential = str(p.credential);
    if (credential === undefined) {
      r.report(
        'provider-credential-missing',
        at,
        `provider ${quote(name)} has no credential, so the router sends requests unauthenticated`,
        'add credential: env:NAME (or file:/absolute/path); for a provider that needs no key, suppress with lint.suppress: [provider-credential-missing]',
        { key: true },
      );
    } else if (!parseSecretRef(credential)) {
      // The value is never echoed: it may be the key itself.
      r.report(
        'credential-format',
        [...at, 'credential'],
        `the credential of provider ${quote(name)} is not a reference of the form env:NAME or file:/absolute/path`,
        "write env:NVIDIA_API_KEY (read from the router's environment) or file:/etc/nemoclaw/keys/nvidia (read from that file); never the key itself",
      );
    }
  }
}

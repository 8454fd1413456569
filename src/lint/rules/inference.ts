// Inference providers and the sandboxes that select them.
import type { NemoclawConfig, SandboxSpec } from '../../generated/config.js';
import { parseSecretRef } from '../../compiler/secret-ref.js';
import { isObject, objectEntries, quote, str, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

export function lintSandboxInference(r: Reporter, base: Path, sb: SandboxSpec, config: NemoclawConfig): void {
  const provider = isObject(sb.inference) ? str(sb.inference.provider) : undefined;
  if (provider === undefined) return;
  const providers = isObject(config.inference) ? config.inference.providers : undefined;
  const names = objectEntries(providers)
    .map(([n]) => n)
    .sort();
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

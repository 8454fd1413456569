// egress.json as the gateway receives it: bytes → validated policy + version. The gateway does not
// trust its input just because the compiler wrote it: a hand-edited or truncated file must be
// refused (fail closed) before it replaces a working policy.
import { createHash } from 'node:crypto';
import type { EgressArtifact, EgressEndpoint } from '../compiler/artifacts.js';
import { parseCidr, type Cidr } from '../util/ip.js';
import { UserError } from '../util/errors.js';

export type EgressPolicy = EgressArtifact;
export const MAX_POLICY_BYTES = 16 * 1024 * 1024;
const SANDBOX_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const HOST = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** A policy the gateway refuses; a UserError (exit 1) when it reaches the CLI. */
export class PolicyError extends UserError {
  override name = 'PolicyError';
}

export function policyVersion(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export interface LoadedPolicy {
  policy: EgressPolicy;
  version: string;
  allowedIps: Cidr[];
}

export function parsePolicy(bytes: Uint8Array): LoadedPolicy {
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError(`egress policy is ${bytes.length} bytes; limit ${MAX_POLICY_BYTES}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new PolicyError(`egress policy is not JSON: ${(e as Error).message}`);
  }
  const p = obj(v, '(policy)');
  if (p.format_version !== 1) throw new PolicyError('format_version must be 1');
  if (typeof p.sandbox !== 'string' || !SANDBOX_NAME.test(p.sandbox)) throw new PolicyError('sandbox must be a sandbox name');
  if (p.default !== 'deny') throw new PolicyError('default must be "deny"');
  if (p.on_deny !== 'deny' && p.on_deny !== 'ask') throw new PolicyError('on_deny must be "deny" or "ask"');
  const allowedIps = arr(p.allowed_ips, 'allowed_ips').map((c, i) => {
    const cidr = typeof c === 'string' ? parseCidr(c) : undefined;
    if (!cidr) throw new PolicyError(`allowed_ips[${i}] is not a CIDR`);
    return cidr;
  });
  arr(p.rules, 'rules').forEach((r, i) => {
    const rule = obj(r, `rules[${i}]`);
    if (typeof rule.name !== 'string' || rule.name === '') throw new PolicyError(`rules[${i}].name must be a string`);
    if (typeof rule.source !== 'string') throw new PolicyError(`rules[${i}].source must be a string`);
    arr(rule.endpoints, `rules[${i}].endpoints`).forEach((e, j) => checkEndpoint(e, `rules[${i}].endpoints[${j}]`));
  });
  if (p.inference !== null && (typeof p.inference !== 'object' || Array.isArray(p.inference)))
    throw new PolicyError('inference must be an object or null');
  return { policy: p as unknown as EgressPolicy, version: policyVersion(bytes), allowedIps };
}

function checkEndpoint(v: unknown, at: string): asserts v is EgressEndpoint {
  const e = obj(v, at);
  if (typeof e.host !== 'string' || !HOST.test(e.host))
    throw new PolicyError(`${at}.host must be a lower-case ASCII host name without trailing dot`);
  if (typeof e.wildcard !== 'boolean') throw new PolicyError(`${at}.wildcard must be a boolean`);
  if (!Number.isInteger(e.port) || (e.port as number) < 1 || (e.port as number) > 65535)
    throw new PolicyError(`${at}.port must be 1..65535`);
  if (e.protocol !== 'https' && e.protocol !== 'http') throw new PolicyError(`${at}.protocol must be https or http`);
  if (e.methods !== null && !(Array.isArray(e.methods) && e.methods.every((m) => METHODS.has(m as string))))
    throw new PolicyError(`${at}.methods must be null or HTTP methods`);
  if (e.paths !== null && !(Array.isArray(e.paths) && e.paths.every((x) => typeof x === 'string' && x.startsWith('/'))))
    throw new PolicyError(`${at}.paths must be null or absolute path globs`);
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PolicyError(`${at} must be an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new PolicyError(`${at} must be an array`);
  return v;
}

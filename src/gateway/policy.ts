// egress.json as the gateway receives it: bytes → validated policy + version. The gateway does not
// trust its input just because the compiler wrote it: a hand-edited or truncated file must be
// refused (fail closed) before it replaces a working policy. The shape is checked by the validator
// generated from schemas/egress.schema.json, the same schema the compiler's output is tested against.
import type { ErrorObject } from 'ajv';
import type { EgressArtifact } from '../compiler/artifacts.js';
import { policyVersion } from '../compiler/canonical.js';
import { validateEgressArtifact } from '../generated/artifact-validators.js';
import { parseCidr, type Cidr } from '../util/ip.js';
import { UserError } from '../util/errors.js';

export type EgressPolicy = EgressArtifact;
export const MAX_POLICY_BYTES = 16 * 1024 * 1024;
/** A policy with thousands of mistakes gets the first few; the rest follow once those are fixed. */
const MAX_REPORTED = 5;

/** A policy the gateway refuses; a UserError (exit 1) when it reaches the CLI. */
export class PolicyError extends UserError {
  override name = 'PolicyError';
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
  if (!isEgressArtifact(v))
    throw new PolicyError(`egress policy does not match schemas/egress.schema.json: ${describe(validateEgressArtifact.errors ?? [])}`);
  // The schema bounds the strings; whether each is a CIDR is ip.ts's call.
  const allowedIps = v.allowed_ips.map((c, i) => {
    const cidr = parseCidr(c);
    if (!cidr) throw new PolicyError(`egress policy: allowed_ips[${i}] is not a CIDR`);
    return cidr;
  });
  return { policy: v, version: policyVersion(bytes), allowedIps };
}

function isEgressArtifact(v: unknown): v is EgressArtifact {
  return validateEgressArtifact(v);
}

/**
 * ajv's errors as one line: `rules[0].endpoints[1].port must be <= 65535; …`. A nullable field
 * (`anyOf: [T, null]`) fails both branches; the "must be null" half only says it is nullable, so
 * it is folded into the other branch's type error or dropped when that branch explains more.
 */
function describe(errors: ErrorObject[]): string {
  const types = new Map<string, string[]>();
  const messages: [string, string][] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue;
    const at = e.instancePath;
    if (e.keyword === 'type') {
      types.set(at, [...(types.get(at) ?? []), String(e.params.type)]);
      continue;
    }
    messages.push([at, message(e)]);
  }
  for (const [at, ts] of types) {
    const rest = ts.filter((t) => t !== 'null');
    const deeper = messages.some(([p]) => p === at || p.startsWith(`${at}/`));
    if (rest.length === 0 && deeper) continue; // the non-null branch's own errors say what is wrong
    messages.push([at, `must be ${ts.join(' or ')}`]);
  }
  // By field, then by message: the same policy always gets the same line.
  messages.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const lines = messages.map(([at, m]) => `${field(at)} ${m}`);
  const more = lines.length > MAX_REPORTED ? ` (and ${lines.length - MAX_REPORTED} more)` : '';
  return lines.slice(0, MAX_REPORTED).join('; ') + more;
}

function message(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `needs field "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return `has unknown field "${String(p.additionalProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** JSON pointer → `rules[0].endpoints[1].port`; the whole document is `(policy)`. */
function field(pointer: string): string {
  if (pointer === '') return '(policy)';
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, s) => (/^\d+$/.test(s) ? `${out}[${s}]` : out ? `${out}.${s}` : s), '');
}

// A sandbox entry merged over its blueprint, with the schema's defaults filled in.
// Merge rule (documented in the README): maps merge key by key, scalars and `command` override,
// lists of paths, presets, egress rules and syscalls are unions (blueprint first).
import type { SandboxSpec } from '../generated/config.js';
import type { RuntimeKind } from './artifacts.js';
import { withSandboxDefaults } from '../config/validate.js';
import type { BlueprintSource } from './inputs.js';

export type ResolvedSandbox = SandboxSpec & {
  runtime: RuntimeKind;
  workdir: string;
  filesystem: Required<NonNullable<SandboxSpec['filesystem']>>;
  process: NonNullable<SandboxSpec['process']> & {
    user: NonNullable<NonNullable<SandboxSpec['process']>['user']>;
    seccomp: Required<NonNullable<NonNullable<SandboxSpec['process']>['seccomp']>>;
    limits: Required<NonNullable<NonNullable<SandboxSpec['process']>['limits']>>;
  };
  network: Required<NonNullable<SandboxSpec['network']>>;
  env: Record<string, string>;
  protect: boolean;
};

const UNION_LISTS = new Set([
  'filesystem.read_only',
  'filesystem.read_write',
  'filesystem.executable',
  'network.presets',
  'network.allowed_ips',
  'network.listen',
  'network.egress',
  'process.seccomp.deny',
  'process.seccomp.allow',
]);

export function resolveSandbox(entry: SandboxSpec, blueprint: BlueprintSource | undefined): ResolvedSandbox {
  const { blueprint: _name, ...own } = entry;
  const merged = blueprint ? mergeInto(structuredClone(blueprint.sandbox) as Record<string, unknown>, own, '') : own;
  return withSandboxDefaults(merged as SandboxSpec) as ResolvedSandbox;
}

function mergeInto(base: Record<string, unknown>, over: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [key, value] of Object.entries(over)) {
    const here = path ? `${path}.${key}` : key;
    const prev = base[key];
    if (Array.isArray(value) && Array.isArray(prev) && UNION_LISTS.has(here)) {
      base[key] = unionBy(prev, value, here === 'network.egress' ? (r) => (r as { name: string }).name : (v) => JSON.stringify(v));
    } else if (isPlainObject(value) && isPlainObject(prev)) {
      base[key] = mergeInto(prev, value, here);
    } else {
      base[key] = structuredClone(value);
    }
  }
  return base;
}

/** Union keeping order; an entry of `over` with the same key replaces the base's. */
function unionBy(base: unknown[], over: unknown[], key: (v: unknown) => string): unknown[] {
  const out = new Map<string, unknown>();
  for (const v of base) out.set(key(v), v);
  for (const v of over) out.set(key(v), v);
  return [...out.values()];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

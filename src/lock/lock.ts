// nemoclaw.lock: pins the blueprint versions, preset contents and environment facts that a
// compile depends on, so the same commit compiles to the same digests on every host.
import { existsSync, readFileSync } from 'node:fs';
import type { NemoclawConfig } from '../generated/config.js';
import type { Catalog } from '../catalog/catalog.js';
import type { CompileFacts } from '../compiler/inputs.js';
import { UserError } from '../util/errors.js';

export interface Lock {
  lock_version: 1;
  blueprints: Record<string, { version: number; digest: string }>;
  presets: Record<string, { version: number; digest: string }>;
  facts: CompileFacts;
  /** Image reference → sha256 digest, for docker images written without a digest. */
  images: Record<string, string>;
}

export function lockPathFor(configPath: string): string {
  return configPath.replace(/\.ya?ml$/i, '') + '.lock';
}

export function readLock(path: string): Lock | undefined {
  if (!existsSync(path)) return undefined;
  return parseLock(readFileSync(path, 'utf8'), path);
}

/** A lock from its text (a file, or a git object at some commit); `path` names it in errors. */
export function parseLock(text: string, path: string): Lock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message}); regenerate it with --update-lock`);
  }
  const l = raw as Partial<Lock>;
  if (l.lock_version !== 1 || typeof l.blueprints !== 'object' || typeof l.presets !== 'object') {
    throw new UserError(`${path}: not a nemoclaw lock (lock_version 1); regenerate it with --update-lock`);
  }
  return { lock_version: 1, blueprints: l.blueprints ?? {}, presets: l.presets ?? {}, facts: l.facts ?? {}, images: l.images ?? {} };
}

/** The lock's text: stable key order and indentation so that it diffs well in review. */
export function serializeLock(lock: Lock): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sortKeys(lock), null, 2) + '\n';
}

export interface ResolvedVersions {
  /** Blueprint name → version to use. */
  blueprints: Record<string, number>;
}

/**
 * Which blueprint versions the config uses: an explicit `name@N` wins, else the lock's pin,
 * else (only when updating the lock) the newest shipped version.
 */
export function resolveBlueprintVersions(
  config: NemoclawConfig,
  catalog: Catalog,
  lock: Lock | undefined,
  update: boolean,
): ResolvedVersions {
  const out: Record<string, number> = {};
  for (const [sandbox, s] of Object.entries(config.sandboxes)) {
    if (!s.blueprint) continue;
    const [name, explicit] = s.blueprint.split('@') as [string, string | undefined];
    const versions = catalog.blueprintVersions[name];
    if (!versions) continue; // reported by lint as unknown-blueprint
    const want =
      explicit !== undefined
        ? Number(explicit)
        : !update && lock?.blueprints[name]
          ? lock.blueprints[name]!.version
          : versions[versions.length - 1]!;
    if (!versions.includes(want)) {
      throw new UserError(
        `sandbox ${sandbox}: blueprint ${name}@${want} is not shipped (available: ${versions.map((v) => `${name}@${v}`).join(', ')})`,
      );
    }
    if (out[name] !== undefined && out[name] !== want) {
      throw new UserError(`blueprint ${name} is used at two versions (${out[name]} and ${want}); use one`);
    }
    out[name] = want;
  }
  return { blueprints: out };
}

/** The lock this config needs now. Images are carried over: they are pinned by the operator or --update-lock. */
export function computeLock(
  config: NemoclawConfig,
  catalog: Catalog,
  versions: ResolvedVersions,
  facts: CompileFacts,
  previous: Lock | undefined,
  newImages: Record<string, string> = {},
): Lock {
  const blueprints: Lock['blueprints'] = {};
  for (const [name, version] of Object.entries(versions.blueprints)) {
    blueprints[name] = { version, digest: catalog.loadBlueprint(name, version).digest };
  }
  const presets: Lock['presets'] = {};
  for (const name of usedPresets(config, catalog, versions)) {
    const p = catalog.presets[name];
    if (p) presets[name] = { version: p.version, digest: p.digest };
  }
  return { lock_version: 1, blueprints, presets, facts, images: { ...previous?.images, ...newImages } };
}

/** Presets used directly or through a blueprint. */
export function usedPresets(config: NemoclawConfig, catalog: Catalog, versions: ResolvedVersions): string[] {
  const names = new Set<string>();
  for (const s of Object.values(config.sandboxes)) {
    for (const p of s.network?.presets ?? []) names.add(p);
    const bp = s.blueprint?.split('@')[0];
    if (bp && versions.blueprints[bp] !== undefined) {
      for (const p of catalog.loadBlueprint(bp, versions.blueprints[bp]!).sandbox.network?.presets ?? []) names.add(p);
    }
  }
  return [...names].sort();
}

/** Human-readable reasons why `existing` no longer matches what the config needs; empty when fresh. */
export function lockDifferences(existing: Lock, needed: Lock): string[] {
  const out: string[] = [];
  const compare = (kind: string, a: Record<string, { version: number; digest: string }>, b: typeof a) => {
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = a[name],
        y = b[name];
      if (!x) out.push(`${kind} ${name} is used but not pinned`);
      else if (!y) out.push(`${kind} ${name} is pinned but no longer used`);
      else if (x.version !== y.version) out.push(`${kind} ${name} is pinned at version ${x.version}, the config needs ${y.version}`);
      else if (x.digest !== y.digest)
        out.push(`${kind} ${name}@${x.version} changed since it was pinned (${x.digest.slice(0, 19)}… → ${y.digest.slice(0, 19)}…)`);
    }
  };
  compare('blueprint', existing.blueprints, needed.blueprints);
  compare('preset', existing.presets, needed.presets);
  for (const [ref, digest] of Object.entries(needed.images)) {
    if (existing.images[ref] !== digest) out.push(`image ${ref} ${existing.images[ref] ? 'now resolves to' : 'pinned to'} ${digest}`);
  }
  if ((existing.facts.npm_registry ?? null) !== (needed.facts.npm_registry ?? null)) {
    out.push(needed.facts.npm_registry ? 'the npm registry differs from the one pinned' : 'the pinned npm registry is no longer used');
  }
  return out;
}

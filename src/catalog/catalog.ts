// Reads the shipped blueprints and presets (blueprints/<name>/v<N>/blueprint.yaml and
// blueprints/presets/<name>.yaml). Their digests are over canonical content, so comments and
// formatting in these files never change a digest either.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsyaml from 'js-yaml';
import type { Endpoint, SandboxSpec } from '../generated/config.js';
import { canonicalJson, sha256 } from '../compiler/canonical.js';
import type { BlueprintSource, PresetSource } from '../compiler/inputs.js';
import { definitionErrors } from '../config/validate.js';
import { UserError } from '../util/errors.js';
import { blueprintsDir } from '../util/package-paths.js';

export interface Catalog {
  /** Blueprint name → available versions, ascending. */
  blueprintVersions: Record<string, number[]>;
  presets: Record<string, PresetSource>;
  loadBlueprint(name: string, version: number): BlueprintSource;
}

export function loadCatalog(dir = blueprintsDir): Catalog {
  const blueprintVersions: Record<string, number[]> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name === 'presets') continue;
    const versions = readdirSync(join(dir, name))
      .map((v) => /^v(\d+)$/.exec(v)?.[1])
      .filter((v): v is string => v !== undefined && existsSync(join(dir, name, `v${v}`, 'blueprint.yaml')))
      .map(Number)
      .sort((a, b) => a - b);
    if (versions.length > 0) blueprintVersions[name] = versions;
  }
  // Presets are read when first used: a config names one or two of them, and parsing, checking
  // and hashing all of them was most of the time `lint` spent above Node's own start.
  const presets: Record<string, PresetSource> = {};
  for (const file of readdirSync(join(dir, 'presets')).sort()) {
    if (!file.endsWith('.yaml')) continue;
    const name = file.slice(0, -'.yaml'.length);
    let p: PresetSource | undefined;
    Object.defineProperty(presets, name, { enumerable: true, get: () => (p ??= readPreset(join(dir, 'presets', file), name)) });
  }
  const cache = new Map<string, BlueprintSource>();
  return {
    blueprintVersions,
    presets,
    loadBlueprint(name, version) {
      const key = `${name}@${version}`;
      let b = cache.get(key);
      if (!b) {
        b = readBlueprint(join(dir, name, `v${version}`, 'blueprint.yaml'), name, version);
        cache.set(key, b);
      }
      return b;
    },
  };
}

function readYaml(file: string): Record<string, unknown> {
  // Our own shipped files: js-yaml (core schema, duplicate keys refused) is the fast reader.
  const value = jsyaml.load(readFileSync(file, 'utf8'), { schema: jsyaml.CORE_SCHEMA });
  if (typeof value !== 'object' || value === null) throw new UserError(`${file}: not a YAML mapping`, [], 2);
  return value as Record<string, unknown>;
}

function readBlueprint(file: string, name: string, version: number): BlueprintSource {
  const raw = readYaml(file);
  if (raw.name !== name || raw.version !== version) {
    throw new UserError(`${file}: name/version must be ${name} and ${version}`, [], 2);
  }
  const errors = definitionErrors('Sandbox', raw.sandbox);
  if (errors.length > 0) throw new UserError(`${file}: invalid blueprint sandbox: ${errors.join('; ')}`, [], 2);
  return {
    name,
    version,
    description: String(raw.description ?? ''),
    sandbox: raw.sandbox as SandboxSpec,
    digest: sha256(canonicalJson(raw)),
  };
}

function readPreset(file: string, name: string): PresetSource {
  const raw = readYaml(file);
  if (typeof raw.name !== 'string' || typeof raw.version !== 'number' || !Array.isArray(raw.endpoints)) {
    throw new UserError(`${file}: a preset needs name, version and endpoints`, [], 2);
  }
  if (raw.name !== name) throw new UserError(`${file}: the preset's name must be ${name}, as its file is named`, [], 2);
  for (const e of raw.endpoints) {
    const errors = definitionErrors('Endpoint', e);
    if (errors.length > 0) throw new UserError(`${file}: invalid endpoint: ${errors.join('; ')}`, [], 2);
  }
  let digest: string | undefined;
  return {
    name: raw.name,
    version: raw.version,
    description: String(raw.description ?? ''),
    endpoints: raw.endpoints as Endpoint[],
    // Only the lock and the compiler need it.
    get digest() {
      return (digest ??= sha256(canonicalJson(raw)));
    },
  };
}

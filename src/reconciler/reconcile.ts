// The entry points the commands use: where desired state comes from (a config file, a saved
// plan, a generation), making a plan from an observation, and checking a saved plan is current.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { canonicalJson, sha256 } from '../compiler/canonical.js';
import { REDACTED_VALUE } from '../compiler/redact.js';
import type { CompiledSandbox, RuntimeKind, SandboxArtifacts } from '../compiler/artifacts.js';
import { UserError } from '../util/errors.js';
import { displayPath } from '../util/display-path.js';
import { desiredKey, readDesiredCache, writeDesiredCache } from './desired-cache.js';
import { driversFor, observe, type Observation } from './observe.js';
import { desiredDigest, observedDigest, plan, requireKnown } from './plan.js';
import type { StateStore } from '../state/store.js';
import { restoreBlueprints, type BlueprintSource } from './redact-plan.js';
import { PLAN_FORMAT_VERSION, type Desired, type Plan } from './types.js';
import { BLUEPRINT_FILES, type BlueprintFile, type DesiredSandbox, type Inventory } from '../state/types.js';

/**
 * The config compiled. With `cache` (the state store), this compile is also remembered in the
 * state directory for the next `plan` of the same inputs (see desired-cache.ts, planFromFile).
 */
export async function desiredFromFile(file: string, o: { cache?: StateStore } = {}): Promise<Desired> {
  const before = o.cache ? await desiredKey(file).catch(() => null) : null;
  // The compile pipeline (YAML, schema, lint, compiler, catalog) is loaded only when it runs.
  const { loadCompile } = await import('../pipeline/pipeline.js');
  const c = await loadCompile(file, 'check');
  const bytes = readFileSync(resolve(file));
  const commit = c.output.sandboxes[0]?.artifacts.manifest.source.git_commit ?? null;
  const d: Desired = {
    configPath: displayPath(resolve(file)),
    configDigest: sha256(bytes),
    gitCommit: commit,
    sandboxes: c.output.sandboxes,
  };
  // Kept only when the inputs did not change under the compile, and no host fact went in.
  if (o.cache && before && Object.keys(c.neededLock.facts ?? {}).length === 0) {
    const after = await desiredKey(file).catch(() => null);
    if (after?.key === before.key && sha256(after.bytes) === d.configDigest)
      writeDesiredCache(o.cache.root, before.key, {
        configPath: d.configPath!,
        configDigest: d.configDigest!,
        gitCommit: d.gitCommit,
        sandboxes: d.sandboxes.map((s) => ({
          name: s.name,
          runtime: s.artifacts.sandbox.runtime,
          digest: s.digest,
          manifest: s.files['manifest.json'],
          files: Object.keys(s.files) as BlueprintFile[],
        })),
      });
  }
  return d;
}

/** Rebuild a compiled sandbox from its files, checking every digest (saved plans may be edited). */
export function sandboxFromFiles(name: string, files: Record<BlueprintFile, string>): CompiledSandbox {
  return checkFiles(name, files, false);
}

/**
 * Every digest of a blueprint; with REDACTED_OK, a sandbox.json shown redacted (its bytes are
 * restored, and then checked, later) is the one file let through.
 */
function checkFiles(name: string, files: Record<BlueprintFile, string>, redactedOk: boolean): CompiledSandbox {
  for (const f of BLUEPRINT_FILES) if (typeof files?.[f] !== 'string') throw new UserError(`blueprint of ${name} lacks ${f}`, [], 1);
  let manifest: SandboxArtifacts['manifest'];
  try {
    manifest = JSON.parse(files['manifest.json']);
  } catch {
    throw new UserError(`manifest.json of ${name} is not JSON`, [], 1);
  }
  const { source: _s, digest, ...rest } = manifest;
  if (sha256(canonicalJson(rest)) !== digest) throw new UserError(`manifest.json of ${name} does not match its digest`, [], 1);
  const shown = files['sandbox.json'];
  const redacted = redactedOk && (shown.includes(REDACTED_VALUE) || shown.includes('[redacted '));
  for (const f of BLUEPRINT_FILES) {
    if (f !== 'manifest.json' && sha256(files[f]) !== manifest.artifacts[f] && !(redacted && f === 'sandbox.json'))
      throw new UserError(`${f} of ${name} does not match its manifest digest`, [], 1);
  }
  let artifacts: SandboxArtifacts;
  try {
    artifacts = {
      sandbox: JSON.parse(files['sandbox.json']),
      landlock: JSON.parse(files['landlock.json']),
      seccomp: JSON.parse(files['seccomp.json']),
      egress: JSON.parse(files['egress.json']),
      manifest,
    };
  } catch {
    throw new UserError(`a blueprint file of ${name} is not JSON`, [], 1);
  }
  if (artifacts.sandbox.name !== name) throw new UserError(`blueprint for ${name} names sandbox ${artifacts.sandbox.name}`, [], 1);
  return { name, artifacts, files, digest };
}

export function readSavedPlan(path: string): Plan {
  let p: Plan;
  try {
    p = JSON.parse(readFileSync(path, 'utf8')) as Plan;
  } catch (e) {
    throw new UserError(`cannot read plan ${path}: ${(e as Error).message}`, [], 1);
  }
  if (p?.format_version !== PLAN_FORMAT_VERSION || !Array.isArray(p.actions) || typeof p.blueprints !== 'object') {
    throw new UserError(`${path} is not a nemoclaw plan (format_version ${PLAN_FORMAT_VERSION})`, [], 1);
  }
  if (p.refresh_only) throw new UserError(`${path} is a refresh-only plan: it proposes nothing to apply`, [], 1);
  return p;
}

/**
 * What a saved plan proves about itself before anything is compiled or observed: every manifest
 * and file matches its digest (a redacted sandbox.json is checked once restored, by
 * desiredFromPlan), and desired_digest matches the manifests. A tampered plan fails here first.
 */
export function verifySavedPlan(p: Plan): void {
  const sandboxes = Object.entries(p.blueprints).map(([n, files]) => checkFiles(n, files, true));
  const d: Desired = { configPath: p.config.path, configDigest: p.config.digest, gitCommit: p.config.git_commit, sandboxes };
  if (desiredDigest(d) !== p.desired_digest) throw new UserError("the plan's blueprints do not match its desired_digest", [], 1);
}

/**
 * The plan's blueprints as desired state. A saved plan has its sensitive env values redacted;
 * FRESH (the config compiled again, see checkSavedPlan) and the blueprint store supply the exact
 * bytes, checked against the plan's digests.
 */
export function desiredFromPlan(p: Plan, store?: StateStore, fresh?: Desired | null): Desired {
  const sources: BlueprintSource[] = [
    (name, digest) => fresh?.sandboxes.find((s) => s.name === name && s.digest === digest)?.files,
    (name, digest) => {
      try {
        return store?.loadBlueprint(name, digest).files;
      } catch {
        return undefined;
      }
    },
  ];
  const sandboxes = Object.entries(restoreBlueprints(p, sources)).map(([n, files]) => sandboxFromFiles(n, files));
  const d: Desired = { configPath: p.config.path, configDigest: p.config.digest, gitCommit: p.config.git_commit, sandboxes };
  if (desiredDigest(d) !== p.desired_digest) throw new UserError("the plan's blueprints do not match its desired_digest", [], 1);
  return d;
}

export function desiredFromGeneration(store: StateStore, n: number): Desired {
  const g = store.readGeneration(n);
  return {
    configPath: g.config_path,
    configDigest: null,
    gitCommit: g.git_commit,
    sandboxes: Object.entries(g.sandboxes).map(([name, digest]) => store.loadBlueprint(name, digest)),
  };
}

export async function observeAll(store: StateStore, inventory: Inventory, desired: Desired | null): Promise<Observation> {
  const kinds = new Set<RuntimeKind>([
    ...Object.values(inventory.sandboxes).map((e) => e.runtime),
    ...(desired?.sandboxes.map((s) => s.artifacts.sandbox.runtime) ?? []),
  ]);
  return observe(store, inventory, driversFor(kinds));
}

export interface MakePlanOptions {
  refreshOnly?: boolean;
  allowDestroy?: boolean;
  rollbackTo?: number | null;
}

/**
 * `nemoclaw plan`: the config's plan on this host. When the compile's inputs are unchanged since
 * the last compile of this config here (desired-cache.ts) and the store holds every blueprint it
 * made (a no-op plan's case), those are the desired blueprints: the ones the observation has just
 * read and checked against their digests, with the compile's manifest.json (provenance). That plan
 * is the answer only when it shows nothing about a change: artifacts parsed back from bytes may
 * list keys in another order than the compiler built them, which summaries and diffs would show.
 * Otherwise the config is compiled and planned again, so the output is the same either way.
 */
export async function planFromFile(store: StateStore, file: string, o: MakePlanOptions = {}): Promise<Plan> {
  const key = await desiredKey(file).catch(() => null);
  const hit = key && readDesiredCache(store.root, key.key);
  if (hit && hit.configDigest === sha256(key.bytes)) {
    const inventory = store.readInventory();
    const kinds = new Set<RuntimeKind>([
      ...Object.values(inventory.sandboxes).map((e) => e.runtime),
      ...hit.sandboxes.map((s) => s.runtime),
    ]);
    const { observed, current } = await observe(store, inventory, driversFor(kinds));
    const sandboxes: DesiredSandbox[] = [];
    for (const s of hit.sandboxes) {
      const cur = current[s.name];
      if (!cur || cur.digest !== s.digest) break;
      // The store's own manifest when it is this one (applied from this file), else the remembered one, checked.
      let manifest: SandboxArtifacts['manifest'] | null = s.manifest === cur.files['manifest.json'] ? cur.artifacts.manifest : null;
      if (!manifest) {
        try {
          manifest = JSON.parse(s.manifest) as SandboxArtifacts['manifest'];
        } catch {
          /* a damaged entry */
        }
        if (!manifest || manifest.sandbox !== s.name || manifestDigest(manifest) !== s.digest) break;
      }
      const files = Object.fromEntries(s.files.map((f) => [f, f === 'manifest.json' ? s.manifest : cur.files[f]])) as Record<
        BlueprintFile,
        string
      >;
      if (!BLUEPRINT_FILES.every((f) => typeof files[f] === 'string')) break;
      // cur's artifacts with this manifest (their getters copied as getters: nothing parsed yet is parsed now).
      const artifacts = Object.defineProperties({}, Object.getOwnPropertyDescriptors(cur.artifacts)) as SandboxArtifacts;
      Object.defineProperty(artifacts, 'manifest', { value: manifest, enumerable: true, writable: true, configurable: true });
      sandboxes.push({ name: s.name, digest: s.digest, files, artifacts });
    }
    if (sandboxes.length === hit.sandboxes.length) {
      const desired: Desired = { configPath: hit.configPath, configDigest: hit.configDigest, gitCommit: hit.gitCommit, sandboxes };
      const p = plan({ desired, inventory, observed, current, ...planOptions(o) });
      if (p.actions.every((a) => a.changes.length === 0 && a.summary.gains.length + a.summary.losses.length === 0)) return p;
    }
  }
  return makePlan(store, await desiredFromFile(file, { cache: store }), o);
}

/** What a manifest's digest must be: over everything in it but its provenance and the digest itself. */
function manifestDigest(m: SandboxArtifacts['manifest']): string | null {
  const { source: _s, digest, ...rest } = m;
  return digest === sha256(canonicalJson(rest)) ? digest : null;
}

const planOptions = (o: MakePlanOptions) => ({
  refreshOnly: o.refreshOnly,
  allowDestroy: o.allowDestroy,
  now: new Date().toISOString(),
  rollbackTo: o.rollbackTo,
});

export async function makePlan(store: StateStore, desired: Desired, o: MakePlanOptions = {}): Promise<Plan> {
  const inventory = store.readInventory();
  const { observed, current } = await observeAll(store, inventory, desired);
  return plan({ desired, inventory, observed, current, ...planOptions(o) });
}

/**
 * A saved plan applies only to the config and the host it was made from. Returns the config
 * compiled again (when the plan came from one), whose bytes restore the plan's redacted parts.
 */
export async function checkSavedPlan(store: StateStore, p: Plan): Promise<Desired | null> {
  const stale: string[] = [];
  let fresh: Desired | null = null;
  if (p.config.path && p.rollback_to === null) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(resolve(p.config.path));
    } catch {
      throw new UserError(`the plan was made from ${p.config.path}, which cannot be read now`, [], 1);
    }
    if (sha256(bytes) !== p.config.digest) stale.push(`${p.config.path} changed since the plan was made`);
    else {
      const now = await desiredFromFile(p.config.path);
      fresh = now;
      if (desiredDigest(now) !== p.desired_digest)
        stale.push(`${p.config.path} now compiles to different blueprints (lock or catalog changed)`);
    }
  }
  const inventory = store.readInventory();
  const { observed } = await observeAll(store, inventory, null);
  requireKnown(observed);
  if (observedDigest(observed, inventory) !== p.observed_digest) stale.push('the host changed since the plan was made (run plan again)');
  if (stale.length) throw new UserError(`the saved plan is stale:\n  - ${stale.join('\n  - ')}`, [], 1);
  return fresh;
}

/**
 * destroy/uninstall: delete exactly the named inventory entries. The other sandboxes stay as
 * they are (their actions are noops), so nothing else is touched.
 */
export async function destroyPlan(store: StateStore, names: string[], allowDestroy: boolean): Promise<{ plan: Plan; desired: Desired }> {
  const inventory = store.readInventory();
  const { observed, current } = await observeAll(store, inventory, null);
  const keep: CompiledSandbox[] = [];
  for (const [n] of Object.entries(inventory.sandboxes)) if (!names.includes(n) && current[n]) keep.push(current[n]!);
  const desired: Desired = { configPath: null, configDigest: null, gitCommit: null, sandboxes: keep };
  const p = plan({ desired, inventory, observed, current, allowDestroy, now: new Date().toISOString() });
  p.actions = p.actions.map((a) =>
    names.includes(a.sandbox) ? a : { ...a, kind: 'noop', reasons: ['not selected'], changes: [], blocked: null },
  );
  p.actions = p.actions.filter((a) => names.includes(a.sandbox) || inventory.sandboxes[a.sandbox]);
  p.changes = p.actions.some((a) => a.kind !== 'noop');
  return { plan: p, desired };
}

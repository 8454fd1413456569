// load → validate → lint → compile, with the I/O the pure compiler must not do: reading the
// file, the shipped catalog, the lock, the npm registry fact and the git commit.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { displayPath } from '../util/display-path.js';
import type { NemoclawConfig } from '../generated/config.js';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { resolveImageDigests, unpinnedImages } from './resolve-images.js';
import { compileConfig, type CompileOutput } from '../compiler/compile.js';
import type { CompileFacts, CompileInput } from '../compiler/inputs.js';
import { knownSyscallNames } from '../compiler/seccomp.js';
import { compareDiagnostics, type Diagnostic } from '../config/diagnostics.js';
import { UserError } from '../util/errors.js';
import { loadDocument, MAX_FILE_BYTES, type LoadedDocument } from '../config/load.js';
import { checkSchema } from '../config/validate.js';
import { lintConfig, redactDiagnostic } from '../lint/rules.js';
import { headCommit } from '../util/git-head.js';
import {
  computeLock,
  lockDifferences,
  lockPathFor,
  readLock,
  resolveBlueprintVersions,
  usedPresets,
  type Lock,
  type ResolvedVersions,
} from '../lock/lock.js';

export interface Checked {
  file: string;
  doc: LoadedDocument;
  /** Present when the document passed the schema (lint findings may still include errors). */
  config: NemoclawConfig | undefined;
  diagnostics: Diagnostic[];
  catalog: Catalog;
  lock: Lock | undefined;
  lockPath: string;
}

/** Read and check a config file. Throws UserError (exit 2) only when the file cannot be read. */
export function loadAndCheck(
  file: string,
  catalog: Catalog = loadCatalog(),
  maxBytes = MAX_FILE_BYTES,
  extraImages: Record<string, string> = {},
): Checked {
  const path = resolve(file);
  let source: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`${file}: not a file`, [], 2);
    // Never read an oversized file into memory: a placeholder of the right size gets the error.
    source = st.size > maxBytes ? ' '.repeat(maxBytes + 1) : readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [], 2);
  }
  const lockPath = lockPathFor(path);
  const lock = readLock(lockPath);
  return checkSource({ file: path, shown: displayPath(path), text: source, lock, lockPath }, catalog, maxBytes, extraImages);
}

/** A config file's text and its lock, from disk or from a git object: what a check needs. */
export interface ConfigSource {
  /** Absolute path on disk, or `<commit>:<path>` for a git object. */
  file: string;
  /** The name findings carry. */
  shown: string;
  text: string;
  lock: Lock | undefined;
  lockPath: string;
}

/** Check a config held in memory: validate, lint, redact findings. Never reads the file system (the catalog aside). */
export function checkSource(
  src: ConfigSource,
  catalog: Catalog = loadCatalog(),
  maxBytes = MAX_FILE_BYTES,
  extraImages: Record<string, string> = {},
): Checked {
  const doc = loadDocument(src.shown, src.text, maxBytes);
  const { lock, lockPath } = src;
  const diagnostics = [...doc.diagnostics];
  let config: NemoclawConfig | undefined;
  if (doc.value !== undefined && diagnostics.length === 0) {
    // Schema and semantic checks together: the linter skips only the parts the schema refused,
    // so one run lists every problem.
    const schema = checkSchema(doc);
    diagnostics.push(...schema.diagnostics);
    diagnostics.push(
      ...lintConfig(
        doc,
        doc.value as NemoclawConfig,
        {
          knownPresets: Object.keys(catalog.presets),
          knownBlueprints: Object.keys(catalog.blueprintVersions),
          lockedImages: { ...lock?.images, ...extraImages },
          // Built only when the config names a syscall (most do not).
          knownSyscalls: { has: (name) => knownSyscallNames().has(name) },
        },
        schema.malformed,
      ),
    );
    if (schema.diagnostics.length === 0) config = doc.value as NemoclawConfig;
  }
  // Schema messages can quote keys, and a key can be a secret: redact every finding.
  const redacted = diagnostics.map(redactDiagnostic).sort(compareDiagnostics);
  return { file: src.file, doc, config, diagnostics: redacted, catalog, lock, lockPath };
}

export type LockMode = 'check' | 'update';

export interface Compiled extends Checked {
  config: NemoclawConfig;
  output: CompileOutput;
  /** The lock the compile used; differs from `lock` when mode was update. */
  neededLock: Lock;
  lockStale: string[];
}

/** Check, then compile. Errors in the file or a stale lock (in check mode) throw UserError. */
export async function loadCompile(file: string, mode: LockMode = 'check'): Promise<Compiled> {
  const checked = loadAndCheck(file);
  return compileResolvingImages(checked, mode, (images) => loadAndCheck(file, checked.catalog, MAX_FILE_BYTES, images));
}

/**
 * Check, then compile a config held in memory, as if it were at `src.file` (`nemoclaw init`
 * compiles what it writes only once everything succeeded). Same errors as loadCompile.
 */
export async function compileInMemory(src: ConfigSource, mode: LockMode = 'check'): Promise<Compiled> {
  const checked = checkSource(src);
  return compileResolvingImages(checked, mode, (images) => checkSource(src, checked.catalog, MAX_FILE_BYTES, images));
}

/** In update mode, images written without a digest are pinned to what this host has first. */
async function compileResolvingImages(
  first: Checked,
  mode: LockMode,
  recheck: (images: Record<string, string>) => Checked,
): Promise<Compiled> {
  let checked = first;
  let newImages: Record<string, string> = {};
  if (mode === 'update' && checked.config) {
    const { catalog } = checked;
    const versions = resolveBlueprintVersions(checked.config, catalog, checked.lock, true);
    const blueprintSandbox = (b: string) => {
      const name = b.split('@')[0]!;
      const version = versions.blueprints[name];
      return version === undefined ? undefined : catalog.loadBlueprint(name, version).sandbox;
    };
    newImages = await resolveImageDigests(unpinnedImages(checked.config, checked.lock?.images ?? {}, blueprintSandbox));
    if (Object.keys(newImages).length > 0) checked = recheck(newImages);
  }
  return compileChecked(checked, { mode, gitCommit: await headCommit(dirname(checked.file)), newImages });
}

export interface CompileOptions {
  mode: LockMode;
  gitCommit: string | null;
  newImages?: Record<string, string>;
  /**
   * Take host facts (the npm registry) from the lock instead of asking this host: a compile of a
   * commit (diff, sign, verify) must give the same digests on every machine.
   */
  pinnedFacts?: boolean;
}

/** The lock a checked config needs, and why the lock beside it differs from that. */
export interface NeededLock {
  config: NemoclawConfig;
  versions: ResolvedVersions;
  facts: CompileFacts;
  neededLock: Lock;
  lockStale: string[];
}

/**
 * What nemoclaw.lock must say for a checked config (blueprints, presets, facts, images pinned so
 * far), without compiling it: an image not built yet leaves it without that image's pin, which
 * `compile --update-lock` adds later (and which compile, plan and apply refuse to go without).
 * Errors in the file throw UserError; so does a stale lock in check mode.
 */
export async function lockFor(checked: Checked, opts: Omit<CompileOptions, 'gitCommit'>): Promise<NeededLock> {
  const { mode, newImages = {} } = opts;
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  if (!checked.config || errors.length > 0) {
    throw new UserError(`${checked.doc.file} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'})`, errors, 1);
  }
  const config = checked.config;
  const versions = resolveBlueprintVersions(config, checked.catalog, checked.lock, mode === 'update');
  const facts = opts.pinnedFacts && checked.lock ? checked.lock.facts : await gatherFacts(usedPresets(config, checked.catalog, versions));
  const neededLock = computeLock(config, checked.catalog, versions, facts, checked.lock, newImages);
  const lockStale = checked.lock ? lockDifferences(checked.lock, neededLock) : ['nemoclaw.lock does not exist'];
  if (mode === 'check' && lockStale.length > 0) {
    throw new UserError(
      `${displayPath(checked.lockPath)} is ${checked.lock ? 'stale' : 'missing'}:\n  - ${lockStale.join('\n  - ')}\n` +
        'Review the change, then run `nemoclaw compile --update-lock` and commit the lock.',
      [],
      1,
    );
  }
  return { config, versions, facts, neededLock, lockStale };
}

/** Compile a checked config. Errors in the file or a stale lock (in check mode) throw UserError. */
export async function compileChecked(checked: Checked, opts: CompileOptions): Promise<Compiled> {
  const { config, versions, facts, neededLock, lockStale } = await lockFor(checked, opts);
  const input: CompileInput = {
    config,
    source: { file: checked.doc.file, git_commit: opts.gitCommit },
    blueprints: Object.fromEntries(Object.entries(versions.blueprints).map(([n, v]) => [n, checked.catalog.loadBlueprint(n, v)])),
    presets: checked.catalog.presets,
    facts,
    lockedImages: neededLock.images,
  };
  // compileConfig throws CompileError, a UserError: the CLI reports it like any bad input.
  return { ...checked, config, output: compileConfig(input), neededLock, lockStale };
}

/** Host facts a compile depends on; only looked up when a used preset needs them. */
async function gatherFacts(presets: string[]): Promise<CompileFacts> {
  if (!presets.includes('npm')) return {};
  const registry = process.env.NEMOCLAW_NPM_REGISTRY || (await npmRegistry());
  return { npm_registry: registry.replace(/\/+$/, '') + '/' };
}

async function npmRegistry(): Promise<string> {
  try {
    // Loaded here, not at the top: node:child_process costs ~8 ms of every lint and validate.
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)('npm', ['config', 'get', 'registry'], { timeout: 30_000 });
    const url = stdout.trim();
    new URL(url);
    return url;
  } catch (e) {
    throw new UserError(
      `the npm preset needs the npm registry, but \`npm config get registry\` failed: ${(e as Error).message.split('\n')[0]}`,
      [],
      2,
    );
  }
}

export { displayPath };

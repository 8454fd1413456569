// load → validate → lint → compile, with the I/O the pure compiler must not do: reading the
// file, the shipped catalog, the lock, the npm registry fact and the git commit.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { NemoclawConfig } from '../generated/config.js';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { resolveImageDigests, unpinnedImages } from './resolve-images.js';
import { compileConfig, type CompileOutput } from '../compiler/compile.js';
import { CompileError, type CompileFacts, type CompileInput } from '../compiler/inputs.js';
import { knownSyscallNames } from '../compiler/seccomp.js';
import { compareDiagnostics, UserError, type Diagnostic } from '../config/diagnostics.js';
import { loadDocument, MAX_FILE_BYTES, type LoadedDocument } from '../config/load.js';
import { schemaDiagnostics } from '../config/validate.js';
import { lintConfig, redactDiagnostic, secretDiagnostics } from '../lint/rules.js';
import { headCommit } from '../util/git.js';
import { computeLock, lockDifferences, lockPathFor, readLock, resolveBlueprintVersions, usedPresets, type Lock } from '../lock/lock.js';

const run = promisify(execFile);

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
  const shown = displayPath(path);
  const doc = loadDocument(shown, source, maxBytes);
  const lockPath = lockPathFor(path);
  const lock = readLock(lockPath);
  const diagnostics = [...doc.diagnostics];
  let config: NemoclawConfig | undefined;
  if (doc.value !== undefined && diagnostics.length === 0) {
    const schema = schemaDiagnostics(doc);
    diagnostics.push(...schema);
    if (schema.length > 0) {
      // The linter does not run on a file that fails the schema; a pasted key must still be reported.
      diagnostics.push(...secretDiagnostics(doc));
    } else {
      config = doc.value as NemoclawConfig;
      diagnostics.push(
        ...lintConfig(doc, config, {
          knownPresets: Object.keys(catalog.presets),
          knownBlueprints: Object.keys(catalog.blueprintVersions),
          lockedImages: { ...lock?.images, ...extraImages },
          knownSyscalls: knownSyscallNames(),
        }),
      );
    }
  }
  // Schema messages can quote keys, and a key can be a secret: redact every finding.
  const redacted = diagnostics.map(redactDiagnostic).sort(compareDiagnostics);
  return { file: path, doc, config, diagnostics: redacted, catalog, lock, lockPath };
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
  let checked = loadAndCheck(file);
  let newImages: Record<string, string> = {};
  if (mode === 'update' && checked.config) {
    newImages = await resolveImageDigests(unpinnedImages(checked.config, checked.lock?.images ?? {}));
    if (Object.keys(newImages).length > 0) checked = loadAndCheck(file, checked.catalog, MAX_FILE_BYTES, newImages);
  }
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  if (!checked.config || errors.length > 0) {
    throw new UserError(`${checked.doc.file} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'})`, errors, 1);
  }
  const config = checked.config;
  const versions = resolveBlueprintVersions(config, checked.catalog, checked.lock, mode === 'update');
  const facts = await gatherFacts(usedPresets(config, checked.catalog, versions));
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
  const input: CompileInput = {
    config,
    source: { file: displayPath(checked.file), git_commit: await headCommit(dirname(checked.file)) },
    blueprints: Object.fromEntries(Object.entries(versions.blueprints).map(([n, v]) => [n, checked.catalog.loadBlueprint(n, v)])),
    presets: checked.catalog.presets,
    facts,
    lockedImages: neededLock.images,
  };
  try {
    return { ...checked, config, output: compileConfig(input), neededLock, lockStale };
  } catch (e) {
    if (e instanceof CompileError) throw new UserError(e.message, [], 1);
    throw e;
  }
}

/** Host facts a compile depends on; only looked up when a used preset needs them. */
async function gatherFacts(presets: string[]): Promise<CompileFacts> {
  if (!presets.includes('npm')) return {};
  const registry = process.env.NEMOCLAW_NPM_REGISTRY || (await npmRegistry());
  return { npm_registry: registry.replace(/\/+$/, '') + '/' };
}

async function npmRegistry(): Promise<string> {
  try {
    const { stdout } = await run('npm', ['config', 'get', 'registry'], { timeout: 30_000 });
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

/** Paths in messages are relative to the working directory when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}

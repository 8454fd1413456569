// Reads a config file and its lock as they are at a git commit, from git objects (no checkout,
// no temporary files), so `diff`, `sign` and `verify` compile any commit without touching the
// working tree.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { UserError } from '../util/errors.js';
import { MAX_FILE_BYTES } from '../config/load.js';
import { lockPathFor, parseLock, readLock } from '../lock/lock.js';
import { checkSource, compileChecked, displayPath, type Checked, type Compiled, type ConfigSource } from './pipeline.js';
import type { Catalog } from '../catalog/catalog.js';

export interface GitFile {
  /** Repository top level (absolute). */
  root: string;
  /** The config file's path relative to the top level, with `/` separators. */
  path: string;
}

function git(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, maxConcurrentProcesses: 2 });
}

/** Locate `file` (relative to the working directory) inside its repository. */
export async function locateInRepo(file: string): Promise<GitFile> {
  const abs = resolve(file);
  let dir = dirname(abs);
  while (!existsSync(dir)) dir = dirname(dir); // the file may exist only at some commit
  let root: string;
  try {
    root = (await git(dir).revparse(['--show-toplevel'])).trim();
  } catch {
    throw new UserError(`${file}: not inside a git repository`, [], 1);
  }
  return { root, path: relative(root, abs).split('\\').join('/') };
}

/** The full commit id `ref` names; a clear error when it names none. */
export async function resolveCommit(root: string, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw new UserError(`not a git revision: ${ref}`, [], 1);
  // --quiet exits 1 with no output for an unknown ref, which simple-git does not always treat as failure.
  const id = await git(root)
    .revparse(['--verify', '--quiet', `${ref}^{commit}`])
    .catch(() => '');
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(id.trim())) throw new UserError(`${ref}: not a commit in ${displayPath(root)}`, [], 1);
  return id.trim();
}

/** A blob's text at a commit, or undefined when the path does not exist there. */
export async function readAt(root: string, commit: string, path: string, maxBytes = MAX_FILE_BYTES): Promise<string | undefined> {
  const g = git(root);
  const listing = (await g.raw(['ls-tree', '-l', commit, '--', path])).trim();
  if (!listing) return undefined;
  const [meta] = listing.split('\t');
  const [, type, , size] = (meta ?? '').split(/\s+/);
  if (type !== 'blob') throw new UserError(`${commit.slice(0, 12)}:${path}: not a file`, [], 1);
  // Never read an oversized blob into memory: a placeholder of the right size gets the error.
  if (Number(size) > maxBytes) return ' '.repeat(maxBytes + 1);
  return g.show([`${commit}:${path}`]);
}

/** The config and its lock at `commit`, or undefined when the config does not exist there. */
export async function sourceAtCommit(f: GitFile, commit: string): Promise<ConfigSource | undefined> {
  const text = await readAt(f.root, commit, f.path);
  if (text === undefined) return undefined;
  const lockRel = lockPathFor(f.path);
  const shownLock = `${commit.slice(0, 12)}:${lockRel}`;
  const lockText = await readAt(f.root, commit, lockRel);
  return {
    file: `${commit}:${f.path}`,
    shown: f.path,
    text,
    lock: lockText === undefined ? undefined : parseLock(lockText, shownLock),
    lockPath: shownLock,
  };
}

/** The config and its lock as they are in the working tree, or undefined when the file is absent. */
export function sourceInWorktree(f: GitFile): ConfigSource | undefined {
  const abs = join(f.root, f.path);
  if (!existsSync(abs)) return undefined;
  const lockPath = lockPathFor(abs);
  return { file: abs, shown: f.path, text: readFileSync(abs, 'utf8'), lock: readLock(lockPath), lockPath };
}

/** Check and compile a config from memory with the lock's pinned facts: same commit, same digests on every host. */
export async function compileSource(
  src: ConfigSource,
  gitCommit: string | null,
  catalog?: Catalog,
): Promise<{ checked: Checked; compiled: Compiled }> {
  const checked = checkSource(src, catalog);
  const compiled = await compileChecked(checked, { mode: 'check', gitCommit, pinnedFacts: true });
  return { checked, compiled };
}

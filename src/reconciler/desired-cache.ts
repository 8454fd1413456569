// The compile a no-op `plan` would repeat, remembered in the state directory. The compiler is a
// pure function of its inputs, so a compiled config is kept under a key made of all of them: the
// config's bytes, its path (absolute, and as shown: manifests record it), the lock's bytes, the
// git commit, and nemoclaw itself (its version, the Node version, and by file identity (device,
// inode, size, modification and change times) the code that runs and the shipped blueprints,
// presets and schemas). Host facts are not in the
// key: a compile that used any (the npm registry, for the npm preset) is not kept. Lock pinning of
// images happens only with --update-lock, which never uses this. The entry names each sandbox's
// blueprint by digest and holds its manifest: it serves only sandboxes the store holds under that
// digest (a no-op plan's), everything else is compiled.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, sha256 } from '../compiler/canonical.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { displayPath } from '../util/display-path.js';
import { headCommit } from '../util/git-head.js';
import { blueprintsDir, packageRoot, packageVersion } from '../util/package-paths.js';
import { lockPathFor } from '../lock/lock.js';
import type { BlueprintFile } from '../state/types.js';
import type { RuntimeKind } from '../compiler/artifacts.js';

const FORMAT = 1;

export interface CachedDesired {
  configPath: string;
  configDigest: string;
  gitCommit: string | null;
  /**
   * Per sandbox its digest and manifest.json (which also records where it was compiled from):
   * with them, the blueprint the store holds under that digest is the compiled one byte for byte
   * (the digest covers every other file's sha256). `files` is the order the compiler gave them.
   */
  sandboxes: { name: string; runtime: RuntimeKind; digest: string; manifest: string; files: BlueprintFile[] }[];
}

interface Entry extends CachedDesired {
  format_version: number;
  key: string;
}

export const desiredCacheFile = (stateRoot: string) => join(stateRoot, 'cache', 'desired.json');

/** A file by identity: any write, replacement or build changes one of these. */
function identity(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Every file under DIR (the shipped catalog and schemas: a few dozen) by relative path and identity. */
function filesOf(dir: string, out: [string, string][] = [], rel = ''): [string, string][] {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = join(rel, e.name);
    if (e.isDirectory()) filesOf(dir, out, r);
    else out.push([r, identity(join(dir, r))]);
  }
  return out;
}

let nemoclawIdentity: unknown;

/**
 * The key of FILE's compile as it would run now, and the config bytes it covers. Throws when a
 * part cannot be read (the caller compiles, which reports it properly).
 */
export async function desiredKey(file: string): Promise<{ key: string; bytes: Buffer }> {
  const abs = resolve(file);
  const bytes = readFileSync(abs);
  let lock: string | null = null;
  try {
    lock = sha256(readFileSync(lockPathFor(abs)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  nemoclawIdentity ??= {
    version: packageVersion,
    node: process.version,
    // The code that compiles: this file (the command's bundle, or tsc's output, rewritten whole by
    // every build) and the compile pipeline's own bundle beside it, when there is one.
    code: [fileURLToPath(import.meta.url), join(dirname(fileURLToPath(import.meta.url)), 'lib', 'pipeline.cjs')].flatMap((f) =>
      existsSync(f) ? [identity(f)] : [],
    ),
    blueprints: filesOf(blueprintsDir),
    schemas: filesOf(join(packageRoot, 'schemas')),
  };
  const key = sha256(
    canonicalJson({
      v: FORMAT,
      nemoclaw: nemoclawIdentity,
      file: abs,
      shown: displayPath(abs),
      config: sha256(bytes),
      lock,
      commit: await headCommit(dirname(abs)),
    }),
  );
  return { key, bytes };
}

/** The entry under KEY, if there is one; anything unreadable or unexpected is a miss. */
export function readDesiredCache(stateRoot: string, key: string): CachedDesired | null {
  try {
    const e = JSON.parse(readFileSync(desiredCacheFile(stateRoot), 'utf8')) as Partial<Entry>;
    if (e.format_version !== FORMAT || e.key !== key || !Array.isArray(e.sandboxes)) return null;
    if (typeof e.configPath !== 'string' || typeof e.configDigest !== 'string') return null;
    return { configPath: e.configPath, configDigest: e.configDigest, gitCommit: e.gitCommit ?? null, sandboxes: e.sandboxes };
  } catch {
    return null;
  }
}

/** Remember a compile (best effort: a state directory that does not exist yet or cannot be written is left alone). */
export function writeDesiredCache(stateRoot: string, key: string, d: CachedDesired): void {
  try {
    if (!statSync(stateRoot).isDirectory()) return;
    mkdirSync(dirname(desiredCacheFile(stateRoot)), { recursive: true, mode: 0o700 });
    const entry: Entry = { format_version: FORMAT, key, ...d };
    writeFileAtomic(desiredCacheFile(stateRoot), JSON.stringify(entry) + '\n', { mode: 0o600, durable: false });
  } catch {
    // only the next plan's time depends on it
  }
}

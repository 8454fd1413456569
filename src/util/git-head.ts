// The commit checked out at a directory, read from .git without running git. The compiler records
// it in every manifest, so `validate`, `compile`, `plan` and `run` all ask; spawning git (and
// loading simple-git to do it) cost ~20 ms of a ~150 ms command, most often to learn that there is
// no repository at all. The plain layouts (a .git directory or a `gitdir:` file, a loose or packed
// ref, a detached HEAD) are read here; anything else (a bare repository, a reftable, a symref
// chain, an unreadable HEAD) goes to git itself through src/util/git.ts, so the answer is git's.
// GIT_DIR and the like are not consulted: src/util/git.ts strips GIT_* from git's environment.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The commit checked out at DIR, or null outside a repository (or on an unborn branch). */
export async function headCommit(dir: string): Promise<string | null> {
  const read = readHead(resolve(dir));
  if (read !== 'ask-git') return read;
  const git = await import('./git.js');
  return git.headCommitFromGit(dir);
}

/** What .git says: a commit, null (no repository, or an unborn branch), or 'ask-git'. */
export function readHead(dir: string): string | null | 'ask-git' {
  const gitDir = findGitDir(dir);
  if (gitDir === null) return null;
  if (gitDir === 'ask-git') return 'ask-git';
  const head = text(join(gitDir, 'HEAD'));
  if (head === undefined) return 'ask-git';
  if (OID.test(head)) return head;
  const ref = /^ref: (refs\/[^\s]+)$/.exec(head)?.[1];
  if (!ref) return 'ask-git';
  const common = commonDir(gitDir);
  if (common === undefined) return 'ask-git';
  const loose = text(join(common, ref));
  if (loose !== undefined) return OID.test(loose) ? loose : 'ask-git';
  const packed = text(join(common, 'packed-refs'));
  if (packed !== undefined) {
    for (const line of packed.split('\n')) {
      const [oid, name] = line.split(' ');
      if (name === ref && oid && OID.test(oid)) return oid;
    }
  }
  // No such ref: an unborn branch, unless the repository keeps refs where this reader does not look.
  return exists(join(common, 'reftable')) ? 'ask-git' : null;
}

/** The .git directory of the repository DIR is in, null when there is none up to the root. */
function findGitDir(start: string): string | null | 'ask-git' {
  for (let dir = start; ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    const st = stat(dotGit);
    if (st?.isDirectory()) return dotGit;
    if (st?.isFile()) {
      const target = /^gitdir: (.+)$/.exec(text(dotGit) ?? '')?.[1];
      if (!target) return 'ask-git';
      return isAbsolute(target) ? target : resolve(dir, target);
    }
    if (st === undefined && isBareRepo(dir)) return 'ask-git';
    if (dirname(dir) === dir) return null;
  }
}

/** A linked worktree keeps its refs in the main repository: `commondir` says where. */
function commonDir(gitDir: string): string | undefined {
  const c = text(join(gitDir, 'commondir'));
  if (c === undefined) return exists(join(gitDir, 'commondir')) ? undefined : gitDir;
  return isAbsolute(c) ? c : resolve(gitDir, c);
}

// A directory that is itself a git directory (bare repository, or DIR inside .git): git's answer.
const isBareRepo = (dir: string) => exists(join(dir, 'HEAD')) && exists(join(dir, 'objects')) && exists(join(dir, 'refs'));

function text(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
function stat(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
const exists = (path: string) => stat(path) !== undefined;

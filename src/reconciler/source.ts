// The git side of the loop: fetch a ref into a bare mirror in the state directory, check the
// new head descends from the last applied commit, and check a verified commit out into the
// mirror's worktree for the compiler. Nothing here touches a user's working tree.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { gitAt, gitCode } from '../util/git.js';
import { sourcePaths } from '../state/source.js';

const FETCHED = 'refs/nemoclaw/fetched';

/** Fetch REF from URL into the mirror; returns the fetched commit. Throws on network or auth errors. */
export async function fetchSource(root: string, url: string, ref: string, timeoutMs = 120_000): Promise<string> {
  const { mirror } = sourcePaths(root);
  if (!existsSync(mirror)) {
    mkdirSync(dirname(mirror), { recursive: true, mode: 0o700 });
    await gitAt(dirname(mirror)).raw(['init', '--quiet', '--bare', mirror]);
  }
  const git = gitAt(mirror, { timeoutMs });
  // `--` keeps a URL that starts with "-" from being read as an option.
  await git.raw(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--', url, `+${ref}:${FETCHED}`]);
  // Signed statements (nemoclaw sign) travel as notes. A repository without any is not an error
  // here: a source that requires one refuses the commit (SignatureMissing) when it verifies.
  await gitCode(mirror, ['fetch', '--quiet', '--no-tags', '--', url, '+refs/notes/nemoclaw:refs/notes/nemoclaw']);
  return (await git.raw(['rev-parse', '--verify', `${FETCHED}^{commit}`])).trim();
}

/** Does HEAD descend from (or equal) BASE? Unknown objects count as "no" (fail closed). */
export async function descendsFrom(root: string, base: string, head: string): Promise<boolean> {
  if (base === head) return true;
  return (await gitCode(sourcePaths(root).mirror, ['merge-base', '--is-ancestor', base, head])).code === 0;
}

/** Check out COMMIT (already verified) into the mirror's worktree; returns the worktree path. */
export async function checkoutVerified(root: string, commit: string): Promise<string> {
  const { mirror, tree } = sourcePaths(root);
  const git = gitAt(mirror);
  if (!existsSync(tree)) {
    await git.raw(['worktree', 'prune']);
    await git.raw(['worktree', 'add', '--quiet', '--detach', '--force', tree, commit]);
  } else {
    const wt = gitAt(tree);
    await wt.raw(['checkout', '--quiet', '--force', '--detach', commit]);
    // Nothing from an earlier commit (or a hand edit) may leak into the compile.
    await wt.raw(['clean', '--quiet', '-ffdx']);
  }
  return tree;
}

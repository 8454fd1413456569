// The git side of the loop: fetch a ref into a bare mirror in the state directory (nothing when
// the remote has not moved), check the new head descends from the last applied commit, and check
// a verified commit out into the mirror's worktree for the compiler. Nothing here touches a
// user's working tree.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { gitAt, gitCode } from '../util/git.js';
import { sourcePaths } from '../state/source.js';

const FETCHED = 'refs/nemoclaw/fetched';
const NOTES = 'refs/notes/nemoclaw';

export interface Fetched {
  /** The fetched head commit (a tag peeled). */
  commit: string;
  /** Object id of refs/notes/nemoclaw in the mirror, null when the source has none. */
  notes: string | null;
  /** False when the remote's refs had not moved and nothing was downloaded. */
  downloaded: boolean;
}

/** The ref git's fetch would pick for a short name (git-rev-parse(1) "SPECIFYING REVISIONS" order). */
export function pickRemoteRef(advertised: ReadonlyMap<string, string>, ref: string): string | undefined {
  const candidates = ref === 'HEAD' || ref.startsWith('refs/') ? [ref] : [`refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const c of candidates) if (advertised.has(c)) return c;
  return undefined;
}

/** `git ls-remote` output: ref name → object id (peeled `^{}` lines dropped). */
function parseLsRemote(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [oid, name] = line.split('\t');
    if (oid && name && !name.endsWith('^{}')) m.set(name, oid);
  }
  return m;
}

/** What the mirror holds: FETCHED (object id and peeled commit) and the notes ref. */
async function mirrorRefs(mirror: string): Promise<{ fetched: string | null; commit: string | null; notes: string | null }> {
  const out = await gitAt(mirror).raw(['for-each-ref', '--format=%(refname) %(objectname) %(*objectname)', FETCHED, NOTES]);
  const refs = new Map(
    out
      .split('\n')
      .map((l) => l.split(' ') as [string, string, string?])
      .map(([n, o, p]) => [n, { oid: o, peeled: p || o }]),
  );
  return { fetched: refs.get(FETCHED)?.oid ?? null, commit: refs.get(FETCHED)?.peeled ?? null, notes: refs.get(NOTES)?.oid ?? null };
}

/**
 * Fetch REF (and the signed statements in refs/notes/nemoclaw) from URL into the mirror. A no-op
 * tick asks the remote what its refs point at (`ls-remote`, one round trip) and downloads nothing
 * when both are where the mirror has them. Throws on network or auth errors.
 */
export async function fetchSource(root: string, url: string, ref: string, timeoutMs = 120_000): Promise<Fetched> {
  const { mirror } = sourcePaths(root);
  if (!existsSync(mirror)) {
    mkdirSync(dirname(mirror), { recursive: true, mode: 0o700 });
    await gitAt(dirname(mirror)).raw(['init', '--quiet', '--bare', mirror]);
  }
  const git = gitAt(mirror, { timeoutMs });
  // `--` keeps a URL that starts with "-" from being read as an option.
  const [remote, local] = await Promise.all([git.raw(['ls-remote', '--', url, ref, NOTES]).then(parseLsRemote), mirrorRefs(mirror)]);
  const name = pickRemoteRef(remote, ref);
  const remoteNotes = remote.get(NOTES) ?? null;
  if (name && local.commit && remote.get(name) === local.fetched && (remoteNotes === null || remoteNotes === local.notes))
    return { commit: local.commit, notes: local.notes, downloaded: false };
  // The advertised name (not the short one) so a later ref of the same short name cannot win.
  const specs = [`+${name ?? ref}:${FETCHED}`];
  // Signed statements (nemoclaw sign) travel as notes. A repository without any is not an error
  // here: a source that requires one refuses the commit (SignatureMissing) when it verifies.
  if (remoteNotes) specs.push(`+${NOTES}:${NOTES}`);
  await git.raw(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--', url, ...specs]);
  const now = await mirrorRefs(mirror);
  if (!now.commit) throw new Error(`${ref} was fetched but is not in the mirror`);
  return { commit: now.commit, notes: now.notes, downloaded: true };
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
    // One `status` tells whether the tree already is exactly COMMIT (a no-op tick): at that
    // commit, nothing modified, untracked or ignored. Anything else is checked out afresh.
    const st = await wt.raw(['status', '--porcelain=v2', '--branch', '--ignored', '--untracked-files=all']);
    const lines = st.split('\n').filter((l) => l && !l.startsWith('# '));
    if (st.includes(`# branch.oid ${commit}\n`) && lines.length === 0) return tree;
    await wt.raw(['checkout', '--quiet', '--force', '--detach', commit]);
    // Nothing from an earlier commit (or a hand edit) may leak into the compile.
    await wt.raw(['clean', '--quiet', '-ffdx']);
  }
  return tree;
}

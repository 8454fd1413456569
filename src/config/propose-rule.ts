// Approvals on a host that follows a git repository: the rule cannot go into the mirror (the next
// tick would replace it), so it goes to the source remote as a branch for review. The edit is
// made in a throwaway repository in a temp directory: never the mirror, never a user's tree.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitAt, gitCode } from '../util/git.js';
import { UserError } from '../util/errors.js';
import { addRuleToConfig, approvalMessage, type ApprovedRequest, type PersistedRule } from './add-rule.js';

export interface ProposeTarget {
  /** The source remote (URL or absolute path) and the ref the host follows. */
  url: string;
  ref: string;
  /** Config file inside the repository. */
  path: string;
}

export interface Proposal {
  branch: string;
  /** Commit pushed as the branch head, and the fetched head of REF it is based on. */
  commit: string;
  base: string;
  rule: PersistedRule;
}

/** nemoclaw/approval-<sandbox>-<id>; refused when git would not accept it as a branch name. */
export async function proposalBranch(dir: string, sandbox: string, id: string): Promise<string> {
  const branch = `nemoclaw/approval-${sandbox}-${id}`;
  if ((await gitCode(dir, ['check-ref-format', '--branch', branch])).code !== 0)
    throw new UserError(`cannot name a branch after approval ${id} of ${sandbox}: "${branch}" is not a valid branch name`);
  return branch;
}

/** Fetch REF, add the approval's rule to PATH (minimal edit), commit naming the approver, push the branch. */
export async function proposeApproval(t: ProposeTarget, a: ApprovedRequest, actor: string, reason: string | undefined): Promise<Proposal> {
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-propose-'));
  try {
    const git = gitAt(dir, { timeoutMs: 120_000 });
    await git.raw(['init', '--quiet']);
    const branch = await proposalBranch(dir, a.sandbox, a.id);
    // `--` keeps a URL that starts with "-" from being read as an option.
    await git.raw(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--', t.url, t.ref]);
    const base = (await git.raw(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).trim();
    await git.raw(['checkout', '--quiet', '--detach', base]);
    const file = join(dir, t.path);
    let src: string;
    try {
      src = readFileSync(file, 'utf8');
    } catch {
      throw new UserError(`${t.path} is not in ${t.ref} (${base.slice(0, 12)}) of the followed repository`);
    }
    const r = addRuleToConfig(`${t.path}@${base.slice(0, 12)}`, src, a.sandbox, a);
    writeFileSync(file, r.text);
    // A host account often has no git identity; the approver is named in the message either way.
    if ((await gitCode(dir, ['config', 'user.name'])).code !== 0) await git.addConfig('user.name', actor);
    if ((await gitCode(dir, ['config', 'user.email'])).code !== 0) await git.addConfig('user.email', `${actor}@${hostname()}`);
    await git.add(t.path);
    await git.commit(approvalMessage(a, r.rule, actor, reason), [t.path]);
    const commit = (await git.raw(['rev-parse', 'HEAD'])).trim();
    // No force: an existing branch of the same name (an earlier proposal) is left to its reviewers.
    const pushed = await gitCode(dir, ['push', '--quiet', '--porcelain', '--', t.url, `HEAD:refs/heads/${branch}`], { timeoutMs: 120_000 });
    if (pushed.code !== 0) {
      const why = /rejected|already exists|non-fast-forward/.test(pushed.stderr + pushed.stdout)
        ? `the branch ${branch} already exists there (review or delete it, then approve again)`
        : (pushed.stderr.split('\n').find((l) => l.trim()) ?? 'unknown error').trim();
      throw new UserError(`could not push ${branch}: ${why}`);
    }
    return { branch, commit, base, rule: r.rule };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

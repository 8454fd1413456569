// The one way nemoclaw talks to git: simple-git over the git binary. Every caller goes through
// here so timeouts, the environment and the handful of raw commands live in one place.
import { simpleGit, type SimpleGit } from 'simple-git';

export interface GitOptions {
  /** `-c key=value` settings for every command of this instance. */
  config?: string[];
  /** Extra environment (e.g. GNUPGHOME); the rest of the process environment is kept. */
  env?: Record<string, string>;
  /** Kill a command that makes no progress for this long (network fetches). */
  timeoutMs?: number;
}

/**
 * simple-git refuses an explicit environment that carries variables able to run programs
 * (GIT_*, EDITOR, PAGER, ...) and drops ambient ones; pass the rest through unchanged.
 */
const GUARDED = /^(git_|editor$|pager$|prefix$|visual$|ssh_askpass$)/i;

export function gitAt(dir: string, o: GitOptions = {}): SimpleGit {
  const own = { ...o.env, GIT_TERMINAL_PROMPT: '0' };
  const g = simpleGit({
    baseDir: dir,
    config: o.config ?? [],
    timeout: { block: o.timeoutMs ?? 60_000 },
    allowEnvironment: Object.keys(own),
  });
  const ambient = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GUARDED.test(k)));
  // Never prompt for credentials on a timer: fail, record, retry.
  return g.env({ ...ambient, ...own });
}

/** The commit checked out at DIR, or null outside a repository (or an unborn branch). */
export async function headCommit(dir: string): Promise<string | null> {
  try {
    return (await gitAt(dir, { timeoutMs: 10_000 }).raw(['rev-parse', '--verify', '--quiet', 'HEAD'])).trim() || null;
  } catch {
    return null;
  }
}

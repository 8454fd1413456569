// The one way nemoclaw talks to git: simple-git over the git binary. Every caller goes through
// here so timeouts, the environment, exit codes and the handful of raw commands live in one place.
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

type ExitResult = { code: number; stderr: string };

function make(dir: string, o: GitOptions, onExit?: (r: ExitResult) => void): SimpleGit {
  const own = { ...o.env, GIT_TERMINAL_PROMPT: '0' };
  const g = simpleGit({
    baseDir: dir,
    config: o.config ?? [],
    timeout: { block: o.timeoutMs ?? 60_000 },
    allowEnvironment: Object.keys(own),
    errors: (error, result) => {
      if (error instanceof Error) return error;
      const stderr = Buffer.concat(result.stdErr).toString('utf8');
      if (onExit) {
        onExit({ code: result.exitCode, stderr });
        return undefined;
      }
      // Every non-zero exit is an error (fail closed: `verify-commit` of an unsigned commit exits
      // 1 with nothing on stderr, which simple-git would otherwise report as success).
      if (result.exitCode !== 0) return new Error(stderr.trim() || `git exited with code ${result.exitCode}`);
      return undefined;
    },
  });
  const ambient = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GUARDED.test(k)));
  // Never prompt for credentials on a timer: fail, record, retry.
  return g.env({ ...ambient, ...own });
}

export function gitAt(dir: string, o: GitOptions = {}): SimpleGit {
  return make(dir, o);
}

/** Run a command whose exit code is the answer (merge-base --is-ancestor, verify-commit). */
export async function gitCode(dir: string, args: string[], o: GitOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let exit: ExitResult = { code: 0, stderr: '' };
  const g = make(dir, o, (r) => {
    exit = r;
  });
  try {
    const stdout = await g.raw(args);
    return { ...exit, stdout };
  } catch (e) {
    // simple-git rejects a non-zero exit that wrote to stderr before the plugin sees it: any
    // rejection is a failure (callers treat every non-zero code as "no").
    const code = (exit as ExitResult).code;
    return { code: code === 0 ? 1 : code, stderr: (e as Error).message, stdout: '' };
  }
}

/**
 * The commit checked out at DIR, or null outside a repository (or an unborn branch), as git says.
 * Callers use headCommit (src/util/git-head.ts), which reads .git itself and comes here only for
 * the layouts it does not know.
 */
export async function headCommitFromGit(dir: string): Promise<string | null> {
  try {
    return (await gitAt(dir, { timeoutMs: 10_000 }).raw(['rev-parse', '--verify', '--quiet', 'HEAD'])).trim() || null;
  } catch {
    return null;
  }
}

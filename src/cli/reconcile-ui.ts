// Shared bits of the reconciler's commands: the state store, confirmation, lock, progress.
import { UserError } from '../util/errors.js';
import { acquireLock, type Lock } from '../reconciler/lock.js';
import { StateStore } from '../state/store.js';
import { describeSource, readSource, sameSource, writeSource, type Source } from '../state/source.js';
import { parseDuration } from '../util/duration.js';
import { DEFAULT_SETTLE_MS } from '../reconciler/health.js';
import { resolveStateDir } from '../state/paths.js';
import { dim, yellow } from './views/style.js';

export function openStore(stateDir?: string): StateStore {
  return new StateStore(resolveStateDir(stateDir));
}

export async function lockState(store: StateStore, what: string, wait: boolean): Promise<Lock> {
  store.ensureRoot();
  const err = process.stderr;
  const lock = await acquireLock(store.layout.lockFile, what, {
    wait,
    onWait: (h) => err.write(yellow(`waiting for the lock held by nemoclaw ${h.command} (pid ${h.pid})...`, err) + '\n'),
  });
  const release = () => lock.release();
  process.once('exit', release);
  return lock;
}

/** Asks on a terminal; without one, --auto-approve (or --yes) is required. */
export async function confirm(question: string, autoApprove: boolean, flag = '--auto-approve'): Promise<void> {
  if (autoApprove) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UserError(`not on a terminal: pass ${flag} to proceed without a question`, [], 1);
  }
  const { createInterface } = await import('node:readline/promises'); // only on a terminal
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} Only "yes" is accepted: `)).trim();
    if (answer !== 'yes') throw new UserError('cancelled', [], 1);
  } finally {
    rl.close();
  }
}

export const progress = (line: string): void => {
  process.stderr.write(dim(line, process.stderr) + '\n');
};

/**
 * A state directory belongs to one source. Applying another file (or following another
 * repository) with it would delete the first source's sandboxes, so it is refused unless the
 * operator says --adopt. A directory with no record yet is claimed by its first user.
 */
export function claimSource(root: string, want: Source, adopt: boolean): void {
  const have = readSource(root);
  if (have && sameSource(have, want)) return;
  if (have && !adopt) {
    throw new UserError(
      `the state directory ${root} follows ${describeSource(have)}, not ${describeSource(want)}.\n` +
        `Applying another source here would delete its sandboxes. To move this host to the new source, ` +
        `run the same command with --adopt; to run both, give the new one its own --state-dir.`,
      [],
      1,
    );
  }
  writeSource(root, want);
}

/** --settle DURATION, NEMOCLAW_SETTLE, or the default. */
export function settleOption(flag: string | number | undefined): number {
  // cac hands over `--settle 0` (any all-digit value) as a number.
  const raw = flag === undefined ? process.env.NEMOCLAW_SETTLE : String(flag);
  if (raw === undefined) return DEFAULT_SETTLE_MS;
  if (raw.trim() === '0') return 0;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UserError(`--settle: "${raw}" is not a duration (e.g. 3s, 500ms)`, [], 2);
  return ms;
}

// Shared bits of the reconciler's commands: the state store, confirmation, lock, progress.
import { createInterface } from 'node:readline/promises';
import { UserError } from '../util/errors.js';
import { acquireLock, type Lock } from '../reconciler/lock.js';
import { StateStore } from '../state/store.js';
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

// Where the reconciler and the supervisor keep their files inside the one state directory
// (src/state/paths.ts resolves the directory; this adds the reconciler's part of the layout).
import { join } from 'node:path';
import { stateLayout, type StateLayout } from './paths.js';

export interface ReconcilerLayout extends StateLayout {
  inventory: string;
  /** Content-addressed blueprint store: blueprints/<hex of digest>/<file>. */
  blueprintDir(digest: string): string;
  generationsDir: string;
  generationFile(n: number): string;
  lockFile: string;
  journalFile: string;
  supervisorDir: string;
  /** The supervisor's memory across daemon restarts: name → digest that should run, and pids it started. */
  supervisorDesired: string;
  supervisorPids: string;
  logFile(name: string): string;
}

export function reconcilerLayout(root: string): ReconcilerLayout {
  const base = stateLayout(root);
  return {
    ...base,
    inventory: join(root, 'inventory.json'),
    blueprintDir: (digest) => join(root, 'blueprints', digest.replace(/^sha256:/, '')),
    generationsDir: join(root, 'generations'),
    generationFile: (n) => join(root, 'generations', `${String(n).padStart(6, '0')}.json`),
    lockFile: join(root, 'reconciler', 'lock'),
    journalFile: join(root, 'reconciler', 'journal.json'),
    supervisorDir: join(root, 'supervisor'),
    supervisorDesired: join(root, 'supervisor', 'desired.json'),
    supervisorPids: join(root, 'supervisor', 'pids.json'),
    logFile: (name) => join(base.sandboxDir(name), 'logs', 'agent.log'),
  };
}

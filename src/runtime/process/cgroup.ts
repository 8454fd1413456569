// Per-sandbox cgroups for the pids and memory limits. The host creates them and sets the
// limits; the init joins them first thing (it cannot after entering a user namespace), and
// the host removes them once the sandbox is gone. Unavailable (unprivileged, no delegation):
// the init falls back to RLIMIT_NPROC for pids and memory is reported as not enforced.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT, type CgroupFacts } from './host.js';

export interface SandboxCgroups {
  pids?: string;
  memory?: string;
  /** Why a controller is missing, for the summary; empty when both are in place. */
  notes: string[];
  /** How many times the kernel's OOM killer fired in the memory cgroup (0 without one). */
  oomKills(): number;
  remove(): Promise<void>;
}

/**
 * The `oom_kill N` line of memory.events (v2) or memory.oom_control (v1): counted by the kernel
 * for this cgroup alone, so a kill is attributed to the memory limit and not guessed from a 137.
 */
export function readOomKills(memoryDir: string | undefined): number {
  if (!memoryDir) return 0;
  for (const file of ['memory.events', 'memory.oom_control']) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(memoryDir, file), 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      /* the other version's file */
    }
  }
  return 0;
}

function tryCreate(dir: string, limits: [file: string, value: string][], notes: string[], what: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of limits) writeFileSync(join(dir, file), value);
    return dir;
  } catch (e) {
    notes.push(`${what} cgroup unavailable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    try {
      rmdirSync(dir);
    } catch {
      /* never created */
    }
    return undefined;
  }
}

/** Enables controllers for children of DIR (cgroup v2 only delegates what the parent enables). */
function enableControllers(dir: string, controllers: string[]): void {
  const have = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
  const missing = controllers.filter((c) => !have.includes(c));
  if (missing.length) writeFileSync(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
}

export function createCgroups(
  name: string,
  limits: { pids: number; memory_bytes: number },
  facts: CgroupFacts,
  root = CGROUP_ROOT,
): SandboxCgroups {
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  const notes: string[] = [];
  const out: { pids?: string; memory?: string } = {};
  if (!facts.writable) {
    notes.push(`no writable cgroup hierarchy (${facts.version})`);
  } else if (facts.version === 'v1') {
    if (facts.pids) out.pids = tryCreate(join(root, 'pids', 'nemoclaw', id), [['pids.max', String(limits.pids)]], notes, 'pids');
    if (facts.memory) {
      out.memory = tryCreate(
        join(root, 'memory', 'nemoclaw', id),
        [['memory.limit_in_bytes', String(limits.memory_bytes)]],
        notes,
        'memory',
      );
    }
  } else if (facts.version === 'v2') {
    const parent = join(root, 'nemoclaw');
    try {
      mkdirSync(parent, { recursive: true });
      enableControllers(root, ['pids', 'memory']);
      enableControllers(parent, ['pids', 'memory']);
      const dir = tryCreate(
        join(parent, id),
        [
          ['pids.max', String(limits.pids)],
          ['memory.max', String(limits.memory_bytes)],
        ],
        notes,
        'pids/memory',
      );
      out.pids = out.memory = dir;
    } catch (e) {
      notes.push(`cgroup v2 delegation failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const dirs = [...new Set([out.pids, out.memory].filter((d): d is string => !!d))];
  return {
    ...out,
    notes,
    oomKills: () => readOomKills(out.memory),
    async remove() {
      // Processes of a dead pid namespace leave the cgroup a moment after pid 1 exits.
      for (const dir of dirs) {
        for (let i = 0; i < 50 && existsSync(dir); i++) {
          try {
            rmdirSync(dir);
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    },
  };
}

// Why a sandbox's agent stopped, in words: an out-of-memory kill is named as such (with the
// limit), not left as a bare 137. Shared by `run`, the supervisor (status, logs) and the docker driver.

/** 512 MiB, 2 GiB, 1.5 GiB: the limit as the config writes it. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

export interface ExitFacts {
  /** Exit code; 128+N when killed by signal N. */
  code: number;
  /** The kernel's OOM killer fired in the sandbox's memory cgroup (or Docker's State.OOMKilled). */
  oomKilled: boolean;
  memoryLimitBytes: number;
}

const SIGKILL_CODE = 128 + 9;

export function describeExit(e: ExitFacts): string {
  const limit = formatBytes(e.memoryLimitBytes);
  if (e.oomKilled && e.code === SIGKILL_CODE) return `killed: memory limit ${limit} reached`;
  // The OOM killer took a child; the agent itself exited afterwards.
  if (e.oomKilled) return `exited with code ${e.code} after a process was killed at the memory limit ${limit}`;
  return `exited with code ${e.code}`;
}

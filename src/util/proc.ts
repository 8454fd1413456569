// Facts about live processes read from /proc.
import { readFileSync } from 'node:fs';

/** /proc/PID/stat field 22 (start time in ticks): tells a live process from a reused pid. */
export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

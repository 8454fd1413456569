// Kept data of deleted sandboxes under an explicit retention setting: by default (off) it is kept
// until a human runs `destroy --purge`; with a retention, a tick removes what is older than it.
// The age counts from the delete (the time in the directory's name, written when it was moved aside).
import { rmSync } from 'node:fs';
import { listRetained, type RetainedData } from '../state/source.js';

export interface KeptData extends RetainedData {
  age_ms: number;
  /** When a tick removes it; null while retention is off. */
  expires_at: string | null;
}

/** Every kept directory with its age and expiry under RETENTION_MS (null: off). */
export function keptData(root: string, retentionMs: number | null, now: Date): KeptData[] {
  return listRetained(root).map((r) => {
    const deleted = Date.parse(r.deleted_at);
    return {
      ...r,
      age_ms: Math.max(0, now.getTime() - deleted),
      expires_at: retentionMs === null ? null : new Date(deleted + retentionMs).toISOString(),
    };
  });
}

/** Remove kept data past its expiry; returns what was removed. Nothing when retention is off. */
export function pruneKeptData(root: string, retentionMs: number | null, now: Date): KeptData[] {
  if (retentionMs === null) return [];
  const expired = keptData(root, retentionMs, now).filter((k) => Date.parse(k.expires_at!) <= now.getTime());
  for (const k of expired) rmSync(k.path, { recursive: true, force: true });
  return expired;
}

/** `30d`-style rendering of an age for status lines. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

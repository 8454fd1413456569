// Field size caps for audit records. A sandbox chooses the paths, host names and (through them)
// the details it is refused for; uncapped, one denial of a 16 KiB path costs 16 KiB of history.
// Every string in a record is capped (header-like fields a future kind may add included): the
// first N characters are kept and a marker with the original length is appended, so a reader
// knows the value was cut and how long it was.
import type { AuditEntry } from './record.js';

/** Characters kept per field; anything not named gets DEFAULT_CAP. */
export const FIELD_CAPS: Readonly<Record<string, number>> = { path: 1024, detail: 512, hostname: 256 };
export const DEFAULT_CAP = 256;

export function truncated(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[truncated: ${value.length} chars]`;
}

function capValue(v: unknown, key: string): unknown {
  if (typeof v === 'string') return truncated(v, FIELD_CAPS[key] ?? DEFAULT_CAP);
  if (Array.isArray(v)) return v.map((x) => capValue(x, key));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = capValue(x, k);
    return out;
  }
  return v;
}

/** A copy of the entry with every string field within its cap. */
export function capEntry(entry: AuditEntry): AuditEntry {
  return capValue(entry, '') as AuditEntry;
}

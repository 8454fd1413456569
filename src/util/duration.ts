// Durations on the command line: 90s, 15m, 1h, 2d (or plain milliseconds).
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  const v = Math.round(Number(m[1]) * mult);
  return v > 0 && Number.isFinite(v) ? v : undefined; // a TTL that rounds to 0 ms is no TTL
}

/** --since: an ISO time, or a duration meaning "that long ago". */
export function parseSince(s: string, now = Date.now()): number | undefined {
  const d = parseDuration(s);
  if (d !== undefined && /[a-z]$/.test(s.trim())) return now - d;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

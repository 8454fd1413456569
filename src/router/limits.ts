// Per-sandbox limits on model calls: calls started per minute (sliding window), calls in
// progress, tokens per UTC day. Plain data and functions; the router owns one table.
import type { InferenceRoute } from '../compiler/artifacts.js';

export interface SandboxMeter {
  active: number;
  /** Start times (ms) within the last minute, oldest first. */
  starts: number[];
  /** UTC day (YYYY-MM-DD) `tokens` counts. */
  day: string;
  tokens: number;
}

export type LimitHit = { reason: 'rate_limited' | 'concurrency_limited' | 'budget_exhausted'; detail: string; retryAfterS: number };

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function newMeter(now: number): SandboxMeter {
  return { active: 0, starts: [], day: utcDay(now), tokens: 0 };
}

/** Check every limit; on success the call is counted as started (call `finish` when it ends). */
export function admit(m: SandboxMeter, limits: InferenceRoute['limits'], now: number): LimitHit | undefined {
  rollDay(m, now);
  while (m.starts.length > 0 && m.starts[0]! <= now - 60_000) m.starts.shift();
  if (limits.tokens_per_day !== null && m.tokens >= limits.tokens_per_day) {
    const midnight = Date.parse(`${m.day}T00:00:00Z`) + 86_400_000;
    return {
      reason: 'budget_exhausted',
      detail: `${m.tokens} tokens used today (UTC); the budget is ${limits.tokens_per_day} per day`,
      retryAfterS: Math.ceil((midnight - now) / 1000),
    };
  }
  if (limits.requests_per_minute !== null && m.starts.length >= limits.requests_per_minute) {
    return {
      reason: 'rate_limited',
      detail: `more than ${limits.requests_per_minute} model calls in the last minute`,
      retryAfterS: Math.max(1, Math.ceil((m.starts[0]! + 60_000 - now) / 1000)),
    };
  }
  if (limits.concurrent !== null && m.active >= limits.concurrent) {
    return {
      reason: 'concurrency_limited',
      detail: `${m.active} model calls already in progress; the limit is ${limits.concurrent}`,
      retryAfterS: 1,
    };
  }
  m.starts.push(now);
  m.active++;
  return undefined;
}

export function finish(m: SandboxMeter, tokens: number, now: number): void {
  if (m.active > 0) m.active--;
  addTokens(m, tokens, now);
}

export function addTokens(m: SandboxMeter, tokens: number, now: number): void {
  rollDay(m, now);
  m.tokens += tokens;
}

function rollDay(m: SandboxMeter, now: number): void {
  const d = utcDay(now);
  if (d !== m.day) {
    m.day = d;
    m.tokens = 0;
  }
}

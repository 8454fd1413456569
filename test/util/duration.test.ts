// Durations on the command line (--ttl, --since, gateway timeouts): pure, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSince } from '../../src/util/duration.js';

describe('parseDuration', () => {
  const rows: [string, number | undefined][] = [
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['250ms', 250],
    ['250', 250], // plain milliseconds
    ['1.5h', 5_400_000],
    ['0.0004s', undefined], // rounds to 0 ms: refused, not a zero TTL
    [' 10s ', 10_000],
    ['0s', undefined],
    ['0', undefined],
    ['-5s', undefined],
    ['5 s', undefined],
    ['5S', undefined],
    ['5w', undefined],
    ['s', undefined],
    ['', undefined],
    ['1e3', undefined],
    ['Infinity', undefined],
    ['9'.repeat(400) + 'd', undefined],
  ];
  for (const [input, want] of rows) {
    it(`${JSON.stringify(input)} → ${want ?? 'refused'}`, () => {
      assert.equal(parseDuration(input), want);
    });
  }
});

describe('parseSince', () => {
  const now = Date.parse('2026-01-02T03:04:05Z');
  const rows: [string, number | undefined][] = [
    ['1h', now - 3_600_000],
    ['90s', now - 90_000],
    ['2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:00Z')],
    ['2026-01-01', Date.parse('2026-01-01')],
    ['yesterday', undefined],
    ['', undefined],
  ];
  for (const [input, want] of rows) {
    it(`${JSON.stringify(input)} → ${want === undefined ? 'refused' : new Date(want).toISOString()}`, () => {
      assert.equal(parseSince(input, now), want);
    });
  }
});

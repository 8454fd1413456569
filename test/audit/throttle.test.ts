// Issue 14, break 3: one sandbox must not be able to wipe the audit history. Real files in a temp
// dir; the writer takes explicit times, so windows open and close without waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, readAudit } from '../../src/audit/log.js';
import * as audit from '../../src/audit/record.js';
import { runCli } from '../helpers/cli.js';

const T0 = 1_800_000_000_000;
const dirOf = () => mkdtempSync(join(tmpdir(), 'nemoclaw-audit-'));

function denial(sandbox: string, host: string, path: string): audit.AuditEntry {
  return audit.denied('http', {
    sandbox,
    dst: { hostname: host, port: 80 },
    http: { method: 'GET', path },
    reason: 'path_not_allowed',
    detail: `no rule allows GET ${path}`,
    policy_version: 'sha256:' + '0'.repeat(64),
  });
}

test('long fields are cut with a marker that gives the original length', () => {
  const dir = dirOf();
  try {
    const log = new AuditLog({ dir });
    const path = '/' + 'a'.repeat(16 * 1024 - 1);
    log.write(denial('s', 'h'.repeat(3000) + '.example', path), T0);
    log.close();
    const [r] = readAudit(dir);
    assert.ok(r && r.activity === 'deny');
    assert.ok(r.http!.path.endsWith(`…[truncated: ${16 * 1024} chars]`), r.http!.path.slice(-60));
    assert.equal(r.http!.path.length, 1024 + `…[truncated: ${16 * 1024} chars]`.length);
    assert.match(r.detail, /…\[truncated: \d+ chars\]$/);
    assert.match(r.dst!.hostname, /…\[truncated: 3008 chars\]$/);
    assert.ok(statSync(join(dir, 'audit.jsonl')).size < 3000, 'one 16 KiB denial costs under 3 KB');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('repeated denials become one record with a count and first/last seen; other keys stay apart', () => {
  const dir = dirOf();
  try {
    const log = new AuditLog({ dir, throttle: { windowMs: 10_000 } });
    log.write(audit.policyRegistered('good', 'v1'), T0 - 1);
    for (let i = 0; i < 29_000; i++) log.write(denial('evil', 'blocked.example', `/x/${i}`), T0 + Math.floor(i / 6));
    log.write(denial('good', 'blocked.example', '/y'), T0 + 1);
    // A repeat after the window: the window's summary goes out first, and a new window opens.
    log.write(denial('evil', 'blocked.example', '/late'), T0 + 20_000);
    log.close();
    const all = readAudit(dir);
    const evil = all.filter((r) => r.activity === 'deny' && r.sandbox === 'evil');
    assert.equal(evil.length, 3, JSON.stringify(evil.map((r) => ('count' in r ? r.count : 1))));
    const [first, summary, late] = evil as audit.DenyRecord[];
    assert.equal(first!.count, undefined, 'the first denial is written on its own, at once');
    assert.equal(first!.http?.path, '/x/0');
    assert.equal(summary!.count, 28_999);
    assert.equal(summary!.first_seen, T0);
    assert.equal(summary!.last_seen, T0 + 4833);
    assert.equal(summary!.http?.path, '/x/1', 'the summary shows the first repeat');
    assert.equal(late!.http?.path, '/late');
    assert.equal(late!.count, undefined);
    assert.equal(all.filter((r) => r.activity === 'deny' && r.sandbox === 'good').length, 1, 'another sandbox has its own key');
    assert.ok(all.some((r) => r.activity === 'register' && r.sandbox === 'good'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const LONG = '/' + 'p'.repeat(16_000);

/** The attack from the review: many distinct denials with long paths, as fast as possible. */
function flood(log: AuditLog, n: number): void {
  for (let i = 0; i < n; i++) {
    log.write(denial('evil', `h${i}.example`, LONG), T0 + 1000 + (i % 50_000));
    if (i % 100 === 99) log.flushSync(); // one write per event-loop turn, as in the daemon
  }
}

test('one sandbox cannot evict the records of others: its budget holds it, and it is told how much it lost', () => {
  const opts = { maxBytes: 256 * 1024, keep: 2 };
  // Baseline: without a budget the same flood rotates the other sandbox's record away.
  const base = dirOf();
  try {
    const log = new AuditLog({ dir: base, ...opts, throttle: { budgetBytes: Number.MAX_SAFE_INTEGER } });
    log.write(audit.policyRegistered('good', 'v1'), T0);
    log.write(denial('good', 'other.example', '/'), T0);
    flood(log, 10_000);
    log.close();
    assert.equal(readAudit(base, { sandbox: 'good' }).length, 0, 'baseline: the flood evicted everything older');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }

  const dir = dirOf();
  try {
    const log = new AuditLog({ dir, ...opts, throttle: { budgetBytes: 64 * 1024, budgetWindowMs: 60_000 } });
    log.write(audit.policyRegistered('good', 'v1'), T0);
    log.write(denial('good', 'other.example', '/'), T0);
    flood(log, 10_000);
    log.write(denial('good', 'other.example', '/after'), T0 + 2000);
    log.close();
    const good = readAudit(dir, { sandbox: 'good' });
    assert.equal(good.length, 3, 'the other sandbox keeps every record, before and during the flood');
    const evil = readAudit(dir, { sandbox: 'evil' });
    const sup = evil.filter((r): r is audit.SuppressedRecord => r.activity === 'suppress');
    assert.equal(sup.length, 1);
    const written = evil.filter((r) => r.activity === 'deny').length;
    assert.ok(written > 0 && written < 200, `${written} denials written within the budget`);
    assert.equal(sup[0]!.count + written, 10_000, 'every denial is either written or counted');
    assert.ok(!readdirSync(dir).includes('audit.jsonl.2'), 'the flood did not rotate the log twice');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the budget is per window: the next window writes again, after the summary of the last', () => {
  const dir = dirOf();
  try {
    const log = new AuditLog({ dir, throttle: { budgetBytes: 4096, budgetWindowMs: 60_000, windowMs: 0 } });
    for (let i = 0; i < 100; i++) log.write(denial('evil', `h${i}.example`, '/'), T0 + i);
    log.write(denial('evil', 'next.example', '/'), T0 + 60_000);
    log.close();
    const evil = readAudit(dir, { sandbox: 'evil' });
    const supIndex = evil.findIndex((r) => r.activity === 'suppress');
    assert.ok(supIndex > 0);
    assert.equal(evil[supIndex + 1]?.activity, 'deny');
    assert.equal((evil[supIndex + 1] as audit.DenyRecord).dst?.hostname, 'next.example');
    assert.equal((evil[supIndex] as audit.SuppressedRecord).count + supIndex, 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nemoclaw audit shows how many denials an aggregated record stands for, and over what span', () => {
  const state = dirOf();
  try {
    const dir = join(state, 'gateway');
    mkdirSync(dir);
    const log = new AuditLog({ dir });
    for (let i = 0; i < 5; i++) log.write(denial('evil', 'blocked.example', `/x/${i}`), T0 + i * 1000);
    log.close();
    const r = runCli(['audit', '--state-dir', state]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(
      lines[1]!,
      /DENY +evil blocked\.example:80 GET \/x\/1 path_not_allowed ×4 2027-01-15T08:00:01\.000Z\.\.2027-01-15T08:00:04\.000Z$/,
    );
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

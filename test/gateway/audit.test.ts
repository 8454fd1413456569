import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, readAudit } from '../../src/audit/log.js';
import * as audit from '../../src/audit/record.js';
import { tempDir } from '../helpers/tmp.js';

test('audit log rotates by size, keeps N files, and reads back oldest first', (t) => {
  const dir = tempDir(t, 'nemoclaw-gw-');
  const log = new AuditLog({ dir, maxBytes: 2000, keep: 3, throttle: { windowMs: 0 } }); // no aggregation: every line counts
  for (let i = 0; i < 60; i++) {
    const sandbox = i % 3 ? 'a' : 'b';
    log.write(
      i % 2
        ? audit.denied('network', { sandbox, reason: 'no_rule', detail: `n${i}` })
        : audit.policyReloaded(sandbox, `sha256:${'0'.repeat(64)}`, `n${i}`),
      1000 + i,
    );
    if (i % 5 === 4) log.flushSync();
  }
  log.close();
  assert.ok(existsSync(join(dir, 'audit.jsonl.1')) && existsSync(join(dir, 'audit.jsonl.3')));
  assert.ok(!existsSync(join(dir, 'audit.jsonl.4')), 'older files beyond keep are dropped');
  const all = readAudit(dir);
  const n = all.map((r) => Number(String('detail' in r ? r.detail : '').slice(1)));
  assert.deepEqual(
    n,
    [...n].sort((a, b) => a - b),
    'oldest first, no reordering',
  );
  assert.equal(n.at(-1), 59, 'nothing lost at close');
  assert.ok(readAudit(dir, { denied: true }).every((r) => r.action === 'denied'));
  const b = readAudit(dir, { sandbox: 'b' });
  assert.ok(b.length > 0 && b.every((r) => 'sandbox' in r && r.sandbox === 'b'));
  assert.ok(readAudit(dir, { since: 1050 }).every((r) => r.time >= 1050));
});

test('audit builders give each kind its OCSF class and leave absent fields out', () => {
  const dst = { hostname: 'example.com', port: 443 };
  const entries: [audit.AuditEntry, Record<string, unknown>][] = [
    [
      audit.denied('http', {
        sandbox: 's',
        dst,
        http: { method: 'GET', path: '/' },
        reason: 'path_not_allowed',
        detail: 'd',
        approval_id: undefined,
      }),
      { class_uid: 4002, class_name: 'HTTP Activity', activity: 'deny', action: 'denied' },
    ],
    [audit.denied('network', { sandbox: 's', reason: 'connection_limit', detail: 'd' }), { class_uid: 4001, activity: 'deny' }],
    [
      audit.tunnelClosed({
        sandbox: 's',
        dst,
        rule: 'r',
        policy_version: 'v',
        bytes_out: 1,
        bytes_in: 2,
        duration_ms: 3,
        relay: 'node',
        reason: undefined,
      }),
      { class_uid: 4001, class_name: 'Network Activity', activity: 'close', action: 'allowed' },
    ],
    [
      audit.httpRequest({
        sandbox: 's',
        dst,
        http: { method: 'GET', path: '/', status: 200 },
        rule: 'r',
        policy_version: 'v',
        bytes_out: 1,
        bytes_in: 2,
        duration_ms: 3,
      }),
      { class_uid: 4002, activity: 'request', action: 'allowed' },
    ],
    [
      audit.approval({ sandbox: 's', dst, approval_id: 'a1', actor: { user: 'ops' }, detail: 'approved', expires_at: undefined }),
      { class_uid: 6003, class_name: 'API Activity', activity: 'approval', action: 'info' },
    ],
    [audit.policyRegistered('s', 'v'), { activity: 'register', action: 'info', sandbox: 's', policy_version: 'v' }],
    [audit.policyRefused('bad'), { activity: 'register', action: 'denied', detail: 'bad' }],
    [audit.policyUnregistered('s'), { activity: 'unregister', sandbox: 's' }],
    [audit.lifecycle('stop', 'bye'), { class_uid: 6003, activity: 'stop', action: 'info' }],
  ];
  for (const [entry, want] of entries) {
    for (const [k, v] of Object.entries(want)) assert.equal((entry as Record<string, unknown>)[k], v, `${JSON.stringify(entry)}: ${k}`);
    assert.ok(
      Object.values(entry).every((v) => v !== undefined),
      `${JSON.stringify(entry)} has an undefined field`,
    );
  }
  // A misspelt field or a kind's fields under another kind do not compile (tsc checks these lines).
  // @ts-expect-error `detial` is not a field of a denial
  audit.denied('network', { sandbox: 's', reason: 'no_rule', detial: 'd' });
  // @ts-expect-error an approval names its actor
  audit.approval({ sandbox: 's', dst, approval_id: 'a1', detail: 'approved' });
  // @ts-expect-error only the approval events exist
  audit.approval({ sandbox: 's', dst, approval_id: 'a1', actor: { user: 'ops' }, detail: 'maybe' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, readAudit } from '../../src/gateway/audit.js';
import { tmpDir } from './helpers.js';

test('audit log rotates by size, keeps N files, and reads back oldest first', () => {
  const dir = tmpDir();
  const log = new AuditLog({ dir, maxBytes: 2000, keep: 3 });
  for (let i = 0; i < 60; i++) {
    log.write({
      class_uid: 4001,
      class_name: 'Network Activity',
      activity: 'deny',
      action: i % 2 ? 'denied' : 'allowed',
      sandbox: i % 3 ? 'a' : 'b',
      detail: `n${i}`,
      time: 1000 + i,
    });
    if (i % 5 === 4) log.flushSync();
  }
  log.close();
  assert.ok(existsSync(join(dir, 'audit.jsonl.1')) && existsSync(join(dir, 'audit.jsonl.3')));
  assert.ok(!existsSync(join(dir, 'audit.jsonl.4')), 'older files beyond keep are dropped');
  const all = readAudit(dir);
  const n = all.map((r) => Number(String(r.detail).slice(1)));
  assert.deepEqual(
    n,
    [...n].sort((a, b) => a - b),
    'oldest first, no reordering',
  );
  assert.equal(n.at(-1), 59, 'nothing lost at close');
  assert.ok(readAudit(dir, { denied: true }).every((r) => r.action === 'denied'));
  assert.ok(readAudit(dir, { sandbox: 'b' }).every((r) => r.sandbox === 'b'));
  assert.ok(readAudit(dir, { since: 1050 }).every((r) => r.time >= 1050));
});

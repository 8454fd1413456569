// Audit records shipped to syslog over a unix datagram socket the test binds (never /dev/log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, readAudit } from '../../src/audit/log.js';
import * as audit from '../../src/audit/record.js';
import { datagramSocket, libc, sockaddrUn, syslogTarget } from '../../src/audit/syslog.js';

function bindDatagram(path: string): { recv(): string | undefined; close(): void } {
  const c = libc();
  const fd = datagramSocket();
  const addr = sockaddrUn(path);
  assert.equal(c.bind(fd, addr, addr.length), 0, `bind ${path}`);
  const buf = Buffer.alloc(65536);
  return {
    recv: () => {
      const n = c.recv(fd, buf, buf.length, 0x40 /* MSG_DONTWAIT */);
      return n < 0 ? undefined : buf.subarray(0, n).toString('utf8');
    },
    close: () => c.close(fd),
  };
}

for (const format of ['rfc5424', 'rfc3164'] as const) {
  test(`every written record also goes to the syslog socket (${format})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-syslog-'));
    const sock = join(dir, 'log.sock');
    const rx = bindDatagram(sock);
    try {
      const log = new AuditLog({ dir, syslog: { path: sock, format } });
      log.write(audit.denied('network', { sandbox: 's1', dst: { hostname: 'x.example', port: 443 }, reason: 'no_rule', detail: 'd' }));
      log.write(audit.lifecycle('start', 'hello'));
      log.close();
      const msgs = [rx.recv(), rx.recv()];
      assert.equal(rx.recv(), undefined, 'one datagram per record');
      const header =
        format === 'rfc5424'
          ? /^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ nemoclaw-gateway \d+ audit - (\{.*\})$/
          : /^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ nemoclaw-gateway\[\d+\]: (\{.*\})$/;
      const [deny, start] = msgs.map((m) => header.exec(m ?? ''));
      assert.ok(deny && start, JSON.stringify(msgs));
      assert.equal(Number(deny[1]), 10 * 8 + 4, 'authpriv.warning for a denial');
      assert.equal(Number(start[1]), 10 * 8 + 6, 'authpriv.info otherwise');
      assert.deepEqual(JSON.parse(deny[2]!), readAudit(dir)[0], 'the same record as the file');
    } finally {
      rx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an absent syslog socket drops and counts; the file still gets everything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-syslog-'));
  try {
    const log = new AuditLog({ dir, syslog: { path: join(dir, 'nobody.sock'), format: 'rfc5424' } });
    log.write(audit.lifecycle('start', 'a'));
    log.flushSync();
    const h = log.health();
    assert.equal(h.syslog?.connected, false);
    assert.equal(h.syslog?.dropped, 1);
    assert.match(h.syslog?.error ?? '', /connect .*nobody\.sock: errno 2/);
    log.close();
    assert.equal(readAudit(dir).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('syslog targets: 1 is /dev/log, relative paths and unknown formats are refused', () => {
  assert.deepEqual(syslogTarget('1', undefined), { path: '/dev/log', format: 'rfc3164' });
  assert.equal(syslogTarget(undefined, undefined), undefined);
  assert.deepEqual(syslogTarget('/run/x.sock', 'rfc5424'), { path: '/run/x.sock', format: 'rfc5424' });
  assert.throws(() => syslogTarget('log.sock', undefined), /absolute/);
  assert.throws(() => syslogTarget('/dev/log', 'json'), /rfc3164 or rfc5424/);
});

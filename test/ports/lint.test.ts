// Lint rules for ports into the sandbox: a published port must be listened on, should stay on
// loopback, and one host port cannot be published twice (across sandboxes too).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectOne, lint, ofRule, yaml } from '../lint/helpers.js';

const sb = (name: string, listen: string, ports: string) => `
  ${name}:
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
    network: { listen: ${listen} }
    ports: ${ports}`;

test('ports: a loopback port that is listened on is clean', () => {
  const d = lint(yaml(`version: 1\nsandboxes:${sb('a', '[18789]', '[{ host: "127.0.0.1:18789", sandbox: 18789 }]')}`));
  assert.deepEqual(
    d.filter((x) => x.rule.startsWith('port-')),
    [],
  );
});

test('ports: published but not in network.listen is an error at its sandbox field', () => {
  const d = lint(yaml(`version: 1\nsandboxes:${sb('a', '[18789]', '[{ host: "127.0.0.1:8080", sandbox: 8080 }]')}`));
  const f = expectOne(d, 'port-not-listened', 7);
  assert.equal(f.severity, 'error');
  assert.match(f.message, /8080 is published but not in network.listen/);
});

test('ports: a non-loopback host address is a warning', () => {
  const d = lint(yaml(`version: 1\nsandboxes:${sb('a', '[18789]', '[{ host: "0.0.0.0:18789", sandbox: 18789 }]')}`));
  const f = expectOne(d, 'port-published-beyond-loopback', 7);
  assert.equal(f.severity, 'warning');
  assert.deepEqual(
    ofRule(lint(yaml(`version: 1\nsandboxes:${sb('a', '[1]', '[{ host: "[::1]:2000", sandbox: 1 }]')}`)), 'port-published-beyond-loopback'),
    [],
  );
});

test('ports: the same host port in two sandboxes is an error on the second', () => {
  const d = lint(
    yaml(
      `version: 1\nsandboxes:${sb('a', '[18789]', '[{ host: "127.0.0.1:18789", sandbox: 18789 }]')}${sb('b', '[80]', '[{ host: "127.0.0.2:18789", sandbox: 80 }]')}`,
    ),
  );
  const f = expectOne(d, 'port-published-twice', 12);
  assert.equal(f.severity, 'error');
  assert.match(f.message, /already published by sandbox "a"/);
});

test('explain and the plan summary name listening and published ports', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadCompile } = await import('../../src/pipeline/pipeline.js');
  const { explainText } = await import('../../src/compiler/explain.js');
  const { semanticSummary } = await import('../../src/reconciler/summary.js');
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-ports-'));
  try {
    const file = join(dir, 'nemoclaw.yaml');
    writeFileSync(file, yaml(`version: 1\nsandboxes:${sb('a', '[18789]', '[{ host: "127.0.0.1:18789", sandbox: 18789 }]')}`));
    const c = (await loadCompile(file, 'update')).output.sandboxes[0]!;
    const text = explainText(c);
    assert.match(text, /May listen on \(its own loopback only\): 18789\./);
    assert.match(text, /- 127\.0\.0\.1:18789 → sandbox port 18789/);
    const s = semanticSummary('a', null, c);
    assert.ok(s.gains.includes('a may be reached from the host at 127.0.0.1:18789 → sandbox port 18789'), s.gains.join('\n'));
    assert.ok(s.gains.includes('a may listen on port 18789'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { diffLines } from 'diff';
import { addRuleToConfig, commitApproval, persistApproval } from '../../src/config/add-rule.js';
import type { Approval } from '../../src/gateway/approvals.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG = `# Our agents. Keep this file reviewed.
version: 1

sandboxes:
  assistant:   # the main one
    command: ["openclaw", "gateway"]
    network:
      on_deny: ask
      egress:
        # chat
        - name: slack
          endpoints:
            - { host: slack.com, port: 443 }   # API

        - name: docs
          endpoints:
            - host: "docs.example.org"
              port: 443
      # trailing comment for network
  worker:
    command: ['sleep', 'infinity']
    env:
      TZ: UTC
`;

const approval = (over: Partial<Approval> = {}): Approval => ({
  id: 'ap-0123456789',
  sandbox: 'assistant',
  host: 'api.github.com',
  port: 443,
  kind: 'tunnel',
  status: 'pending',
  first_seen: 1,
  last_seen: 2,
  hits: 3,
  ...over,
});

test('persist appends a rule with a minimal edit: every original line survives, the result validates', () => {
  const r = addRuleToConfig('nemoclaw.yaml', CONFIG, 'assistant', approval());
  assert.equal(r.method, 'text');
  const parts = diffLines(CONFIG, r.text);
  assert.equal(parts.filter((p) => p.removed).length, 0, 'nothing removed or rewritten');
  const added = parts.filter((p) => p.added).flatMap((p) => p.value.split('\n').filter(Boolean));
  assert.deepEqual(added, [
    '        - name: approved-api.github.com-443',
    '          endpoints:',
    '            - host: "api.github.com"',
    '              port: 443',
  ]);
  for (const line of CONFIG.split('\n')) assert.ok(r.text.includes(line), `kept: ${line}`);
  const v = parse(r.text);
  assert.deepEqual(v.sandboxes.assistant.network.egress.at(-1), {
    name: 'approved-api.github.com-443',
    endpoints: [{ host: 'api.github.com', port: 443 }],
  });
  assert.equal(v.sandboxes.assistant.network.egress.length, 3);
});

test('persist creates network/egress when missing, picks a free name, marks non-default protocols', () => {
  const r = addRuleToConfig(
    'nemoclaw.yaml',
    CONFIG,
    'worker',
    approval({ sandbox: 'worker', host: 'pypi.org', port: 8443, kind: 'tunnel' }),
  );
  const v = parse(r.text);
  assert.deepEqual(v.sandboxes.worker.network.egress, [
    { name: 'approved-pypi.org-8443', endpoints: [{ host: 'pypi.org', port: 8443, protocol: 'https' }] },
  ]);
  assert.equal(v.sandboxes.worker.env.TZ, 'UTC');
  for (const line of CONFIG.split('\n')) assert.ok(r.text.includes(line), `kept: ${line}`);
  const twice = addRuleToConfig('nemoclaw.yaml', r.text, 'worker', approval({ sandbox: 'worker', host: 'pypi.org', port: 8443 }));
  assert.equal(parse(twice.text).sandboxes.worker.network.egress[1].name, 'approved-pypi.org-8443-2');
  assert.throws(() => addRuleToConfig('nemoclaw.yaml', CONFIG, 'ghost', approval()), /no sandbox named ghost/);
});

test('persist falls back to the Document API for flow-style sequences and still keeps comments', () => {
  const src = 'version: 1 # v\nsandboxes:\n  a:\n    command: [x]\n    network: { egress: [] }\n';
  const r = addRuleToConfig('f.yaml', src, 'a', approval({ sandbox: 'a' }));
  assert.equal(r.method, 'document');
  assert.ok(r.text.includes('# v'));
  assert.equal(parse(r.text).sandboxes.a.network.egress[0].endpoints[0].host, 'api.github.com');
});

test('--commit makes one commit of the config naming the approver and the reason', async (t) => {
  const dir = tempDir(t, 'nemoclaw-persist-');
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8' });
  git('init', '-q');
  git('config', 'user.name', 'Test Bot');
  git('config', 'user.email', 'bot@example.invalid');
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(file, CONFIG);
  writeFileSync(join(dir, 'other.txt'), 'unrelated, uncommitted\n');
  git('add', 'nemoclaw.yaml');
  git('commit', '-q', '-m', 'initial');
  const a = approval();
  const r = persistApproval(file, a);
  const sha = await commitApproval(file, a, r.rule, 'alice', 'needs the GitHub API');
  assert.match(sha, /^[0-9a-f]{7,40}$/);
  const msg = git('log', '-1', '--format=%B');
  assert.match(msg, /allow assistant to reach api\.github\.com:443/);
  assert.match(msg, /Approved-by: alice/);
  assert.match(msg, /Reason: needs the GitHub API/);
  assert.equal(git('show', '--name-only', '--format=', 'HEAD').trim(), 'nemoclaw.yaml');
  assert.equal(git('status', '--porcelain').trim(), '?? other.txt');
  assert.equal(readFileSync(file, 'utf8'), r.text);
});

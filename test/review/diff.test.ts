// nemoclaw diff between real git commits: per-sandbox verdicts, risk classes, redaction, lint
// deltas, exit codes and the markdown size limit.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { diffRefs, type DiffReport } from '../../src/review/diff.js';
import { GITHUB_COMMENT_LIMIT, renderDiffMarkdown } from '../../src/cli/views/diff.js';
import { commitConfig, git, newRepo } from './helpers.js';

const SECRET_1 = 'value-4f1c-one';
const SECRET_2 = 'value-9d2e-two';

const BASE = `version: 1
sandboxes:
  assistant:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr], read_write: [/tmp, /data] }
    network:
      egress:
        - name: api
          endpoints:
            - { host: api.example.com, port: 443 }
    env: { API_URL: "${SECRET_1}", TZ: UTC }
  worker:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
`;

const HEAD = `version: 1
sandboxes:
  assistant:
    runtime: process
    command: [/bin/true]
    process: { group: 0, limits: { pids: 2048 } }
    filesystem: { read_only: [/usr], read_write: [/tmp] }
    network:
      on_deny: ask
      egress:
        - name: api
          endpoints:
            - { host: api.example.com, port: 443 }
        - name: slack
          endpoints:
            - { host: slack.com, port: 443 }
            - { host: hooks.slack.com, port: 443 }
    env: { API_URL: "${SECRET_2}", TZ: UTC }
  worker:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
  reporter:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
`;

function cli(dir: string, ...args: string[]) {
  return runCli(['diff', '-f', join(dir, 'nemoclaw.yaml'), ...args], { cwd: dir });
}

test('diff: per-sandbox verdicts, widening and narrowing, env values redacted, lint introduced', (t) => {
  const dir = newRepo(t);
  const base = commitConfig(dir, BASE, 'base');
  const head = commitConfig(dir, HEAD, 'head');

  const j = cli(dir, '--base', base, '--head', head, '--format', 'json');
  assert.equal(j.status, 0, j.stderr);
  const r = JSON.parse(j.stdout) as DiffReport;
  assert.equal(r.format_version, 1);
  assert.equal(r.base.commit, base);
  assert.equal(r.head.commit, head);
  const by = Object.fromEntries(r.sandboxes.map((s) => [s.name, s]));
  assert.equal(by.worker!.status, 'unchanged');
  assert.equal(by.reporter!.status, 'added');
  const a = by.assistant!;
  assert.equal(a.status, 'changed');
  assert.notEqual(a.from_digest, a.to_digest);
  // Two new hosts widen egress; /data is no longer writable; unlisted requests now queue; root group; more pids.
  assert.match(a.verdict, /^widens egress \(2 hosts\)/);
  assert.match(a.verdict, /narrows filesystem/);
  assert.match(a.verdict, /deny → ask/);
  assert.match(a.verdict, /runs as root/);
  assert.match(a.verdict, /widens limits/);
  const hosts = a.risk.filter((c) => c.area === 'egress' && c.direction === 'widens').map((c) => c.subject);
  assert.deepEqual(hosts.sort(), ['hooks.slack.com', 'slack.com']);
  assert.ok(a.risk.some((c) => c.area === 'filesystem' && c.direction === 'narrows' && c.subject === '/data'));
  assert.ok(!a.risk.some((c) => c.subject === 'api.example.com'), 'an unchanged host is not a change');
  // The plan's words, reused.
  assert.ok(
    a.summary.gains.some((g) => /assistant may now HTTPS to slack\.com:443/.test(g)),
    a.summary.gains.join('\n'),
  );
  assert.ok(a.summary.losses.includes('assistant may no longer write /data'));
  // Diffs of the changed artifacts, with the env value marked changed but never shown.
  const sandboxJson = a.changes.find((c) => c.file === 'sandbox.json');
  assert.ok(sandboxJson?.diff.includes('"API_URL": "<redacted> (changed)"'), sandboxJson?.diff);
  assert.deepEqual(
    r.lint.introduced.map((f) => f.rule),
    ['group-root'],
  );
  assert.deepEqual(r.lint.fixed, []);
  assert.equal(r.changes, true);

  for (const format of ['text', 'json', 'markdown']) {
    const out = cli(dir, '--base', base, '--head', head, '--format', format);
    assert.equal(out.status, 0, out.stderr);
    for (const secret of [SECRET_1, SECRET_2])
      assert.ok(!out.stdout.includes(secret) && !out.stderr.includes(secret), `${format} leaks an env value`);
  }

  // Markdown leads with one verdict line per changed sandbox; details are collapsed.
  const md = cli(dir, '--base', base, '--head', head, '--format', 'markdown').stdout;
  const lines = md.split('\n');
  const first = lines.findIndex((l) => l.startsWith('- **'));
  assert.ok(first > 0 && first < 6, md.slice(0, 400));
  assert.match(lines[first]!, /^- \*\*assistant\*\*: widens egress \(2 hosts\)/);
  assert.match(lines[first + 1]!, /^- \*\*reporter\*\*: new sandbox: /);
  assert.match(md, /<details><summary><code>landlock\.json<\/code>/);
  assert.match(md, /```diff/);
});

test('diff --exit-code: 0 when nothing changed, 2 when something did, 1 on error', (t) => {
  const dir = newRepo(t);
  const base = commitConfig(dir, BASE, 'base');
  // A comment and key order change no digest.
  const same = commitConfig(
    dir,
    '# reordered\n' +
      BASE.replace(
        '    runtime: process\n    command: [/bin/true]\n    filesystem: { read_only: [/usr] }\n',
        '    command: [/bin/true]\n    runtime: process\n    filesystem: { read_only: [/usr] }\n',
      ),
    'same',
  );
  const none = cli(dir, '--base', base, '--head', same, '--exit-code');
  assert.equal(none.status, 0, none.stderr + none.stdout);
  assert.match(none.stdout, /No changes\./);

  const changed = commitConfig(dir, HEAD, 'head');
  assert.equal(cli(dir, '--base', base, '--head', changed, '--exit-code').status, 2);
  // Working tree (the default head) against HEAD: nothing, then an edit.
  assert.equal(cli(dir, '--exit-code').status, 0);
  writeFileSync(join(dir, 'nemoclaw.yaml'), BASE);
  const wt = cli(dir, '--exit-code', '--worktree');
  assert.equal(wt.status, 2, wt.stderr);
  assert.match(wt.stdout, /→ working tree/);

  const bad = cli(dir, '--base', 'no-such-ref', '--exit-code');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no-such-ref: not a commit/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  assert.equal(cli(dir, '--head', changed, '--worktree').status, 1);
  assert.equal(cli(dir, '--format', 'yaml').status, 1);
});

test('diff: a file added is every sandbox created, a file removed every sandbox deleted', (t) => {
  const dir = newRepo(t);
  writeFileSync(join(dir, 'README'), 'x\n');
  git(dir, 'add', 'README');
  git(dir, 'commit', '-q', '-m', 'empty');
  const empty = git(dir, 'rev-parse', 'HEAD');
  const withFile = commitConfig(dir, BASE);
  const added = JSON.parse(cli(dir, '--base', empty, '--head', withFile, '--format', 'json').stdout) as DiffReport;
  assert.equal(added.base.present, false);
  assert.deepEqual(
    added.sandboxes.map((s) => [s.name, s.status]),
    [
      ['assistant', 'added'],
      ['worker', 'added'],
    ],
  );
  assert.match(added.sandboxes[0]!.verdict, /^new sandbox: widens egress \(1 host\), widens filesystem/);
  git(dir, 'rm', '-q', 'nemoclaw.yaml', 'nemoclaw.lock');
  git(dir, 'commit', '-q', '-m', 'remove');
  const removed = cli(dir, '--base', withFile, '--head', 'HEAD', '--format', 'markdown', '--exit-code');
  assert.equal(removed.status, 2);
  assert.match(removed.stdout, /is removed: every sandbox in it is deleted/);
  assert.match(removed.stdout, /- \*\*assistant\*\*: removed/);
});

test('diff: a head that does not compile is reported with its findings, exit 1', (t) => {
  const dir = newRepo(t);
  const base = commitConfig(dir, BASE);
  writeFileSync(join(dir, 'nemoclaw.yaml'), BASE.replace('read_write: [/tmp, /data]', 'read_write: [/tmp, data]'));
  const r = cli(dir, '--base', base, '--format', 'markdown');
  assert.equal(r.status, 1);
  assert.match(r.stdout, /The head does not compile/);
  assert.match(r.stdout, /introduced: error path-relative/);
});

test('diff markdown stays under the comment limit: the longest diffs go first, and it says so', async (t) => {
  const dir = newRepo(t);
  const many = (syscalls: boolean) =>
    'version: 1\nsandboxes:\n' +
    Array.from(
      { length: 40 },
      (_, i) =>
        `  s${i}:\n    runtime: process\n    command: [/bin/true]\n    filesystem: { read_only: [/usr], read_write: [${Array.from({ length: i % 7 }, (_, k) => `/w${k}`).join(', ')}] }\n` +
        (syscalls ? `    process: { seccomp: { base: strict } }\n` : ''),
    ).join('');
  const base = commitConfig(dir, many(false));
  const head = commitConfig(dir, many(true));
  const report = await diffRefs({ file: join(dir, 'nemoclaw.yaml'), base, head });
  const full = renderDiffMarkdown(report, Number.MAX_SAFE_INTEGER);
  assert.ok(full.length > GITHUB_COMMENT_LIMIT, `the full comment is ${full.length} characters`);
  const md = renderDiffMarkdown(report);
  assert.ok(md.length <= GITHUB_COMMENT_LIMIT, String(md.length));
  // Assert on includes, not match: a failure must not print a 64 KiB comment.
  assert.ok(md.includes("left out, longest first, to stay under GitHub's 65536-character limit"));
  assert.ok(md.includes('- **s0**: narrows syscalls'), 'every verdict line survives');
  assert.ok(md.includes('- **s39**: '));
  assert.ok(md.includes('more: narrows syscalls (see `--format json`)'), 'long lists are capped');
  const tiny = renderDiffMarkdown(report, 4000);
  assert.ok(tiny.length <= 4000);
  assert.ok(tiny.includes("cut here to stay under GitHub's comment limit"));
});

// Approvals on a host that follows a repository: --persist is refused (the next tick would revert
// it), --propose pushes nemoclaw/approval-<sandbox>-<id> with exactly the one rule added to the
// source remote (a local bare repository), and --ttl grants it live meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCliAsync } from '../helpers/cli.js';
import { connectVia, echoServer } from '../gateway/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { writeSource } from '../../src/state/source.js';

const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const git = (cwd: string, ...a: string[]) => execFileSync('git', a, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });

test('approvals on a GitOps host: --persist refused, --propose pushes a review branch with the one rule, --ttl grants it live', async (t) => {
  const known = await echoServer();
  const asked = await echoServer();
  const dir = tempDir(t, 'nemoclaw-propose-test-');
  const state = join(dir, 'state');
  const remote = join(dir, 'remote.git');
  const work = join(dir, 'work');
  const sd = ['--state-dir', state];
  const cli = (args: string[]) => runCliAsync(args, { cwd: work });
  const config = `# reviewed in git
version: 1
sandboxes:
  agent:
    command: ["/bin/true"]
    network:
      on_deny: ask   # queue unknown destinations
      egress:
        - name: local   # loopback echo
          endpoints:
            - host: localhost
              port: ${known.port}
              protocol: https
`;
  try {
    git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
    mkdirSync(work);
    git(work, 'init', '--quiet', '--initial-branch=main');
    mkdirSync(join(work, 'hosts'));
    writeFileSync(join(work, 'hosts', 'nemoclaw.yaml'), config);
    const c = await runCliAsync(['compile', '--update-lock', '--out', join(dir, 'out')], { cwd: join(work, 'hosts') });
    assert.equal(c.status, 0, c.stderr);
    git(work, 'add', '.');
    git(work, 'commit', '--quiet', '--no-gpg-sign', '-m', 'initial');
    git(work, 'push', '--quiet', remote, 'HEAD:main');
    const main = git(remote, 'rev-parse', 'main').trim();
    mkdirSync(state);
    writeSource(state, {
      kind: 'git',
      url: remote,
      ref: 'main',
      path: 'hosts/nemoclaw.yaml',
      allowed_signers: null,
      gpg_keyring: null,
      verify: false,
      notify: null,
      settle_ms: 0,
    });

    assert.equal((await cli(['gateway', '--detach', ...sd])).status, 0);
    const reg = await cli(['gateway', 'register', '--egress', join(dir, 'out/agent/egress.json'), '--json', ...sd]);
    assert.equal(reg.status, 0, reg.stderr);
    const { socketPath } = JSON.parse(reg.stdout);
    const denied = await connectVia(socketPath, `localhost:${asked.port}`);
    assert.equal(denied.status, 403);
    const id = JSON.parse(denied.body).approval_id as string;
    denied.socket.destroy();

    const persist = await cli(['approvals', 'approve', id, '--persist', ...sd]);
    assert.equal(persist.status, 2, persist.stdout);
    assert.match(persist.stderr, /--propose/);
    assert.doesNotMatch(persist.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(git(remote, 'branch', '--list').trim(), '* main', 'nothing pushed');

    const ap = await cli(['approvals', 'approve', id, '--propose', '--ttl', '1h', '--reason', 'needs the second echo', '--json', ...sd]);
    assert.equal(ap.status, 0, ap.stderr);
    const res = JSON.parse(ap.stdout);
    const branch = `nemoclaw/approval-agent-${id}`;
    assert.equal(res.branch, branch);
    assert.equal(res.approval.status, 'approved');
    assert.ok(res.approval.expires_at, 'the live grant lapses by itself');
    assert.equal(git(remote, 'rev-parse', 'main').trim(), main, 'the followed ref is untouched');
    assert.equal(git(remote, 'rev-parse', branch).trim(), res.commit);
    assert.equal(git(remote, 'rev-parse', `${branch}^`).trim(), main, 'one commit on top of the followed ref');
    assert.deepEqual(git(remote, 'diff', '--name-only', main, branch).trim().split('\n'), ['hosts/nemoclaw.yaml']);
    const after = git(remote, 'show', `${branch}:hosts/nemoclaw.yaml`);
    for (const line of config.split('\n')) assert.ok(after.includes(line), `kept: ${line}`);
    const before = parse(config);
    before.sandboxes.agent.network.egress.push({ name: res.rule, endpoints: [{ host: 'localhost', port: asked.port, protocol: 'https' }] });
    assert.deepEqual(parse(after), before, 'exactly the one rule added');
    const msg = git(remote, 'log', '-1', '--format=%B', branch);
    assert.match(msg, new RegExp(`allow agent to reach localhost:${asked.port}`));
    assert.match(msg, /Reason: needs the second echo/);
    assert.match(msg, /Approved-by: .+/);

    const live = await connectVia(socketPath, `localhost:${asked.port}`);
    assert.equal(live.status, 200, 'granted live until the TTL');
    live.socket.destroy();

    // The same approval again: the branch exists, nothing is overwritten.
    const again = await cli(['approvals', 'approve', id, '--propose', '--ttl', '1h', ...sd]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    assert.equal(git(remote, 'rev-parse', branch).trim(), res.commit);
  } finally {
    await cli(['gateway', 'stop', ...sd]);
    known.server.close();
    asked.server.close();
  }
});

// End to end on the CLI: a denied request → approval → --persist --commit edits and commits
// nemoclaw.yaml → `gateway reload -f nemoclaw.yaml --wait` compiles it and the rule carries on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCliAsync } from '../helpers/cli.js';
import { connectVia, echoOnce, echoServer } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const cli = (args: string[], cwd: string) => runCliAsync(args, { cwd });

test('approve --persist --commit, then gateway reload -f compiles the edited config', async (t) => {
  const known = await echoServer();
  const asked = await echoServer();
  const repo = tempDir(t, 'nemoclaw-repo-');
  const state = tempDir(t, 'nemoclaw-gw-');
  const sd = ['--state-dir', state];
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, ...a], { encoding: 'utf8' });
  const config = `# reviewed config
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
    git('init', '-q');
    git('config', 'user.name', 'Test Bot');
    git('config', 'user.email', 'bot@example.invalid');
    writeFileSync(join(repo, 'nemoclaw.yaml'), config);
    const c = await cli(['compile', '--update-lock', '--out', 'out'], repo);
    assert.equal(c.status, 0, c.stderr);
    git('add', 'nemoclaw.yaml', 'nemoclaw.lock');
    git('commit', '-q', '-m', 'initial');

    assert.equal((await cli(['gateway', '--detach', ...sd], repo)).status, 0);
    const reg = await cli(['gateway', 'register', '--egress', join(repo, 'out/agent/egress.json'), '--json', ...sd], repo);
    assert.equal(reg.status, 0, reg.stderr);
    const { socketPath } = JSON.parse(reg.stdout);

    const denied = await connectVia(socketPath, `localhost:${asked.port}`);
    assert.equal(denied.status, 403);
    const id = JSON.parse(denied.body).approval_id as string;
    denied.socket.destroy();

    const ap = await cli(
      ['approvals', 'approve', id, '--persist', '--commit', '--reason', 'agent needs the second echo', '--json', ...sd],
      repo,
    );
    assert.equal(ap.status, 0, ap.stderr);
    const res = JSON.parse(ap.stdout);
    assert.equal(res.approval.status, 'approved');
    assert.equal(res.approval.expires_at, null, 'live until the next reload');
    const text = readFileSync(join(repo, 'nemoclaw.yaml'), 'utf8');
    for (const line of config.split('\n')) assert.ok(text.includes(line), `kept: ${line}`);
    assert.deepEqual(parse(text).sandboxes.agent.network.egress[1], {
      name: res.rule,
      endpoints: [{ host: 'localhost', port: asked.port, protocol: 'https' }],
    });
    assert.match(git('log', '-1', '--format=%B'), /Approved-by: .+\n?/);
    assert.match(git('log', '-1', '--format=%B'), /Reason: agent needs the second echo/);
    assert.equal(git('rev-parse', 'HEAD').trim().startsWith(res.commit), true);

    const live = await connectVia(socketPath, `localhost:${asked.port}`);
    assert.equal(live.status, 200, 'granted live at once');

    const rl = await cli(['gateway', 'reload', '-f', 'nemoclaw.yaml', '--wait', '--json', ...sd], repo);
    assert.equal(rl.status, 0, rl.stderr);
    const reloaded = JSON.parse(rl.stdout).reloaded[0];
    assert.equal(reloaded.sandbox, 'agent');
    assert.equal(reloaded.closed_flows, 0, 'the tunnel opened under the grant is now allowed by the rule itself');
    assert.equal((await echoOnce(live.socket, 'kept')).toString(), 'kept');
    live.socket.destroy();
    const c2 = await cli(['compile', '--out', 'out2'], repo);
    assert.equal(c2.status, 0, c2.stderr);
    const bytes = readFileSync(join(repo, 'out2/agent/egress.json'));
    assert.equal(reloaded.policy_version, 'sha256:' + createHash('sha256').update(bytes).digest('hex'));
  } finally {
    await cli(['gateway', 'stop', ...sd], repo);
    known.server.close();
    asked.server.close();
  }
});

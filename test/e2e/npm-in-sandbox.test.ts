// Issue "egress gateway", done means: a real client inside an embedded sandbox. `npm view` runs in
// a sandbox whose only way out is the relay to the gateway. With the npm preset it succeeds;
// without it, it gets the 403 and a pending approval appears; approving with --ttl makes a retry
// in the SAME running sandbox succeed; --persist --commit turns the approval into a reviewed commit.
// The only outside host reached is this machine's npm registry, read from npm's own config.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { nemoclawBin, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const registry = (() => {
  try {
    return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();
const PACKAGE = 'is-number';
const npmBin = (() => {
  try {
    return execFileSync('which', ['npm'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();

function config(presets: string[], command: string, name = 'npmbox'): string {
  const env: Record<string, string> = { HOME: '/sandbox', PATH: '/usr/local/bin:/usr/bin:/bin', npm_config_update_notifier: 'false' };
  // Where TLS to the registry is intercepted (as on this machine), node needs the operator's CA bundle.
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return `version: 1
sandboxes:
  ${name}:
    command: [/bin/sh, -c, ${JSON.stringify(command)}]
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64, /etc/ssl, /etc/ca-certificates]
      read_write: [/tmp]
    network:
      presets: ${JSON.stringify(presets)}
      on_deny: ask
    env: ${JSON.stringify(env)}
`;
}

function cli(stateDir: string, args: string[]) {
  return runCli([...args, '--state-dir', stateDir]);
}

test(
  'npm view inside an embedded sandbox: allowed by the npm preset, denied and approvable without it',
  { timeout: 240_000 },
  async (t) => {
    if (!requireCapability(t, process.getuid?.() === 0, 'needs root for the embedded runtime in this test')) return;
    if (!requireCapability(t, registry.startsWith('http') && npmBin !== '', 'needs npm and its configured registry')) return;
    const dir = tempDir(t);
    const state = join(dir, 'state');
    const file = join(dir, 'nemoclaw.yaml');
    const view = `npm view ${PACKAGE} version --registry ${registry}`;

    const gw = cli(state, ['gateway', '--detach']);
    assert.equal(gw.status, 0, gw.stderr);
    t.after(() => {
      cli(state, ['gateway', 'stop']);
    });

    // 1. With the npm preset: npm reaches the registry through relay → gateway.
    writeFileSync(file, config(['npm'], view));
    assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
    const allowed = cli(state, ['run', 'npmbox', '-f', file]);
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout, /^\d+\.\d+\.\d+$/m, 'npm printed the version');
    assert.match(allowed.stderr, /Landlock ABI \d/);
    assert.match(allowed.stderr, /egress through the gateway/);

    // 2. Without it: denied with the gateway's 403, queued for approval; then approved live.
    // The agent retries until the approval lands (a read_write path is an overlay: a file the host
    // drops into its upper directory while the sandbox runs is not a reliable signal).
    const retry = `${view}; echo first=$?; ok=1; for i in $(seq 1 120); do if ${view}; then ok=0; break; fi; sleep 1; done; echo second=$ok`;
    writeFileSync(file, config(['pypi'], retry));
    assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
    const child = spawn(process.execPath, [nemoclawBin, 'run', 'npmbox', '-f', file, '--state-dir', state], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    for (let i = 0; i < 1200 && !/first=\d+/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /first=[1-9]/, `npm failed without the preset\n${err}`);
    assert.match(err, /403|Forbidden|nemoclaw/i, 'npm saw the gateway refusal');

    const host = new URL(registry).hostname;
    const pending = (
      JSON.parse(cli(state, ['approvals', '--json']).stdout) as { approvals: { id: string; sandbox: string; host: string; port: number }[] }
    ).approvals;
    const approval = pending.find((a) => a.sandbox === 'npmbox' && a.host === host);
    assert.ok(approval, `a pending approval for ${host}: ${JSON.stringify(pending)}`);

    const approve = cli(state, ['approvals', 'approve', approval.id, '--ttl', '1h', '--reason', 'e2e test']);
    assert.equal(approve.status, 0, approve.stderr);
    assert.equal(await exited, 0, err);
    assert.match(out, /second=0/, 'the retry in the same sandbox succeeded');
    assert.match(out, /^\d+\.\d+\.\d+$/m);

    // 3. --persist --commit: the approval becomes a reviewed commit in the repository.
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    const repoFile = join(repo, 'nemoclaw.yaml');
    // A second sandbox: the first one's live grant (1h) must not leak to it.
    writeFileSync(repoFile, '# team config\n' + config(['pypi'], view, 'other'));
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('git', ['-C', repo, 'add', '.']);
    execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'init']);
    assert.equal(runCli(['compile', '-f', repoFile, '--update-lock', '--out', join(dir, 'out2')]).status, 0);
    execFileSync('git', ['-C', repo, 'add', '.']);
    execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'lock']);
    const denied = cli(state, ['run', 'other', '-f', repoFile]);
    assert.notEqual(denied.status, 0, 'the grant for npmbox does not apply to another sandbox');
    const again = (
      JSON.parse(cli(state, ['approvals', '--json']).stdout) as { approvals: { id: string; sandbox: string; host: string }[] }
    ).approvals.find((a) => a.sandbox === 'other' && a.host === host);
    assert.ok(again, 'a pending approval for the other sandbox');
    const persist = runCli(
      [
        'approvals',
        'approve',
        again.id,
        '--persist',
        '--commit',
        '-f',
        repoFile,
        '--reason',
        'agent needs npm metadata',
        '--state-dir',
        state,
      ],
      {
        env: {
          GIT_AUTHOR_NAME: 'e2e',
          GIT_AUTHOR_EMAIL: 'e2e@example.invalid',
          GIT_COMMITTER_NAME: 'e2e',
          GIT_COMMITTER_EMAIL: 'e2e@example.invalid',
        },
      },
    );
    assert.equal(persist.status, 0, persist.stderr);
    const log = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%B'], { encoding: 'utf8' });
    assert.match(log, /agent needs npm metadata/);
    assert.match(log, new RegExp(host.replace(/\./g, '\\.')));
    const edited = readFileSync(repoFile, 'utf8');
    assert.match(edited, /^# team config$/m, 'comments kept');
    assert.ok(edited.includes(host));
    assert.equal(runCli(['validate', '-f', repoFile]).status, 0, 'the edited file is valid');
    assert.ok(existsSync(join(repo, '.git')));
  },
);

// The gateway as users run it: detached daemon, control socket, CLI commands, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { testHooksFromEnv } from '../../src/daemon/daemon.js';
import { connectVia, delay, echoOnce, echoServer, policyBytes, waitClosed } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

/** Async: the test process serves the echo server, so it must not block. */
const cli = (args: string[]) => runCliAsync(args);

test('test hook switch: only the exact value, never for the system state dir', () => {
  assert.equal(testHooksFromEnv('/tmp/x', {}), undefined);
  assert.equal(testHooksFromEnv('/tmp/x', { NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: 'yes' }), undefined);
  assert.deepEqual(testHooksFromEnv('/tmp/x', { NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1' }), { allowLoopback: true });
  assert.throws(() => testHooksFromEnv('/var/lib/nemoclaw', { NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1' }), /refused/);
});

test('daemon lifecycle through the CLI: detach, register, status, approvals, reload --wait, audit, SIGTERM', async (t) => {
  const echo = await echoServer();
  const dir = tempDir(t, 'nemoclaw-gw-');
  const sd = ['--state-dir', dir];
  try {
    const up = await cli(['gateway', '--detach', ...sd]);
    assert.equal(up.status, 0, up.stderr);
    const gwDir = join(dir, 'gateway');
    assert.equal(statSync(gwDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(gwDir, 'control.sock')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(gwDir, 'gateway.log'), 'utf8'), /WARNING: NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK=1/);

    const v1 = policyBytes('agent', [{ name: 'local', endpoints: [{ host: 'localhost', port: echo.port }] }], { on_deny: 'ask' });
    const f1 = join(dir, 'egress-v1.json');
    writeFileSync(f1, v1);
    const reg = await cli(['gateway', 'register', '--egress', f1, '--json', ...sd]);
    assert.equal(reg.status, 0, reg.stderr);
    const { socketPath, policyVersion } = JSON.parse(reg.stdout);
    assert.equal(policyVersion, 'sha256:' + createHash('sha256').update(v1).digest('hex'));
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);

    const status = JSON.parse((await cli(['gateway', 'status', '--json', ...sd])).stdout);
    assert.equal(status.running, true);
    assert.deepEqual(status.test_hooks, ['allow_loopback']);
    assert.equal(status.sandboxes[0].policy_version, policyVersion);
    assert.match((await cli(['gateway', 'status', ...sd])).stdout, /WARNING: test hooks active/);

    const tun = await connectVia(socketPath, `localhost:${echo.port}`);
    assert.equal(tun.status, 200);
    assert.equal((await echoOnce(tun.socket, 'via daemon')).toString(), 'via daemon');

    const denied = await connectVia(socketPath, 'unknown.invalid:443');
    const id = JSON.parse(denied.body).approval_id as string;
    denied.socket.destroy();
    const list = JSON.parse((await cli(['approvals', '--json', ...sd])).stdout).approvals;
    assert.equal(list.length, 1);
    assert.equal(list[0].id, id);
    assert.equal((await cli(['approvals', 'approve', id, ...sd])).status, 2, 'needs --ttl or --persist');
    const ap = await cli(['approvals', 'approve', id, '--ttl', '1h', '--reason', 'testing', ...sd]);
    assert.equal(ap.status, 0, ap.stderr);
    assert.match((await cli(['approvals', ...sd])).stdout, new RegExp(`${id}  approved until `));
    const missing = await cli(['approvals', 'deny', 'ap-nope', ...sd]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no approval with id ap-nope/);

    // reload drops the localhost rule: acknowledged version, the open tunnel is closed
    const f2 = join(dir, 'egress-v2.json');
    const v2 = policyBytes('agent', [], { on_deny: 'ask' });
    writeFileSync(f2, v2);
    const rl = await cli(['gateway', 'reload', '--egress', f2, '--wait', '--json', ...sd]);
    assert.equal(rl.status, 0, rl.stderr);
    const out = JSON.parse(rl.stdout).reloaded[0];
    assert.equal(out.policy_version, 'sha256:' + createHash('sha256').update(v2).digest('hex'));
    assert.equal(out.closed_flows, 1);
    await waitClosed(tun.socket);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format_version":1,"sandbox":"agent"}');
    const rb = await cli(['gateway', 'reload', '--egress', bad, ...sd]);
    assert.equal(rb.status, 1);
    assert.match(
      rb.stderr,
      /does not match schemas\/egress\.schema\.json: \(policy\) needs field "allowed_ips"; \(policy\) needs field "default"/,
    );
    assert.doesNotMatch(rb.stderr, /at .*\.js:\d+/, 'no stack trace');

    // SIGTERM: the daemon flushes the audit and removes its pid file and sockets
    const pid = Number(readFileSync(join(gwDir, 'gateway.pid'), 'utf8'));
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && existsSync(join(gwDir, 'gateway.pid')); i++) await delay(25);
    assert.ok(!existsSync(join(gwDir, 'gateway.pid')));
    assert.ok(!existsSync(join(gwDir, 'control.sock')));

    const audit = (await cli(['audit', '--json', ...sd])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(audit.every((r) => Array.isArray(r.test_hooks) && r.test_hooks.includes('allow_loopback')));
    assert.ok(audit.some((r) => r.activity === 'close' && r.reason === 'policy_reload' && r.dst.hostname === 'localhost'));
    assert.ok(
      audit.some(
        (r) => r.activity === 'approval' && r.detail === 'approved' && r.actor.user === userInfo().username && r.reason === 'testing',
      ),
    );
    assert.equal(audit.at(-1).activity, 'stop');
    const deniedOnly = (await cli(['audit', '--denied', '--json', '--sandbox', 'agent', ...sd])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(deniedOnly.length >= 1 && deniedOnly.every((r) => r.action === 'denied' && r.sandbox === 'agent'));
    const text = await cli(['audit', '--since', '1h', ...sd]);
    assert.match(text.stdout, /DENY  agent unknown\.invalid:443 no_rule \[ap-/);
    assert.equal((await cli(['audit', '--since', 'yesterday-ish', ...sd])).status, 2);

    // restart: the registered policy comes back without re-registering
    assert.equal((await cli(['gateway', '--detach', ...sd])).status, 0);
    const again = JSON.parse((await cli(['gateway', 'status', '--json', ...sd])).stdout);
    assert.equal(again.sandboxes[0].policy_version, out.policy_version);
    assert.equal((await cli(['gateway', 'stop', ...sd])).status, 0);
    assert.equal((await cli(['gateway', 'status', ...sd])).status, 3);
  } finally {
    await cli(['gateway', 'stop', ...sd]);
    echo.server.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readAudit } from '../../src/audit/log.js';
import { connectVia, delay, echoOnce, echoServer, fakeResolver, policyBytes, startGateway, waitClosed } from './helpers.js';

test('reload swaps the policy, acknowledges the version, and closes tunnels it no longer allows', async () => {
  const echo = await echoServer();
  const resolver = fakeResolver({ 'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1'] });
  const { gw, dir, cleanup } = await startGateway({ resolver });
  try {
    const v1 = policyBytes('agent', [
      { name: 'a', endpoints: [{ host: 'a.test', port: echo.port }] },
      { name: 'b', endpoints: [{ host: 'b.test', port: echo.port }] },
    ]);
    const r1 = await gw.applyPolicy(v1);
    const ta = await connectVia(r1.socketPath, `a.test:${echo.port}`);
    const tb = await connectVia(r1.socketPath, `b.test:${echo.port}`);
    assert.equal(ta.status, 200);
    assert.equal(tb.status, 200);
    assert.equal(gw.status().sandboxes[0]!.connections.flows, 2);

    const v2 = policyBytes('agent', [{ name: 'b', endpoints: [{ host: 'b.test', port: echo.port }] }]);
    const r2 = await gw.applyPolicy(v2);
    assert.notEqual(r2.policyVersion, r1.policyVersion);
    assert.equal(r2.closed, 1);
    assert.equal(gw.status().sandboxes[0]!.policy_version, r2.policyVersion);
    await waitClosed(ta.socket);
    assert.equal((await echoOnce(tb.socket, 'still here')).toString(), 'still here', 'the allowed tunnel survives');
    const again = await connectVia(r1.socketPath, `a.test:${echo.port}`);
    assert.equal(again.status, 403);
    again.socket.destroy();

    // An invalid policy is refused and the current one stays in force.
    await assert.rejects(gw.applyPolicy(Buffer.from('{"format_version":1,"sandbox":"agent","default":"allow"}')), /default must be "deny"/);
    assert.equal(gw.status().sandboxes[0]!.policy_version, r2.policyVersion);
    // So is a valid policy sent for another sandbox's name (the control API passes the URL's name).
    await assert.rejects(gw.applyPolicy(v1, { sandbox: 'other' }), /policy is for sandbox agent, not other/);
    assert.equal(gw.status().sandboxes[0]!.policy_version, r2.policyVersion);
    tb.socket.destroy();
    await delay(20);
    gw.flushAudit();
    const recs = readAudit(join(dir, 'gateway'));
    assert.ok(recs.some((r) => r.activity === 'close' && r.reason === 'policy_reload' && r.dst?.hostname === 'a.test'));
    assert.ok(recs.some((r) => r.activity === 'reload' && r.policy_version === r2.policyVersion));
  } finally {
    await cleanup();
    echo.server.close();
  }
});

test('on_deny ask: denial queues one approval per destination; TTL grant works live and lapses by itself', async () => {
  const echo = await echoServer();
  const resolver = fakeResolver({ 'new.test': ['127.0.0.1'], 'nope.test': ['127.0.0.1'] });
  const { gw, dir, cleanup } = await startGateway({ resolver });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', [], { on_deny: 'ask' }));
    const d1 = await connectVia(socketPath, `new.test:${echo.port}`);
    const d2 = await connectVia(socketPath, `new.test:${echo.port}`);
    assert.equal(d1.status, 403);
    const b1 = JSON.parse(d1.body);
    const b2 = JSON.parse(d2.body);
    assert.match(b1.approval_id, /^ap-[0-9a-f]{10}$/);
    assert.equal(b2.approval_id, b1.approval_id, 'deduplicated by sandbox, host, port');
    assert.ok(b1.next_steps.some((s: string) => s.includes(`nemoclaw approvals approve ${b1.approval_id}`)));
    d1.socket.destroy();
    d2.socket.destroy();
    const pending = gw.approvals.list();
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.hits, 2);

    gw.approve(b1.approval_id, { ttlMs: 300, actor: 'alice', reason: 'docs' });
    const ok = await connectVia(socketPath, `new.test:${echo.port}`);
    assert.equal(ok.status, 200);
    assert.equal((await echoOnce(ok.socket, 'hi')).toString(), 'hi');
    await waitClosed(ok.socket); // the grant lapses by itself and takes its tunnel with it
    assert.equal(gw.approvals.get(b1.approval_id)!.status, 'expired');
    const after = await connectVia(socketPath, `new.test:${echo.port}`);
    assert.equal(after.status, 403);
    const again = JSON.parse(after.body).approval_id;
    assert.ok(again && again !== b1.approval_id, 'a fresh approval is queued after expiry');
    after.socket.destroy();

    // deny: not re-queued, and the 403 says an operator refused it
    const n1 = await connectVia(socketPath, `nope.test:${echo.port}`);
    const nid = JSON.parse(n1.body).approval_id;
    n1.socket.destroy();
    gw.deny(nid, { actor: 'bob' });
    const n2 = await connectVia(socketPath, `nope.test:${echo.port}`);
    assert.equal(n2.headers['x-nemoclaw-deny'], 'approval_denied');
    n2.socket.destroy();

    await delay(20);
    gw.flushAudit();
    const acts = readAudit(join(dir, 'gateway')).filter((r) => r.activity === 'approval');
    assert.ok(acts.some((r) => r.detail === 'approved' && r.actor?.user === 'alice' && r.reason === 'docs'));
    assert.ok(acts.some((r) => r.detail === 'expired'));
    assert.ok(acts.some((r) => r.detail === 'denied' && r.actor?.user === 'bob'));
    // persisted across restarts of the store
    gw.approvals.saveSync();
    const { ApprovalStore } = await import('../../src/gateway/approvals.js');
    const reread = new ApprovalStore({ file: join(dir, 'gateway', 'approvals.json') });
    assert.equal(reread.get(nid)!.status, 'denied');
  } finally {
    await cleanup();
    echo.server.close();
  }
});

test('on_deny deny: nothing is queued', async () => {
  const { gw, cleanup } = await startGateway({ resolver: fakeResolver({}) });
  try {
    const { socketPath } = await gw.applyPolicy(policyBytes('agent', []));
    const r = await connectVia(socketPath, 'x.test:443');
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).approval_id, undefined);
    r.socket.destroy();
    assert.equal(gw.approvals.list().length, 0);
  } finally {
    await cleanup();
  }
});

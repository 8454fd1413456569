// The gateway on a real outside host: `npm view` through it, with HTTPS_PROXY pointing at the
// debug loopback TCP listener. The registry is read from npm's config at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireCapability } from '../helpers/capability.js';
import type { HttpRequestRecord, TunnelClosedRecord } from '../../src/audit/record.js';
import { readAudit } from '../../src/audit/log.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { policyBytes } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

async function registry(): Promise<URL | undefined> {
  try {
    const { stdout } = await run('npm', ['config', 'get', 'registry'], { timeout: 30_000 });
    const u = new URL(stdout.trim());
    await lookup(u.hostname);
    return u;
  } catch {
    return undefined;
  }
}

test('npm view works through the gateway when the registry is allowed, and fails closed when not', async (t) => {
  const reg = await registry();
  if (!requireCapability(t, reg !== undefined, 'npm registry not resolvable from this host')) return;
  const dir = tempDir(t, 'nemoclaw-gw-');
  const gw = new Gateway({ stateDir: dir }); // production settings: no test hooks at all
  await gw.start();
  try {
    const port = Number(reg!.port || (reg!.protocol === 'https:' ? 443 : 80));
    const allow = policyBytes('agent', [
      { name: 'preset:npm', endpoints: [{ host: reg!.hostname, port, protocol: reg!.protocol === 'https:' ? 'https' : 'http' }] },
    ]);
    await gw.applyPolicy(allow);
    const proxyPort = await gw.listenTcp('agent', '127.0.0.1', 0);
    const proxy = `http://127.0.0.1:${proxyPort}`;
    const npmView = () =>
      run(
        'npm',
        [
          'view',
          'is-number',
          'name',
          '--registry',
          reg!.href,
          '--cache',
          join(dir, 'npm-cache'),
          '--prefer-online',
          '--fetch-retries',
          '0',
        ],
        {
          timeout: 90_000,
          env: {
            ...process.env,
            HTTPS_PROXY: proxy,
            https_proxy: proxy,
            HTTP_PROXY: proxy,
            http_proxy: proxy,
            NO_PROXY: '',
            no_proxy: '',
            npm_config_proxy: proxy,
            npm_config_https_proxy: proxy,
          },
        },
      );
    const ok = await npmView();
    assert.equal(ok.stdout.trim(), 'is-number');
    // the tunnel's record is written when it closes, just after npm exits
    for (let i = 0; i < 250 && gw.status().sandboxes[0]!.connections.flows > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 20));
    gw.flushAudit();
    const allowed = readAudit(join(dir, 'gateway')).filter(
      (r): r is TunnelClosedRecord | HttpRequestRecord =>
        (r.class_uid === 4001 || r.class_uid === 4002) &&
        (r.activity === 'close' || r.activity === 'request') &&
        r.dst?.hostname === reg!.hostname,
    );
    assert.ok(allowed.length >= 1, 'the registry connection went through the gateway');
    const rec = allowed[0]!;
    assert.ok(rec.activity === 'close' || rec.activity === 'request');
    assert.equal(rec.rule, 'preset:npm');
    assert.ok(rec.bytes_in > 0);

    await gw.applyPolicy(policyBytes('agent', []));
    rmSync(join(dir, 'npm-cache'), { recursive: true, force: true });
    await assert.rejects(npmView());
    gw.flushAudit();
    assert.ok(
      readAudit(join(dir, 'gateway'), { denied: true }).some(
        (r) => r.activity === 'deny' && r.dst?.hostname === reg!.hostname && r.reason === 'no_rule',
      ),
    );
  } finally {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

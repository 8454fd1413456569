// The gateway's DNS answer cache: answers are reused for a while, the SSRF check is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachingResolver, guard, type Resolver } from '../../src/gateway/ssrf.js';
import { parseCidr } from '../../src/util/ip.js';

/** A resolver that answers from ANSWERS (a function of the call count) and counts its calls. */
function counting(answer: (n: number, host: string) => Promise<string[]>) {
  const calls: string[] = [];
  const resolver: Resolver = (host) => {
    calls.push(host);
    return answer(calls.length, host);
  };
  return { resolver, calls };
}

describe('cachingResolver', () => {
  it('answers from the cache within the TTL and asks again after it', async () => {
    let t = 0;
    const inner = counting(async (n) => [`192.0.2.${n}`]);
    const r = cachingResolver(inner.resolver, 1000, 16, () => t);
    assert.deepEqual(await r('a.example'), ['192.0.2.1']);
    t = 999;
    assert.deepEqual(await r('a.example'), ['192.0.2.1']);
    assert.equal(inner.calls.length, 1);
    t = 1000;
    assert.deepEqual(await r('a.example'), ['192.0.2.2']);
    assert.deepEqual(inner.calls, ['a.example', 'a.example']);
  });

  it('keeps names apart and shares one lookup between concurrent requests', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inner = counting(async (_n, host) => {
      await gate;
      return [host === 'a.example' ? '192.0.2.1' : '192.0.2.2'];
    });
    const r = cachingResolver(inner.resolver, 1000, 16, () => 0);
    const pending = [r('a.example'), r('a.example'), r('b.example')];
    release();
    assert.deepEqual(await Promise.all(pending), [['192.0.2.1'], ['192.0.2.1'], ['192.0.2.2']]);
    assert.deepEqual(inner.calls, ['a.example', 'b.example']);
  });

  it('does not keep a failure', async () => {
    const inner = counting(async (n) => {
      if (n === 1) throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
      return ['192.0.2.7'];
    });
    const r = cachingResolver(inner.resolver, 1000, 16, () => 0);
    await assert.rejects(r('a.example'), /no such name/);
    assert.deepEqual(await r('a.example'), ['192.0.2.7']);
    assert.equal(inner.calls.length, 2);
  });

  it('holds at most MAX names, dropping the oldest', async () => {
    const inner = counting(async (n) => [`192.0.2.${n}`]);
    const r = cachingResolver(inner.resolver, 1000, 2, () => 0);
    await r('a.example');
    await r('b.example');
    await r('c.example'); // a.example goes
    await r('b.example');
    assert.equal(inner.calls.length, 3);
    await r('a.example');
    assert.deepEqual(inner.calls, ['a.example', 'b.example', 'c.example', 'a.example']);
  });

  it('leaves the SSRF decision to every request: a cached private answer is refused once allowed_ips no longer covers it', async () => {
    const inner = counting(async () => ['10.1.2.3']);
    const resolver = cachingResolver(inner.resolver, 60_000, 16, () => 0);
    const allowed = await guard('db.internal', false, { allowedIps: [parseCidr('10.0.0.0/8')!], resolver, allowLoopback: false });
    assert.deepEqual(allowed, { ok: true, addresses: ['10.1.2.3'] });
    const refused = await guard('db.internal', false, { allowedIps: [], resolver, allowLoopback: false });
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'ssrf_blocked');
    assert.equal(inner.calls.length, 1);
  });
});

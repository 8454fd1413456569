// reconcile --require-signature: besides the SSH-signed commit, the head must carry a Sigstore
// statement (nemoclaw sign, a git note) over its blueprint digests, signed by the host's key and
// equal to what the host compiles. Real git, a bare remote, keys made by ssh-keygen and openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { cli, env, yaml, type Env } from '../reconciler/harness.js';
import { makeRepo } from './repo.js';

function keyPair(dir: string, name: string): { key: string; pub: string } {
  const key = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['ec', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
  return { key, pub };
}

async function condition(e: Env): Promise<{ reason: string; message: string; applied: string | null }> {
  const r = await e.run('status', '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    source: { applied_commit: string | null; condition: { reason: string; message: string } };
  };
  return { ...s.source.condition, applied: s.source.applied_commit };
}

test('reconcile --require-signature: no statement, a statement by another key, then the right one', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const repo = makeRepo(e.dir);
  const ci = keyPair(e.dir, 'ci');
  const other = keyPair(e.dir, 'other');
  const sign = async (key: string) => {
    const r = await cli(['sign', '--key', key, '-f', join(repo.work, 'nemoclaw.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    repo.git('push', '--quiet', '--force', repo.remote, 'refs/notes/nemoclaw:refs/notes/nemoclaw');
  };
  const once = (...extra: string[]) => e.run('reconcile', '--once', '--settle', '1s', ...extra);

  // An SSH-signed commit without a statement: refused, nothing runs.
  const c1 = await repo.commit(yaml([{ name: 'agent' }]), { sign: 'trusted' });
  const r1 = await once('--source', repo.remote, '--allowed-signers', repo.allowedSigners, '--require-signature', `key:${ci.pub}`);
  assert.equal(r1.status, 1, r1.stdout + r1.stderr);
  let c = await condition(e);
  assert.equal(c.reason, 'SignatureMissing', c.message);
  assert.equal(c.applied, null);

  // A statement signed by a key the host does not trust: refused.
  await sign(other.key);
  assert.equal((await once()).status, 1);
  c = await condition(e);
  assert.equal(c.reason, 'SignatureInvalid', c.message);
  assert.equal(c.applied, null);

  // Signed by the required key (the setting was remembered): applied.
  await sign(ci.key);
  const r3 = await once();
  assert.equal(r3.status, 0, r3.stdout + r3.stderr);
  c = await condition(e);
  assert.equal(c.reason, 'Succeeded', c.message);
  assert.equal(c.applied, c1);
  const s = JSON.parse((await e.run('status', '--json')).stdout) as { source: { verified_by: string } };
  assert.match(s.source.verified_by, /trusted@test .*blueprints signed by/);

  // A new commit whose statement is missing keeps the host on c1.
  await repo.commit(yaml([{ name: 'agent' }, { name: 'worker' }]), { sign: 'trusted' });
  assert.equal((await once()).status, 1);
  c = await condition(e);
  assert.equal(c.reason, 'SignatureMissing', c.message);
  assert.equal(c.applied, c1);
});

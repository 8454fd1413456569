// Keyed signing end to end: a P-256 key made by openssl, `nemoclaw sign` into a git note or a
// file, `nemoclaw verify` against the public key; and every way a signature must be refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { runCli } from '../helpers/cli.js';
import { keySigner, loadP256PrivateKey, loadP256PublicKey } from '../../src/signing/key-signer.js';
import { PAYLOAD_TYPE } from '../../src/signing/statement.js';
import { verifySignedBlueprints } from '../../src/signing/verify.js';
import { commitConfig, git, newRepo } from './helpers.js';

const CONFIG = `version: 1
sandboxes:
  assistant:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr], read_write: [/tmp] }
  worker:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
`;

function keyPair(dir: string, name: string): { key: string; pub: string } {
  const key = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['ec', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
  return { key, pub };
}

function nc(dir: string, ...args: string[]) {
  return runCli([...args, '-f', join(dir, 'nemoclaw.yaml')], { cwd: dir });
}

function payloadOf(bundleText: string): {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: { source: { commit: string } };
} {
  const b = JSON.parse(bundleText) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
}

test('sign --key stores a bundle as a git note; verify --key recompiles and accepts it', (t) => {
  const dir = newRepo(t);
  const keys = keyPair(dir, 'signing');
  const commit = commitConfig(dir, CONFIG);
  const s = nc(dir, 'sign', '--key', keys.key);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`Signed ${commit} \\(2 sandbox digest\\(s\\)\\) into a note in refs/notes/nemoclaw`));
  const pem = readFileSync(keys.key, 'utf8');
  assert.ok(!s.stdout.includes(pem.split('\n')[1]!), 'the private key is never printed');

  const note = git(dir, 'notes', '--ref=nemoclaw', 'show', commit);
  const statement = payloadOf(note);
  assert.equal(statement.predicate.source.commit, commit);
  assert.deepEqual(
    statement.subject.map((x) => x.name),
    ['sandbox/assistant', 'sandbox/worker'],
  );
  // The signed digests are the ones `compile` writes.
  const compiled = JSON.parse(readFileSync(join(dir, '.out', 'index.json'), 'utf8')) as { sandboxes: Record<string, string> };
  assert.equal(`sha256:${statement.subject[0]!.digest.sha256}`, compiled.sandboxes.assistant);

  const v = nc(dir, 'verify', '--key', keys.pub);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, new RegExp(`Verified ${commit}: signed by key [0-9a-f]{16}…; every digest matches`));
  assert.match(v.stdout, new RegExp(`assistant  ${compiled.sandboxes.assistant}`));
});

test('verify refuses an unsigned commit, a wrong key, a bundle for another commit and tampered digests', async (t) => {
  const dir = newRepo(t);
  const keys = keyPair(dir, 'signing');
  const other = keyPair(dir, 'other');
  const first = commitConfig(dir, CONFIG, 'first');
  const bundleFile = join(dir, 'first.bundle.json');
  const out = nc(dir, 'sign', '--key', keys.key, '--commit', first, '--out', bundleFile);
  assert.equal(out.status, 0, out.stderr);
  const second = commitConfig(dir, CONFIG.replace('read_write: [/tmp]', 'read_write: [/tmp, /data]'), 'second');

  // Unsigned: no note on the head commit.
  const unsigned = nc(dir, 'verify', '--key', keys.pub);
  assert.equal(unsigned.status, 1);
  assert.match(unsigned.stderr, new RegExp(`SignatureMissing: commit ${second.slice(0, 12)} has no signed statement`));

  // The first commit's bundle, offered for the second commit.
  const replay = nc(dir, 'verify', '--key', keys.pub, '--bundle', bundleFile);
  assert.equal(replay.status, 1);
  assert.match(
    replay.stderr,
    new RegExp(`SignatureInvalid: the signed statement is for commit ${first.slice(0, 12)}, not ${second.slice(0, 12)}`),
  );
  // ...but it is good for the commit it names.
  assert.equal(nc(dir, 'verify', '--key', keys.pub, '--bundle', bundleFile, '--commit', first).status, 0);

  // A key that did not sign.
  const wrong = nc(dir, 'verify', '--key', other.pub, '--bundle', bundleFile, '--commit', first);
  assert.equal(wrong.status, 1);
  assert.match(
    wrong.stderr,
    /SignatureInvalid: the signature does not verify: signature verification failed \(signed by key [0-9a-f]{16}…, the trusted key is [0-9a-f]{16}…\)/,
  );

  // A digest edited inside the signed payload: the signature no longer covers it.
  const text = readFileSync(bundleFile, 'utf8');
  const b = JSON.parse(text) as { dsseEnvelope: { payload: string } };
  const stmt = payloadOf(text);
  const real = stmt.subject[0]!.digest.sha256;
  stmt.subject[0]!.digest.sha256 = real.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  b.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
  const edited = join(dir, 'edited.json');
  writeFileSync(edited, JSON.stringify(b));
  const e = nc(dir, 'verify', '--key', keys.pub, '--bundle', edited, '--commit', first);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /SignatureInvalid: the signature does not verify: signature verification failed/);

  // A statement signed with the right key but naming a digest this commit does not compile to
  // (a signer fooled, or a compiler that differs): the mismatch names the sandbox and both digests.
  const signer = keySigner(loadP256PrivateKey(readFileSync(keys.key, 'utf8'), keys.key));
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(stmt)),
    type: PAYLOAD_TYPE,
  });
  const forged = join(dir, 'forged.json');
  writeFileSync(forged, JSON.stringify(bundleToJSON(bundle)));
  const f = nc(dir, 'verify', '--key', keys.pub, '--bundle', forged, '--commit', first);
  assert.equal(f.status, 1);
  assert.match(
    f.stderr,
    new RegExp(`sandbox assistant: signed digest sha256:${stmt.subject[0]!.digest.sha256}, recompiled digest sha256:${real}`),
  );

  // Usage errors are plain messages.
  assert.match(nc(dir, 'verify').stderr, /say whom to trust/);
  assert.match(nc(dir, 'sign').stderr, /say how to sign/);
  const notEc = join(dir, 'rsa.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', notEc], { stdio: 'ignore' });
  const rsa = nc(dir, 'sign', '--key', notEc);
  assert.equal(rsa.status, 1);
  assert.match(rsa.stderr, /must be an ECDSA P-256 key/);
  assert.doesNotMatch(rsa.stderr + f.stderr + e.stderr, /\n\s+at /);
});

test('verifySignedBlueprints works on a bare mirror with the notes fetched (the reconcile seam)', async (t) => {
  const dir = newRepo(t);
  const keys = keyPair(dir, 'signing');
  const commit = commitConfig(dir, CONFIG);
  assert.equal(nc(dir, 'sign', '--key', keys.key).status, 0);
  const mirror = join(dir, 'mirror.git');
  execFileSync('git', ['clone', '-q', '--bare', dir, mirror]);
  const trust = { kind: 'key' as const, publicKey: loadP256PublicKey(readFileSync(keys.pub, 'utf8'), keys.pub) };
  const before = await verifySignedBlueprints(mirror, commit, trust);
  assert.deepEqual(before.ok ? 'ok' : before.condition, 'SignatureMissing', 'a clone does not carry notes unless fetched');
  execFileSync('git', ['-C', mirror, 'fetch', '-q', 'origin', 'refs/notes/nemoclaw:refs/notes/nemoclaw']);
  const r = await verifySignedBlueprints(mirror, commit, trust);
  assert.ok(r.ok, r.ok ? '' : r.message);
  assert.deepEqual(Object.keys(r.digests), ['assistant', 'worker']);
});

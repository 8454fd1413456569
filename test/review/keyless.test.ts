// Keyless signing and verification, offline: `nemoclaw sign --keyless` runs the real Sigstore
// client code (GitHub Actions OIDC provider, Fulcio signer, Rekor witness) against loopback
// stand-ins for those three services, with a CA and a log key this test makes. `nemoclaw verify`
// then chains the certificate to a test trusted root and checks the identity and issuer for real.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { nemoclawBin, runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { commitConfig, newRepo } from './helpers.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'acme/agents/.github/workflows/nemoclaw-sign.yml@refs/heads/main';
const IDENTITY = `https://github.com/${WORKFLOW}`;

const CONFIG = `version: 1
sandboxes:
  assistant:
    runtime: process
    command: [/bin/true]
    filesystem: { read_only: [/usr] }
`;

/** RFC 8785-style canonical JSON for the flat objects Rekor signs (sorted keys, no spaces). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-subj',
    `/O=nemoclaw-test/CN=${name}`,
    '-days',
    '2',
    '-out',
    cert,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  return { key, cert };
}

const derOf = (pemFile: string) => createPublicKey(readFileSync(pemFile)).export({ type: 'spki', format: 'der' });
const certDer = (pemFile: string) => Buffer.from(readFileSync(pemFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');

function trustedRoot(url: string, ca: string, logKeyPem: string): unknown {
  const logDer = derOf(logKeyPem);
  const start = { start: '2020-01-01T00:00:00Z' };
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: logDer.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: start },
        logId: { keyId: createHash('sha256').update(logDer).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'nemoclaw-test', commonName: 'fulcio' },
        uri: url,
        certChain: { certificates: [{ rawBytes: certDer(ca).toString('base64') }] },
        validFor: start,
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += String(c);
  return s;
}

/** OIDC token endpoint (as GitHub Actions serves it), Fulcio's signingCert and Rekor's log/entries, on loopback. */
async function sigstoreStandIn(t: TestContext, dir: string, ca: { key: string; cert: string }, logKey: KeyObject) {
  const logId = createHash('sha256')
    .update(createPublicKey(logKey).export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const jwt = `${b64url({ alg: 'none' })}.${b64url({ iss: ISSUER, sub: 'repo:acme/agents:ref:refs/heads/main', aud: 'sigstore', job_workflow_ref: WORKFLOW })}.sig`;
  let n = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (
      url.pathname === '/token' &&
      req.headers.authorization === 'Bearer actions-request-token' &&
      url.searchParams.get('audience') === 'sigstore'
    )
      return json(200, { value: jwt });
    if (url.pathname === '/api/v2/signingCert' && req.method === 'POST') {
      const r = JSON.parse(await body(req));
      const claims = JSON.parse(Buffer.from(String(r.credentials.oidcIdentityToken).split('.')[1]!, 'base64url').toString());
      const pub = r.publicKeyRequest.publicKey.content as string;
      // Proof of possession: the key signed the token's subject, as Fulcio requires.
      if (!verify(null, Buffer.from(claims.sub), pub, Buffer.from(r.publicKeyRequest.proofOfPossession, 'base64')))
        return json(400, { message: 'bad proof' });
      const i = n++;
      writeFileSync(join(dir, `req${i}.pub`), pub);
      writeFileSync(
        join(dir, `ext${i}.cnf`),
        [
          '[v3]',
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=codeSigning',
          `subjectAltName=critical,URI:https://github.com/${claims.job_workflow_ref}`,
          `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${claims.iss}`,
          'authorityKeyIdentifier=keyid',
          'subjectKeyIdentifier=hash',
          '',
        ].join('\n'),
      );
      openssl(
        'x509',
        '-new',
        '-force_pubkey',
        join(dir, `req${i}.pub`),
        '-subj',
        '/CN=sigstore-intermediate-leaf',
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-days',
        '1',
        '-extfile',
        join(dir, `ext${i}.cnf`),
        '-extensions',
        'v3',
        '-out',
        join(dir, `leaf${i}.pem`),
      );
      return json(201, {
        signedCertificateDetachedSct: {
          chain: { certificates: [readFileSync(join(dir, `leaf${i}.pem`), 'utf8'), readFileSync(ca.cert, 'utf8')] },
        },
      });
    }
    if (url.pathname === '/api/v1/log/entries' && req.method === 'POST') {
      const proposed = JSON.parse(await body(req));
      const envelopeText = proposed.spec.proposedContent.envelope as string;
      const envelope = JSON.parse(envelopeText);
      const entryBody = {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: { algorithm: 'sha256', value: createHash('sha256').update(envelopeText).digest('hex') },
          payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(Buffer.from(envelope.payload, 'base64')).digest('hex') },
          signatures: [{ signature: envelope.signatures[0].sig, verifier: proposed.spec.proposedContent.verifiers[0] }],
        },
      };
      const bodyBytes = Buffer.from(canonical(entryBody));
      const b = bodyBytes.toString('base64');
      const entry = { body: b, integratedTime: Math.floor(Date.now() / 1000), logID: logId, logIndex: 0 };
      const set = sign('sha256', Buffer.from(canonical(entry)), logKey).toString('base64');
      // A log of one entry: the root is the leaf hash, and the checkpoint (a signed note) commits to it.
      const root = createHash('sha256')
        .update(Buffer.from([0]))
        .update(bodyBytes)
        .digest();
      const note = `nemoclaw-test-log\n1\n${root.toString('base64')}\n`;
      const noteSig = Buffer.concat([Buffer.from(logId, 'hex').subarray(0, 4), sign('sha256', Buffer.from(note), logKey)]);
      const checkpoint = `${note}\n\u2014 nemoclaw-test-log ${noteSig.toString('base64')}\n`;
      const inclusionProof = { logIndex: 0, treeSize: 1, rootHash: root.toString('hex'), hashes: [], checkpoint };
      return json(201, {
        [`${logId.slice(0, 16)}${'0'.repeat(48)}`]: { ...entry, verification: { signedEntryTimestamp: set, inclusionProof } },
      });
    }
    json(404, { message: 'not found' });
  };
  const server = createServer((req, res) => void handle(req, res).catch((e: Error) => (res.writeHead(500), res.end(e.message))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The CLI without blocking this process: the stand-in services run on this event loop. */
function runCliAsync(args: string[], cwd: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [nemoclawBin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

test('keyless: sign through OIDC, Fulcio and Rekor stand-ins; verify chains to the test root and checks identity and issuer', async (t) => {
  const dir = newRepo(t);
  const pki = tempDir(t, 'nemoclaw-pki-');
  const ca = makeCa(pki, 'fulcio');
  const otherCa = makeCa(pki, 'elsewhere');
  const logKeyFile = join(pki, 'rekor.key');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', logKeyFile);
  const logKey = createPrivateKey(readFileSync(logKeyFile));
  const url = await sigstoreStandIn(t, pki, ca, logKey);
  writeFileSync(join(pki, 'rekor.pub'), createPublicKey(logKey).export({ type: 'spki', format: 'pem' }));
  const root = join(pki, 'trusted_root.json');
  writeFileSync(root, JSON.stringify(trustedRoot(url, ca.cert, join(pki, 'rekor.pub'))));
  const foreignRoot = join(pki, 'foreign_root.json');
  writeFileSync(foreignRoot, JSON.stringify(trustedRoot(url, otherCa.cert, join(pki, 'rekor.pub'))));

  const commit = commitConfig(dir, CONFIG);
  const file = join(dir, 'nemoclaw.yaml');
  const env = {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'actions-request-token',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    NO_PROXY: '127.0.0.1',
  };
  const s = await runCliAsync(['sign', '-f', file, '--keyless', '--fulcio-url', url, '--rekor-url', url], dir, env);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`Signed ${commit}`));

  const verifyWith = (...args: string[]) => runCli(['verify', '-f', file, '--trusted-root', root, ...args], { cwd: dir });
  const ok = verifyWith('--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`signed by ${IDENTITY.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${ISSUER.replace(/\./g, '\\.')}\\)`));

  // Another workflow of the same repository, a pattern instead of the exact identity, another issuer.
  for (const [id, iss] of [
    [IDENTITY.replace('nemoclaw-sign.yml', 'other.yml'), ISSUER],
    [`https://github.com/acme/agents/.github/workflows/.*`, ISSUER],
    [IDENTITY.replace('@refs/heads/main', ''), ISSUER],
    [IDENTITY, 'https://accounts.example.test'],
  ] as const) {
    const r = verifyWith('--certificate-identity', id, '--certificate-oidc-issuer', iss);
    assert.equal(r.status, 1, `${id} ${iss} must be refused`);
    assert.match(r.stderr, /SignatureInvalid: the signature does not verify: .*(certificate identity error|invalid certificate extension)/);
  }
  // A certificate that does not chain to the trusted root.
  const foreign = runCli(
    ['verify', '-f', file, '--trusted-root', foreignRoot, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER],
    { cwd: dir },
  );
  assert.equal(foreign.status, 1);
  assert.match(foreign.stderr, /SignatureInvalid: the signature does not verify: Failed to verify certificate chain/);
  // A keyless bundle is not accepted where a key is required, nor the reverse.
  const pubKey = join(pki, 'rekor.pub');
  const keyed = runCli(['verify', '-f', file, '--key', pubKey], { cwd: dir });
  assert.equal(keyed.status, 1);
  assert.match(keyed.stderr, /signed keylessly \(with a certificate\), but a key was required/);
});

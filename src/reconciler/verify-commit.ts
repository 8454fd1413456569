// Verification of a fetched commit before anything compiles it: a list of checks, every one of
// which must pass. The trust anchors (SSH allowed signers, a GPG keyring) live on the host and
// are named by the source record, never read from the repository. Further checks (for instance a
// Sigstore statement over the blueprint digests) are added to `commitChecks`.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sha256 } from '../compiler/canonical.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { gitAt, gitCode } from '../util/git.js';
import { sourcePaths, type GitSource } from '../state/source.js';
import { loadP256PublicKey } from '../signing/key-signer.js';
import { parseIdentitySpec } from '../signing/identity-spec.js';
import type { Trust } from '../signing/verify.js';

const run = promisify(execFile);

export interface CheckContext {
  root: string;
  mirror: string;
  commit: string;
  source: GitSource;
}

/** `reason` names the condition a failure sets (default VerificationFailed). */
export type CheckResult = { ok: true; by: string } | { ok: false; why: string; reason?: 'SignatureMissing' | 'SignatureInvalid' };

export interface CommitCheck {
  name: string;
  run(ctx: CheckContext): Promise<CheckResult>;
}

/** %G? %GK %GS %GF of a commit: status letter, key, signer, fingerprint. */
async function signatureOf(mirror: string, commit: string, o: { config?: string[]; env?: Record<string, string> }) {
  const out = await gitAt(mirror, o).raw(['log', '-1', '--format=%G?%x00%GK%x00%GS%x00%GF', commit]);
  const [status = 'N', key = '', signer = '', fpr = ''] = out.trim().split('\0');
  return { status, key, signer, fpr };
}

/** A good signature from a key listed in git's SSH allowed-signers file. */
const sshAllowedSigners: CommitCheck = {
  name: 'ssh-signature',
  async run({ mirror, commit, source }) {
    const file = source.allowed_signers!;
    if (!existsSync(file)) return { ok: false, why: `allowed signers file ${file} does not exist` };
    const config = ['gpg.format=ssh', `gpg.ssh.allowedSignersFile=${file}`];
    // verify-commit's exit code and %G? must both say "good and trusted" (G): U is a good
    // signature by a key that is not in the file.
    const v = await gitCode(mirror, ['verify-commit', commit], { config });
    const sig = await signatureOf(mirror, commit, { config });
    if (v.code === 0 && sig.status === 'G') return { ok: true, by: `${sig.signer} ${sig.fpr || sig.key}`.trim() };
    return { ok: false, why: describe(sig.status, sig.fpr || sig.key, v.stderr) };
  },
};

/** A private GNUPGHOME holding exactly the keyring's keys, trusted because the operator chose them. */
async function gnupgHomeFor(root: string, keyring: string): Promise<string> {
  const home = sourcePaths(root).gnupgHome;
  const stamp = join(home, 'keyring.sha256');
  const digest = sha256(readFileSync(keyring));
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return home;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(home, 'gpg.conf'), 'trust-model always\n', { mode: 0o600 });
  await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', keyring], { timeout: 60_000 });
  writeFileAtomic(stamp, digest, { mode: 0o600 });
  return home;
}

const gpgKeyring: CommitCheck = {
  name: 'gpg-signature',
  async run({ root, mirror, commit, source }) {
    const keyring = source.gpg_keyring!;
    if (!existsSync(keyring)) return { ok: false, why: `GPG keyring ${keyring} does not exist` };
    const env = { GNUPGHOME: await gnupgHomeFor(root, keyring) };
    const config = ['gpg.format=openpgp'];
    const v = await gitCode(mirror, ['verify-commit', commit], { config, env });
    const sig = await signatureOf(mirror, commit, { config, env });
    if (v.code === 0 && sig.status === 'G') return { ok: true, by: `${sig.signer} ${sig.fpr || sig.key}`.trim() };
    return { ok: false, why: describe(sig.status, sig.fpr || sig.key, v.stderr) };
  },
};

function describe(status: string, key: string, stderr: string): string {
  switch (status) {
    case 'N':
      return 'the commit is not signed';
    case 'U':
    case 'E':
      return `signed by ${key || 'a key'} that is not among the allowed signers`;
    case 'B':
      return 'the signature is bad (the commit was altered after signing)';
    case 'X':
    case 'Y':
    case 'R':
      return `the signing key ${key} has expired or was revoked`;
    default:
      return stderr.trim().split('\n')[0] || `signature status ${status}`;
  }
}

/** One anchor is enough: a commit carries one signature, SSH or GPG. */
function anyOf(checks: CommitCheck[]): CommitCheck {
  return {
    name: checks.map((c) => c.name).join('|'),
    async run(ctx) {
      const whys: string[] = [];
      for (const c of checks) {
        const r = await c.run(ctx);
        if (r.ok) return r;
        whys.push(r.why);
      }
      return { ok: false, why: [...new Set(whys)].join('; ') };
    },
  };
}

/** Host-side trust for --require-signature; a bad anchor fails the check (closed), never skips it. */
function trustFor(r: NonNullable<GitSource['require_signature']>): Trust {
  if (r.spec.startsWith('key:')) {
    const file = r.spec.slice(4);
    return { kind: 'key', publicKey: loadP256PublicKey(readFileSync(file, 'utf8'), file) };
  }
  const id = parseIdentitySpec(r.spec.slice('identity:'.length));
  if (!id || !r.trusted_root) throw new Error(`--require-signature ${r.spec}: needs identity:ID@ISSUER and --trusted-root`);
  return { kind: 'identity', ...id, trustedRoot: JSON.parse(readFileSync(r.trusted_root, 'utf8')) as unknown };
}

/**
 * The Sigstore statement `nemoclaw sign` stored as a note on the commit: signed by the required
 * key or identity, naming this commit, and equal to the digests this host compiles from it.
 */
function signedBlueprints(r: NonNullable<GitSource['require_signature']>): CommitCheck {
  return {
    name: 'signed-blueprints',
    async run(ctx) {
      // Loaded here, not at start-up: @sigstore/* costs ~150 ms, and a tick whose commit is already
      // verified (verify-cache) never gets this far.
      const { verifySignedBlueprints } = await import('../signing/verify.js');
      const v = await verifySignedBlueprints(ctx.mirror, ctx.commit, trustFor(r), { file: ctx.source.path });
      return v.ok ? { ok: true, by: `blueprints signed by ${v.signer}` } : { ok: false, why: v.message, reason: v.condition };
    },
  };
}

/** The checks a commit of this source must pass, all of them. Empty only with --no-verify. */
export function commitChecks(source: GitSource): CommitCheck[] {
  if (!source.verify) return [];
  const sig: CommitCheck[] = [];
  if (source.allowed_signers) sig.push(sshAllowedSigners);
  if (source.gpg_keyring) sig.push(gpgKeyring);
  // No anchor and no --no-verify is refused when the source is recorded; fail closed here too.
  if (sig.length === 0) return [{ name: 'trust-anchor', run: async () => ({ ok: false, why: 'no trust anchor configured' }) }];
  return source.require_signature ? [anyOf(sig), signedBlueprints(source.require_signature)] : [anyOf(sig)];
}

/** Run every check; the first failure is the answer. `by` joins what each check vouched for. */
export async function verifyCommit(ctx: CheckContext, checks: CommitCheck[]): Promise<CheckResult> {
  if (checks.length === 0) return { ok: true, by: 'unverified' };
  const by: string[] = [];
  for (const c of checks) {
    let r: CheckResult;
    try {
      r = await c.run(ctx);
    } catch (e) {
      r = { ok: false, why: `${c.name}: ${(e as Error).message.split('\n')[0]}` };
    }
    if (!r.ok) return r;
    by.push(r.by);
  }
  return { ok: true, by: by.join(', ') };
}

// nemoclaw verify: check a commit's signed statement against a key or a certificate identity, and
// that the signed digests equal what this machine compiles from the same commit.
import type { CAC } from 'cac';
import { readFileSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import { locateInRepo, resolveCommit } from '../../pipeline/git-source.js';
import { loadP256PublicKey } from '../../signing/key-signer.js';
import { verifySignedBlueprints, type Trust } from '../../signing/verify.js';
import { command } from '../run-command.js';

interface Opts {
  file: string;
  key?: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  trustedRoot?: string;
  bundle?: string;
  commit: string;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [], 1);
  }
}

function trustOf(o: Opts): Trust {
  const identity = o.certificateIdentity !== undefined || o.certificateOidcIssuer !== undefined;
  if (o.key !== undefined && identity) throw new UserError('--key and --certificate-identity exclude each other', [], 1);
  if (o.key !== undefined) {
    try {
      return { kind: 'key', publicKey: loadP256PublicKey(read(String(o.key)), String(o.key)) };
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError((e as Error).message, [], 1);
    }
  }
  if (!identity) throw new UserError('say whom to trust: --key pub.pem, or --certificate-identity ID --certificate-oidc-issuer URL', [], 1);
  if (!o.certificateIdentity || !o.certificateOidcIssuer)
    throw new UserError('--certificate-identity and --certificate-oidc-issuer go together', [], 1);
  if (!o.trustedRoot)
    throw new UserError('keyless verification needs --trusted-root trusted_root.json (the Sigstore trust root to chain to)', [], 1);
  let root: unknown;
  try {
    root = JSON.parse(read(o.trustedRoot));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${o.trustedRoot}: not JSON`, [], 1);
  }
  return { kind: 'identity', identity: String(o.certificateIdentity), issuer: String(o.certificateOidcIssuer), trustedRoot: root };
}

export function register(cli: CAC): void {
  cli
    .command('verify', "Verify a commit's signed blueprint digests against a key or identity, recompiling to compare")
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--key <pub.pem>', 'Trust signatures by this ECDSA P-256 public key')
    .option('--certificate-identity <id>', 'Keyless: the exact certificate identity (SAN), e.g. a workflow URL @ ref')
    .option('--certificate-oidc-issuer <url>', 'Keyless: the OIDC issuer of that identity')
    .option('--trusted-root <file>', 'Keyless: Sigstore trusted_root.json to chain certificates and log entries to')
    .option('--bundle <file>', `A bundle file instead of the commit's note`)
    .option('--commit <ref>', 'Commit to verify', { default: 'HEAD' })
    .action(
      command(async (opts: Opts) => {
        const trust = trustOf(opts);
        const f = await locateInRepo(opts.file);
        const commit = await resolveCommit(f.root, String(opts.commit));
        const r = await verifySignedBlueprints(f.root, commit, trust, {
          file: f.path,
          bundle: opts.bundle ? read(opts.bundle) : undefined,
        });
        if (!r.ok) throw new UserError(`${r.condition}: ${r.message}`, [], 1);
        process.stdout.write(`Verified ${r.commit}: signed by ${r.signer}; every digest matches this compile of ${r.file}\n`);
        for (const [name, digest] of Object.entries(r.digests)) process.stdout.write(`  ${name}  ${digest}\n`);
        return 0;
      }),
    );
}

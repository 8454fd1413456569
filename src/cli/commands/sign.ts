// nemoclaw sign: sign the blueprint digests a commit compiles to, as a git note or a bundle file.
import type { CAC } from 'cac';
import { readFileSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import { NOTES_REF } from '../../signing/notes.js';
import { signCommit, storeSignature, type SigningMethod } from '../../signing/sign.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { command } from '../run-command.js';

interface Opts {
  file: string;
  key?: string;
  keyless?: boolean;
  out?: string;
  commit: string;
  fulcioUrl?: string;
  rekorUrl?: string;
}

function method(o: Opts): SigningMethod {
  if (o.key !== undefined && o.keyless) throw new UserError('--key and --keyless exclude each other', [], 1);
  if (o.key === undefined && !o.keyless) throw new UserError('say how to sign: --key key.pem, or --keyless (OIDC in CI)', [], 1);
  if (o.keyless) return { kind: 'keyless', fulcioUrl: o.fulcioUrl, rekorUrl: o.rekorUrl };
  let pem: string;
  try {
    pem = readFileSync(String(o.key), 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${o.key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [], 1);
  }
  return { kind: 'key', privateKeyPem: pem, file: String(o.key) };
}

export function register(cli: CAC): void {
  cli
    .command('sign', `Sign the blueprint digests a commit compiles to (a git note in ${NOTES_REF}, or --out)`)
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--key <key.pem>', 'Sign with this ECDSA P-256 private key')
    .option('--keyless', 'Sign with a short-lived Sigstore certificate for the CI identity (OIDC)')
    .option('--out <file>', 'Write the Sigstore bundle here instead of a git note')
    .option('--commit <ref>', 'Commit to sign', { default: 'HEAD' })
    .option('--fulcio-url <url>', 'Keyless: Fulcio instance (default: the public Sigstore instance)')
    .option('--rekor-url <url>', 'Keyless: Rekor instance (default: the public Sigstore instance)')
    .action(
      command(async (opts: Opts) => {
        const r = await signCommit(opts.file, String(opts.commit), method(opts));
        if (opts.out) writeFileAtomic(opts.out, r.bundle + '\n');
        else await storeSignature(opts.file, r);
        const where = opts.out ?? `a note in ${NOTES_REF} (push it: git push origin ${NOTES_REF})`;
        process.stdout.write(`Signed ${r.commit} (${r.statement.subject.length} sandbox digest(s)) into ${where}\n`);
        for (const s of r.statement.subject) process.stdout.write(`  ${s.name.replace(/^sandbox\//, '')}  sha256:${s.digest.sha256}\n`);
        return 0;
      }),
    );
}

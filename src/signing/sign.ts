// Sign what a commit compiles to: recompile the config at the commit from git objects, put every
// sandbox's blueprint digest in an in-toto statement and sign it into a Sigstore bundle (DSSE).
import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { CIContextProvider, DSSEBundleBuilder, FulcioSigner, RekorWitness, type Signer, type Witness } from '@sigstore/sign';
import { sha256 } from '../compiler/canonical.js';
import { UserError } from '../util/errors.js';
import { compileSource, locateInRepo, resolveCommit, sourceAtCommit } from '../pipeline/git-source.js';
import { keySigner, loadP256PrivateKey } from './key-signer.js';
import { writeNote } from './notes.js';
import { blueprintStatement, PAYLOAD_TYPE, type BlueprintStatement } from './statement.js';

export type SigningMethod =
  | { kind: 'key'; privateKeyPem: string; file: string }
  /** Keyless: an OIDC token from the CI (GitHub Actions), a certificate from Fulcio, an entry in Rekor. */
  | { kind: 'keyless'; fulcioUrl?: string; rekorUrl?: string };

export interface SignResult {
  commit: string;
  statement: BlueprintStatement;
  /** The bundle as JSON text, one line. */
  bundle: string;
}

function signerFor(m: SigningMethod): { signer: Signer; witnesses: Witness[] } {
  if (m.kind === 'key') {
    try {
      return { signer: keySigner(loadP256PrivateKey(m.privateKeyPem, m.file)), witnesses: [] };
    } catch (e) {
      throw new UserError((e as Error).message, [], 1);
    }
  }
  return {
    signer: new FulcioSigner({
      identityProvider: new CIContextProvider('sigstore'),
      ...(m.fulcioUrl ? { fulcioBaseURL: m.fulcioUrl } : {}),
    }),
    witnesses: [new RekorWitness({ entryType: 'dsse', ...(m.rekorUrl ? { rekorBaseURL: m.rekorUrl } : {}) })],
  };
}

/** Compile `file` at `ref` and sign its blueprint digests. Nothing is stored; see storeSignature. */
export async function signCommit(file: string, ref: string, method: SigningMethod): Promise<SignResult> {
  const f = await locateInRepo(file);
  const commit = await resolveCommit(f.root, ref);
  const src = await sourceAtCommit(f, commit);
  if (!src) throw new UserError(`${f.path} does not exist at ${commit.slice(0, 12)}`, [], 1);
  const { compiled } = await compileSource(src, commit);
  const statement = blueprintStatement(commit, f.path, compiled.output, sha256(compiled.output.indexFile));
  const { signer, witnesses } = signerFor(method);
  let bundle: Bundle;
  try {
    bundle = await new DSSEBundleBuilder({ signer, witnesses }).create({
      data: Buffer.from(JSON.stringify(statement)),
      type: PAYLOAD_TYPE,
    });
  } catch (e) {
    throw new UserError(`signing failed: ${(e as Error).message}`, [], 1);
  }
  return { commit, statement, bundle: JSON.stringify(bundleToJSON(bundle)) };
}

/** Store the bundle as the commit's note in refs/notes/nemoclaw. */
export async function storeSignature(file: string, r: SignResult): Promise<void> {
  const f = await locateInRepo(file);
  await writeNote(f.root, r.commit, r.bundle);
}

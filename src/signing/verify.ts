// Verify a commit's signed statement: the signature (against a key, or a certificate identity
// chained to a trusted root) and then that the signed digests equal what this machine compiles
// from the same commit. A host trusts its own compile plus the signature, never a blob it cannot
// reproduce. Every failure is a value naming the condition, so the reconcile loop can report it.
import { bundleFromJSON, isBundleWithDsseEnvelope, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type VerificationPolicy } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { UserError } from '../util/errors.js';
import { compileSource, sourceAtCommit } from '../pipeline/git-source.js';
import { keyHint } from './key-signer.js';
import { readNote } from './notes.js';
import { digestMismatches, parseStatement, signedDigests } from './statement.js';

export type Trust =
  | { kind: 'key'; publicKey: KeyObject }
  /** Keyless: the certificate's SAN must equal `identity` and its OIDC issuer `issuer`; `trustedRoot` is a Sigstore trusted_root.json value. */
  | { kind: 'identity'; identity: string; issuer: string; trustedRoot: unknown };

export type SignatureCondition = 'SignatureMissing' | 'SignatureInvalid';

export type VerifyResult =
  | { ok: true; commit: string; file: string; digests: Record<string, string>; signer: string }
  | { ok: false; condition: SignatureCondition; message: string };

export interface VerifyOptions {
  /** The config's path inside the repository (default nemoclaw.yaml). */
  file?: string;
  /** A bundle's JSON text; default: the commit's note in refs/notes/nemoclaw. */
  bundle?: string;
}

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const invalid = (message: string): VerifyResult => ({ ok: false, condition: 'SignatureInvalid', message });

/** Check the bundle's signature against `trust`; returns who signed, or throws with the reason. */
function verifySignature(bundle: Bundle, trust: Trust): string {
  const content = bundle.verificationMaterial.content;
  const entity = toSignedEntity(bundle);
  if (trust.kind === 'key') {
    if (content.$case !== 'publicKey') throw new Error('the bundle is signed keylessly (with a certificate), but a key was required');
    const expected = keyHint(trust.publicKey);
    const material = toTrustMaterial(TrustedRoot.fromJSON(EMPTY_ROOT), () => ({ publicKey: trust.publicKey, validFor: () => true }));
    try {
      new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 }).verify(entity);
    } catch (e) {
      const other =
        content.publicKey.hint && content.publicKey.hint !== expected
          ? ` (signed by key ${content.publicKey.hint.slice(0, 16)}…, the trusted key is ${expected.slice(0, 16)}…)`
          : '';
      throw new Error(`${(e as Error).message}${other}`);
    }
    return `key ${expected.slice(0, 16)}…`;
  }
  if (content.$case === 'publicKey') throw new Error('the bundle is signed with a key, but a certificate identity was required');
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(trust.trustedRoot);
  } catch (e) {
    throw new Error(`the trusted root is not a Sigstore trusted_root.json: ${(e as Error).message}`);
  }
  // A transparency-log entry gives the signing time the short-lived certificate is checked
  // against; an SCT is required whenever the trusted root names CT logs.
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: root.ctlogs.length ? 1 : 0, tsaThreshold: 0 });
  // @sigstore/verify matches the SAN as a regular expression: anchor and escape it so only the exact identity passes.
  const policy: VerificationPolicy = { subjectAlternativeName: `^${escapeRegExp(trust.identity)}$`, extensions: { issuer: trust.issuer } };
  const signer = verifier.verify(entity, policy);
  if (signer.identity?.subjectAlternativeName !== trust.identity || signer.identity.extensions?.issuer !== trust.issuer)
    throw new Error(
      `certificate identity ${signer.identity?.subjectAlternativeName} (${signer.identity?.extensions?.issuer}) is not the required one`,
    );
  return `${trust.identity} (${trust.issuer})`;
}

/**
 * The seam for `reconcile --require-signature`: is `commit` of the repository at `repoDir` (a
 * work tree or a bare mirror) signed by `trust`, and do the signed digests equal what the config
 * at that commit compiles to here? Reads git objects only; writes nothing.
 */
export async function verifySignedBlueprints(repoDir: string, commit: string, trust: Trust, o: VerifyOptions = {}): Promise<VerifyResult> {
  const file = o.file ?? 'nemoclaw.yaml';
  const text = o.bundle ?? (await readNote(repoDir, commit));
  if (text === undefined)
    return {
      ok: false,
      condition: 'SignatureMissing',
      message: `commit ${commit.slice(0, 12)} has no signed statement (no note in refs/notes/nemoclaw)`,
    };
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(text));
  } catch (e) {
    return invalid(`the signature is not a Sigstore bundle: ${(e as Error).message}`);
  }
  if (!isBundleWithDsseEnvelope(bundle)) return invalid('the bundle does not carry a DSSE-signed statement');
  let signer: string;
  try {
    signer = verifySignature(bundle, trust);
  } catch (e) {
    return invalid(`the signature does not verify: ${(e as Error).message}`);
  }
  let statement;
  try {
    statement = parseStatement(bundle.content.dsseEnvelope.payload);
  } catch (e) {
    return invalid((e as Error).message);
  }
  const src = statement.predicate.source;
  if (src.commit !== commit) return invalid(`the signed statement is for commit ${src.commit.slice(0, 12)}, not ${commit.slice(0, 12)}`);
  if (src.file !== file) return invalid(`the signed statement is for ${src.file}, not ${file}`);
  const source = await sourceAtCommit({ root: repoDir, path: file }, commit);
  if (!source) return invalid(`${file} does not exist at ${commit.slice(0, 12)}`);
  let compiled;
  try {
    compiled = (await compileSource(source, commit)).compiled;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return invalid(`${file} at ${commit.slice(0, 12)} does not compile here, so its signed digests cannot be checked: ${e.message}`);
  }
  const digests = new Map(compiled.output.sandboxes.map((s) => [s.name, s.digest]));
  const mismatches = digestMismatches(signedDigests(statement), digests);
  if (mismatches.length) return invalid(`the signed digests differ from this compile:\n  - ${mismatches.join('\n  - ')}`);
  return { ok: true, commit, file, digests: Object.fromEntries(digests), signer };
}

// A no-op tick re-verifies nothing: a commit that passed every check is remembered under a key
// made of everything the answer depends on: the commit, the notes ref holding its signed
// statement, and the trust anchors by content (a key removed from allowed_signers, a new
// keyring, another required signer: a new key, a fresh verification). Only passes are kept;
// a refused commit is checked again on every tick.
import { readFileSync } from 'node:fs';
import { canonicalJson, sha256 } from '../compiler/canonical.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { GitSource } from '../state/source.js';

/** Content digest of an anchor file; a missing one is part of the key too (its checks fail). */
function fileDigest(path: string | null | undefined): string | null {
  if (!path) return null;
  try {
    return sha256(readFileSync(path));
  } catch {
    return 'unreadable';
  }
}

export function verificationKey(source: GitSource, commit: string, notes: string | null): string {
  const r = source.require_signature ?? null;
  return sha256(
    canonicalJson({
      v: 1,
      commit,
      notes,
      path: source.path,
      verify: source.verify,
      allowed_signers: [source.allowed_signers, fileDigest(source.allowed_signers)],
      gpg_keyring: [source.gpg_keyring, fileDigest(source.gpg_keyring)],
      require_signature: r && [r.spec, r.spec.startsWith('key:') ? fileDigest(r.spec.slice(4)) : null, fileDigest(r.trusted_root)],
    }),
  );
}

/** Who vouched for the commit when it last passed under the same key, or null. */
export function cachedVerification(file: string, key: string): string | null {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; by?: unknown };
    return c.key === key && typeof c.by === 'string' ? c.by : null;
  } catch {
    return null;
  }
}

export function rememberVerification(file: string, key: string, by: string): void {
  writeFileAtomic(file, JSON.stringify({ key, by }) + '\n', { mode: 0o600 });
}

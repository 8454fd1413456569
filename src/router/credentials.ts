// Provider credentials, resolved at call time from a reference: `env:NAME` (the daemon's
// environment) or `file:/path` (re-read when the file changes, so rotating a key needs no
// restart). The value lives only in memory and only goes into the upstream request header.
import { readFileSync, statSync } from 'node:fs';

export class CredentialError extends Error {
  override name = 'CredentialError';
}

interface Cached {
  stamp: string;
  value: string;
}

export interface CredentialStore {
  /** The key for a reference, or null for a provider without one; throws CredentialError (never naming the value). */
  resolve(ref: string | null): string | null;
}

export function credentialStore(env: NodeJS.ProcessEnv = process.env): CredentialStore {
  const files = new Map<string, Cached>();
  return {
    resolve(ref) {
      if (ref === null) return null;
      if (ref.startsWith('env:')) {
        const v = env[ref.slice(4)]?.trim();
        if (!v) throw new CredentialError(`${ref} is not set in the gateway's environment`);
        return v;
      }
      if (ref.startsWith('file:')) {
        const path = ref.slice(5);
        let stamp: string;
        try {
          const st = statSync(path, { bigint: true });
          stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        } catch (e) {
          throw new CredentialError(`${ref} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
        }
        const hit = files.get(path);
        if (hit?.stamp === stamp) return hit.value;
        let value: string;
        try {
          value = readFileSync(path, 'utf8').trim();
        } catch (e) {
          throw new CredentialError(`${ref} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
        }
        if (!value || /[\r\n]/.test(value)) throw new CredentialError(`${ref} must hold one non-empty line`);
        files.set(path, { stamp, value });
        return value;
      }
      throw new CredentialError('a credential must be env:NAME or file:/path');
    },
  };
}

// Credentials must never be written into nemoclaw.yaml: it is committed, compiled into artifacts
// and shown in diffs. Every key and string value anywhere in the file is checked.
import { findSecrets } from '../secrets.js';
import type { Reporter } from '../report.js';

type Path = (string | number)[];

const HINT = 'store it outside the file and reference it from a provider as credential: env:NAME or file:/absolute/path; then revoke the leaked credential';

export function lintSecrets(r: Reporter, value: unknown, path: Path = []): void {
  if (typeof value === 'string') {
    for (const f of findSecrets(value)) {
      r.report('secret-in-config', path, `this value contains what looks like a credential (${f.what}, ${f.shown}); credentials must not be written in nemoclaw.yaml`, HINT);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => lintSecrets(r, v, [...path, i]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      for (const f of findSecrets(k)) {
        // The pointer names the parent, not the key: the key is the secret.
        r.report('secret-in-config', path, `a key here contains what looks like a credential (${f.what}, ${f.shown}); credentials must not be written in nemoclaw.yaml`, HINT, { at: [...path, k], key: true });
      }
      lintSecrets(r, v, [...path, k]);
    }
  }
}

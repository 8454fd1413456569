// `env:NAME` / `file:/absolute/path`: how a secret or a provider credential is referenced in
// nemoclaw.yaml. Only the reference is ever compiled; the host reads the value at start. Pure.

export type SecretRef = { kind: 'env'; name: string } | { kind: 'file'; path: string };

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** The parsed reference, or null when REF is not one (it may be the secret itself: never echo it). */
export function parseSecretRef(ref: string): SecretRef | null {
  const env = ENV_REF.exec(ref);
  if (env) return { kind: 'env', name: env[1]! };
  if (!ref.startsWith('file:')) return null;
  const path = ref.slice(5);
  const parts = path.split('/');
  const ok = path.startsWith('/') && path.length > 1 && !path.endsWith('/') && !parts.includes('..') && !parts.includes('.');
  return ok && !/[\0\n]/.test(path) ? { kind: 'file', path } : null;
}

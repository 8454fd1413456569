// `identity:ID@ISSUER` (a Sigstore keyless signer): split apart here, away from the Sigstore
// verifier, so that parsing a flag does not load @sigstore/* (~150 ms of start-up).

/** Splits at the last `@` before the issuer URL (identities contain `@refs/...`); undefined without one. */
export function parseIdentitySpec(spec: string): { identity: string; issuer: string } | undefined {
  const at = spec.lastIndexOf('@http');
  if (at <= 0) return undefined;
  return { identity: spec.slice(0, at), issuer: spec.slice(at + 1) };
}

// Keyed signing with a P-256 private key in a PEM file. @sigstore/sign ships only the Fulcio
// (keyless) signer, so this is the small Signer its bundle builder accepts, over node:crypto.
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { Signer } from '@sigstore/sign';

/** The key's hint in a bundle: sha256 of its DER SubjectPublicKeyInfo, hex. Lets a verifier say which key signed. */
export function keyHint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** Throws a plain message when the PEM is not an EC P-256 private key. */
export function loadP256PrivateKey(pem: string, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new Error(`${file}: not a PEM private key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error(`${file}: must be an ECDSA P-256 key (openssl ecparam -name prime256v1 -genkey)`);
  return key;
}

export function loadP256PublicKey(pem: string, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem); // accepts a private key too and derives the public half
  } catch (e) {
    throw new Error(`${file}: not a PEM public key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error(`${file}: must be an ECDSA P-256 public key`);
  return key;
}

export function keySigner(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const hint = keyHint(publicKey);
  return {
    sign: (data: Buffer) =>
      Promise.resolve({ signature: sign('sha256', data, privateKey), key: { $case: 'publicKey' as const, publicKey: pem, hint } }),
  };
}

// sha256 for code on the CLI's start-up path (lint, validate, run). node:crypto costs ~10 ms to
// load, and most of those commands never hash anything: it is loaded on the first call.
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
/** crypto.hash (Node ≥ 20.12): one call, no Hash object; ~2× faster on the small inputs hashed by the hundred in a plan. */
type OneShot = (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string;
let hash: OneShot | undefined;

/** Lowercase hex sha256 of DATA (strings as UTF-8). */
export function sha256Hex(data: string | Uint8Array): string {
  if (!hash) {
    const crypto = createRequire(import.meta.url)('node:crypto') as Crypto & { hash?: OneShot };
    hash = crypto.hash ?? ((algorithm, d, encoding) => crypto.createHash(algorithm).update(d).digest(encoding));
  }
  return hash('sha256', data, 'hex');
}

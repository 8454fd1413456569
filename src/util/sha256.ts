// sha256 for code on the CLI's start-up path (lint, validate, run). node:crypto costs ~10 ms to
// load, and most of those commands never hash anything: it is loaded on the first call.
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
let crypto: Crypto | undefined;

/** Lowercase hex sha256 of DATA (strings as UTF-8). */
export function sha256Hex(data: string | Uint8Array): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as Crypto;
  return crypto.createHash('sha256').update(data).digest('hex');
}

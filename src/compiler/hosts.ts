// Host and path normalization shared by the compiler and the linter.
import { domainToASCII } from 'node:url';
import { posix } from 'node:path';

export interface NormalizedHost {
  host: string;
  wildcard: boolean;
}

/** `*.Exämple.COM.` → { host: 'xn--exmple-cua.com', wildcard: true }; undefined when not a valid name. */
export function normalizeHost(raw: string): NormalizedHost | undefined {
  let s = raw.trim().toLowerCase();
  let wildcard = false;
  if (s.startsWith('*.')) {
    wildcard = true;
    s = s.slice(2);
  }
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s === '' || s.includes('*')) return undefined;
  const ascii = domainToASCII(s);
  if (!ascii || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  if (!labels.every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) return undefined;
  return { host: ascii, wildcard };
}

/** Absolute, normalized path without trailing slash; undefined for relative paths or `..`. */
export function normalizePath(raw: string): string | undefined {
  if (!raw.startsWith('/')) return undefined;
  if (raw.split('/').includes('..')) return undefined;
  const p = posix.normalize(raw);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Parse a size such as `2GiB` or a byte count. */
export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^([0-9]+)(B|KiB|MiB|GiB|TiB)$/.exec(v);
  if (!m) throw new Error(`invalid size ${v}`);
  const mult = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }[m[2] as 'B'];
  return Number(m[1]) * mult;
}

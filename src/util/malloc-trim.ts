// glibc's malloc_trim(0): hand free heap pages back to the kernel. Node's buffers and TLS state
// live in malloc's arenas, and glibc keeps what a burst of connections freed mapped until a trim
// (bench/proxy.ts --memory: gateway RSS after load 1.15× idle without it). Through koffi, our FFI
// for the few raw libc calls; a libc without it (musl) gets a no-op.
import { createRequire } from 'node:module';

let trim: (() => void) | null | undefined;

export function mallocTrim(): void {
  if (trim === undefined) {
    try {
      const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
      const fn = koffi.load('libc.so.6').func('malloc_trim', 'int', ['size_t']) as (pad: number) => number;
      trim = () => void fn(0);
    } catch {
      trim = null;
    }
  }
  trim?.();
}

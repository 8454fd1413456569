// Give memory back once a busy gateway goes quiet. Under load V8 grows its young generation (up to
// 3 × 16 MiB semi-spaces) and old-space pages; an idle gateway allocates nothing, so no collection
// runs and RSS stays at its peak (measured: 55 → 110 MiB after 10,000 requests, with only ~2 MiB
// of it live objects). A few full collections once every connection has closed shrink the heap
// back, and a malloc_trim returns what glibc's arenas kept (bench/proxy.ts --memory).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mallocTrim } from '../util/malloc-trim.js';

export interface IdleCollector {
  opened(): void;
  closed(): void;
}

/** The engine's collector, exposed for this one purpose; undefined if the flag cannot be set. */
function engineGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Collect `quietMs` after the last connection closed, once per busy spell; then `trim` gives the
 * pages malloc kept back to the kernel (src/util/malloc-trim.ts).
 */
export function idleCollector(quietMs: number, gc: (() => void) | undefined = engineGc(), trim: () => void = mallocTrim): IdleCollector {
  let active = 0;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  return {
    opened() {
      active++;
      busy = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    closed() {
      if (active > 0) active--;
      if (active > 0 || !busy || !gc) return;
      if (timer) clearTimeout(timer);
      let rounds = 0;
      const collect = () => {
        // V8 shrinks the young generation only after a collection that follows a quiet spell with
        // some allocation, so one collection is not enough: three, a little apart.
        gc();
        timer = ++rounds < 3 ? setTimeout(collect, 200).unref() : undefined;
        if (!timer) {
          busy = false;
          trim();
        }
      };
      timer = setTimeout(collect, quietMs).unref();
    },
  };
}

// Atomic file writes: write a temp file in the same directory, fsync, rename over the target.
// A reader (or a crash) sees the old file or the new one, never half of one.
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface WriteOptions {
  mode?: number;
  /**
   * fsync the file and its directory (default). Rebuildable output (compile's artifact directory)
   * turns it off: rename still guarantees readers never see a partial file, and thousands of
   * fsyncs would dominate a large compile.
   */
  durable?: boolean;
}

/** Unique within this process too: asynchronous writes of one file may overlap in one millisecond. */
let seq = 0;
const tmpFor = (path: string) =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${(seq++).toString(36)}.tmp`);

export function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const { mode = 0o644, durable = true } = opts;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = tmpFor(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (!durable) return;
  // Persist the rename itself.
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * Several files that only make sense together (a config and its lock): every one is written to a
 * temp file beside its target first, and only when all are on disk are they renamed over their
 * targets. A failure before the renames leaves every target as it was and no temp file behind.
 */
export function writeFilesAtomic(files: readonly (readonly [path: string, data: string | Uint8Array])[], opts: WriteOptions = {}): void {
  const { mode = 0o644, durable = true } = opts;
  const staged: [tmp: string, path: string][] = [];
  try {
    for (const [path, data] of files) {
      const dir = dirname(path);
      mkdirSync(dir, { recursive: true });
      const tmp = tmpFor(path);
      const fd = openSync(tmp, 'wx', mode);
      staged.push([tmp, path]);
      try {
        writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
        if (durable) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const [tmp, path] of staged) renameSync(tmp, path);
  } catch (e) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw e;
  }
  if (!durable) return;
  for (const dir of new Set(staged.map(([, path]) => dirname(path)))) {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** fsync in the thread pool: the event loop goes on meanwhile. */
const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));

/**
 * writeFileAtomic for several files of one directory at once, with the fsyncs (the slow part) off
 * the event loop: each file is written beside its target, all are fsynced side by side, renamed
 * over their targets, and the directory is fsynced once for all of them. Every file is either the
 * old one or the new one after a crash; once the promise resolves all are the new ones, durably.
 * Writing into the page cache stays synchronous: a chain of awaits costs a busy process one
 * event-loop turn each.
 */
export async function writeFilesAtomicAsync(
  dir: string,
  files: [name: string, data: string | Uint8Array][],
  opts: WriteOptions = {},
): Promise<void> {
  const { mode = 0o644, durable = true } = opts;
  mkdirSync(dir, { recursive: true });
  const written: { tmp: string; path: string; fd: number | null }[] = [];
  try {
    for (const [name, data] of files) {
      const path = join(dir, name);
      const w = { tmp: tmpFor(path), path, fd: null as number | null };
      w.fd = openSync(w.tmp, 'wx', mode);
      written.push(w);
      writeSync(w.fd, typeof data === 'string' ? Buffer.from(data) : data);
    }
    if (durable) await Promise.all(written.map((w) => fsyncAsync(w.fd!)));
    for (const w of written) {
      closeSync(w.fd!);
      w.fd = null;
    }
    for (const w of written) renameSync(w.tmp, w.path);
  } catch (e) {
    for (const w of written) {
      if (w.fd !== null) closeSync(w.fd);
      rmSync(w.tmp, { force: true });
    }
    throw e;
  }
  if (durable) await fsyncDirAsync(dir);
}

/** Persist the entries of DIR (a file created or renamed in it), fsyncing off the event loop. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const dfd = openSync(dir, 'r');
  try {
    await fsyncAsync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export function writeFileAtomicAsync(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  return writeFilesAtomicAsync(dirname(path), [[basename(path), data]], opts);
}

/**
 * Group commit for a file rewritten whole on every change (a journal, an inventory): `save()`
 * resolves once a write that started after the call has finished. The changes of one event-loop
 * turn share a write, and so do all changes made while a write is in flight: the number of writes
 * follows the disk's latency, not the number of changes, and the event loop never waits on fsync.
 * `write` must take its snapshot synchronously, before its first await. A failed write rejects
 * the saves it carried; the next save writes again.
 */
export class CoalescedWrites {
  private inflight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly write: () => Promise<void>) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    const q = (async () => {
      await new Promise<void>((r) => setImmediate(r)); // this turn's other changes
      while (this.inflight) await this.inflight.catch(() => {});
      this.queued = undefined; // changes from here on need the next write
      const w = this.write();
      this.inflight = w;
      try {
        await w;
      } finally {
        if (this.inflight === w) this.inflight = undefined;
      }
    })();
    this.queued = q;
    return q;
  }

  /** Resolves when no write is queued or in flight (errors were reported to their savers). */
  async settled(): Promise<void> {
    while (this.queued ?? this.inflight) await (this.queued ?? this.inflight)!.catch(() => {});
  }
}

// Atomic file writes: write a temp file in the same directory, fsync, rename over the target.
// A reader (or a crash) sees the old file or the new one, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, promises as fsp, renameSync, rmSync, writeSync } from 'node:fs';
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

/**
 * writeFileAtomic for several files of one directory at once, every system call in the thread
 * pool: under a busy file system journal, creating and renaming files block for milliseconds too,
 * not only fsync. Each file is written and fsynced beside its target, all side by side, renamed
 * over their targets, and the directory is fsynced once for all of them. Every file is either the
 * old one or the new one after a crash; once the promise resolves all are the new ones, durably.
 */
export async function writeFilesAtomicAsync(
  dir: string,
  files: [name: string, data: string | Uint8Array][],
  opts: WriteOptions = {},
): Promise<void> {
  const { mode = 0o644, durable = true } = opts;
  await fsp.mkdir(dir, { recursive: true });
  const tmps = files.map(([name]) => tmpFor(join(dir, name)));
  try {
    await Promise.all(
      files.map(async ([, data], i) => {
        const h = await fsp.open(tmps[i]!, 'wx', mode);
        try {
          await h.writeFile(data);
          if (durable) await h.sync();
        } finally {
          await h.close();
        }
      }),
    );
    await Promise.all(files.map(([name], i) => fsp.rename(tmps[i]!, join(dir, name))));
  } catch (e) {
    await Promise.all(tmps.map((t) => fsp.rm(t, { force: true })));
    throw e;
  }
  if (durable) await fsyncDirAsync(dir);
}

/** Persist the entries of DIR (a file created or renamed in it), off the event loop. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
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

// Atomic file writes: write a temp file in the same directory, fsync, rename over the target.
// A reader (or a crash) sees the old file or the new one, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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

export function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const { mode = 0o644, durable = true } = opts;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
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
      const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
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

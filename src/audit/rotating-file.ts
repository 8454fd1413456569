// An append-only file rotated by size: name → name.1 → … → name.<keep>, the oldest dropped.
// Shared by the audit log and the inference capture file, so both rotate the same way.
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

export interface RotatingFileOptions {
  /** Rotate before a write that would take the file past this size (a larger write still goes in whole). */
  maxBytes: number;
  /** Rotated files kept. */
  keep: number;
  /** Mode of a newly created file. */
  mode: number;
}

export class RotatingFile {
  private fd = -1;
  private size = 0;

  /** Opens (creates) the file now: a failure here is the caller's to report. */
  constructor(
    readonly path: string,
    private readonly o: RotatingFileOptions,
  ) {
    this.open();
  }

  /**
   * Appends data, rotating first when it would not fit. Never throws: returns how many bytes went
   * in and, if not all, the error that stopped it (the caller keeps the rest and retries).
   */
  append(data: Buffer): { written: number; error?: NodeJS.ErrnoException } {
    let off = 0;
    try {
      if (this.fd < 0) this.open();
      if (this.size > 0 && this.size + data.length > this.o.maxBytes) this.rotate();
      while (off < data.length) off += writeSync(this.fd, data, off);
    } catch (e) {
      this.size += off;
      return { written: off, error: e as NodeJS.ErrnoException };
    }
    this.size += data.length;
    return { written: data.length };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private open(): void {
    this.fd = openSync(this.path, 'a', this.o.mode);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    for (let i = this.o.keep - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.open();
  }
}

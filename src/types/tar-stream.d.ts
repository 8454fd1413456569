// Types for the parts of tar-stream 2.x that nemoclaw uses (the package ships none, and
// @types/tar-stream is not a dependency).
declare module 'tar-stream' {
  import type { Readable, Writable } from 'node:stream';
  export interface Headers {
    name: string;
    size?: number;
    mode?: number;
    mtime?: Date;
    type?: 'file' | 'link' | 'symlink' | 'directory' | 'block-device' | 'character-device' | 'fifo' | 'contiguous-file' | null;
    linkname?: string | null;
    uid?: number;
    gid?: number;
  }
  export interface Extract extends Writable {
    on(event: 'entry', cb: (header: Headers, stream: Readable, next: (err?: Error) => void) => void): this;
    on(event: 'finish' | 'close', cb: () => void): this;
    on(event: 'error', cb: (err: Error) => void): this;
  }
  export interface Pack extends Readable {
    entry(header: Headers, buffer?: Buffer | string, cb?: (err?: Error) => void): Writable;
    finalize(): void;
  }
  export function extract(): Extract;
  export function pack(): Pack;
}

// A deterministic tar writer: the bytes depend only on the entries, never on the host (mtime 0,
// uid/gid from the entry, no user/group names, no atime/ctime, a fixed pax header name), so the
// same files give the same layer digest on every machine.
//
// Our own ~100 lines instead of tar-stream/node-tar: those fill in host metadata (mtime, names,
// pax atime/ctime) that we would have to strip entry by entry, and here the sha256 of the output
// is computed while it is written, in one pass over files of hundreds of MB.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type TarEntry =
  | { type: 'dir'; path: string; mode: number; uid: number; gid: number }
  | { type: 'file'; path: string; mode: number; uid: number; gid: number; size: number; source: string | Buffer }
  | { type: 'symlink'; path: string; target: string; uid: number; gid: number };

export interface WrittenBlob {
  /** `sha256:<hex>` of the bytes written. */
  digest: string;
  size: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, type: string, mode: number, uid: number, gid: number, size: number, link: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(uid, 8), 108, 'ascii');
  h.write(octal(gid, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime
  h.write('        ', 148, 'ascii'); // checksum is computed with its own field as spaces
  h.write(type, 156, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** A pax record "LEN key=value\n" whose LEN counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

const fitsUstar = (s: string): boolean => Buffer.byteLength(s) <= 100 && /^[\x20-\x7e]*$/.test(s);

class Sink {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  constructor(readonly fd: number) {}
  write(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off);
    this.hash.update(b);
    this.size += b.length;
  }
  pad(): void {
    const rest = this.size % BLOCK;
    if (rest) this.write(Buffer.alloc(BLOCK - rest));
  }
}

function writeEntry(sink: Sink, e: TarEntry): void {
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  const link = e.type === 'symlink' ? e.target : '';
  if (!fitsUstar(name) || !fitsUstar(link)) {
    const pax = Buffer.from(paxRecord('path', name) + (link ? paxRecord('linkpath', link) : ''));
    sink.write(header('PaxHeader', 'x', 0o644, 0, 0, pax.length, ''));
    sink.write(pax);
    sink.pad();
  }
  const short = (s: string) =>
    fitsUstar(s)
      ? s
      : Buffer.from(s)
          .subarray(0, 99)
          .toString('latin1')
          .replace(/[^\x20-\x7e]/g, '_');
  if (e.type === 'dir') sink.write(header(short(name), '5', e.mode, e.uid, e.gid, 0, ''));
  else if (e.type === 'symlink') sink.write(header(short(name), '2', 0o777, e.uid, e.gid, 0, short(link)));
  else {
    sink.write(header(short(name), '0', e.mode, e.uid, e.gid, e.size, ''));
    if (Buffer.isBuffer(e.source)) sink.write(e.source);
    else copyFile(sink, e.source, e.size);
    sink.pad();
  }
}

function copyFile(sink: Sink, path: string, size: number): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let left = size;
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (n === 0) throw new Error(`${path} shrank while it was archived`);
      sink.write(buf.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes the entries, in the order given, as a tar file at `out`; returns its digest and size. */
export function writeTar(out: string, entries: Iterable<TarEntry>): WrittenBlob {
  const fd = openSync(out, 'w', 0o644);
  try {
    const sink = new Sink(fd);
    for (const e of entries) writeEntry(sink, e);
    sink.write(Buffer.alloc(BLOCK * 2));
    return { digest: `sha256:${sink.hash.digest('hex')}`, size: sink.size };
  } finally {
    closeSync(fd);
  }
}

/**
 * The entries of a directory tree, depth first, children sorted by byte order, paths relative to
 * `root`. Owned by root; modes normalized (0755 for directories and anything executable, 0644
 * otherwise) so that the host's umask never changes a digest, and so that no setuid/setgid bit
 * ever reaches a sandbox image. Hard links become separate files.
 */
export function* treeEntries(root: string, prefix = ''): Generator<TarEntry> {
  const names = readdirSync(join(root, prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const abs = join(root, rel);
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) yield { type: 'symlink', path: rel, target: readlinkSync(abs), uid: 0, gid: 0 };
    else if (st.isDirectory()) {
      yield { type: 'dir', path: rel, mode: 0o755, uid: 0, gid: 0 };
      yield* treeEntries(root, rel);
    } else if (st.isFile()) {
      yield { type: 'file', path: rel, mode: st.mode & 0o111 ? 0o755 : 0o644, uid: 0, gid: 0, size: st.size, source: abs };
    } else throw new Error(`${abs}: only files, directories and symbolic links can go into an image`);
  }
}

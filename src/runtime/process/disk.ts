// The sandbox's own file system (issue 14, break 2): its read_write paths and workdir live in a
// sparse ext4 image, STATE/sandboxes/<name>/disk.img, of exactly limits.disk_bytes. The init
// loop-mounts it inside the sandbox's mount namespace only (src/init/disk.c), so a full disk is
// ENOSPC for that sandbox alone; the state file system (gateway audit, approvals, other
// sandboxes) never sees more than the image's size. Chosen over project quotas (only where the
// state file system has them: ext4 with the quota feature or xfs with prjquota, rare on a
// default install) and over a sized tmpfs (loses the data at every restart and counts against
// memory). Here: creating, growing and shrinking the image, on the host, while it is not mounted.
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  promises as fsp,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../util/errors.js';
import { handOver, type Owner } from './data-owner.js';

const run = promisify(execFile);

/** e2fsprogs, found in PATH or the sbin directories (not always in a non-root PATH). */
export function e2fsTool(name: 'mkfs.ext4' | 'e2fsck' | 'resize2fs'): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

function tool(name: 'mkfs.ext4' | 'e2fsck' | 'resize2fs'): string {
  const t = e2fsTool(name);
  if (!t) throw new UserError(`${name} (e2fsprogs) is needed for the sandbox disk limit and is not installed`);
  return t;
}

async function exec(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(cmd, args, { timeout: 600_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string; code?: number };
    // e2fsck -p exits 1 when it fixed something: the file system is fine afterwards.
    if (cmd.endsWith('e2fsck') && x.code === 1) return { ok: true, out: x.stdout ?? '' };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}`.trim() || x.message };
  }
}

const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;

/** A fresh file system's bytes: the runs of non-zero blocks (all else is a hole, i.e. zeros). */
type Fresh = { offset: number; data: Buffer }[];

/**
 * Fresh (empty) file systems made in this process, by image size. mkfs.ext4 is a process to
 * start per sandbox (and the start blocks the daemon's event loop until it has exec'd): the
 * first new image of a size is made by mkfs, and its non-zero blocks (~150 of 4 KiB for 1 GiB)
 * are kept; the next new images of that size are those same bytes written into a sparse file,
 * the exact file mkfs made. They share its UUID, which nothing keys on: each image is only ever
 * loop-mounted inside its own sandbox's mount namespace. Sizes above FRESH_MAX_BYTES are not
 * read back (reading the image is linear in its size) and always get mkfs.
 */
const freshBySize = new Map<number, Promise<Fresh | null>>();
const FRESH_MAX_BYTES = 8 * 2 ** 30;
const BLOCK = 4096;

/** The non-zero blocks of IMAGE (a file mkfs just made), merged into runs. */
async function readFresh(image: string): Promise<Fresh> {
  const h = await fsp.open(image, 'r');
  try {
    const size = (await h.stat()).size;
    const zero = Buffer.alloc(BLOCK);
    const chunk = Buffer.alloc(4 * 2 ** 20);
    const out: Fresh = [];
    let run: { offset: number; parts: Buffer[] } | null = null;
    const close = () => {
      if (run) out.push({ offset: run.offset, data: Buffer.concat(run.parts) });
      run = null;
    };
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await h.read(chunk, 0, Math.min(chunk.length, size - pos), pos);
      if (bytesRead === 0) throw new Error(`${image} ended at ${pos} of ${size} bytes`);
      for (let off = 0; off < bytesRead; off += BLOCK) {
        const end = Math.min(off + BLOCK, bytesRead);
        if (chunk.compare(zero, 0, end - off, off, end) === 0) close();
        else {
          const block = Buffer.from(chunk.subarray(off, end));
          const r: { offset: number; parts: Buffer[] } = run ?? { offset: pos + off, parts: [] };
          r.parts.push(block);
          run = r;
        }
      }
      pos += bytesRead;
    }
    close();
    return out;
  } finally {
    await h.close();
  }
}

/**
 * Write a fresh file system of BYTES to PATH (sparse), durably, as mkfs would have. The writes
 * (~600 KiB into the page cache) are synchronous and only the fsync waits in the thread pool:
 * a chain of awaits costs a busy daemon one event-loop turn each.
 */
async function writeFresh(path: string, bytes: number, fresh: Fresh): Promise<void> {
  const fd = openSync(path, 'w', 0o600);
  try {
    ftruncateSync(fd, bytes);
    for (const r of fresh) writeSync(fd, r.data, 0, r.data.length, r.offset);
    await new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes IMAGE an ext4 file system of BYTES. A new image takes over the sandbox's data from before
 * disk limits (LEGACY, the rw/ directory beside it, handed to OWNER first): mkfs.ext4 -d copies it
 * in, and the directory is kept aside as rw.before-disk-limit (removed by destroy --purge with the rest).
 */
export async function prepareDisk(image: string, bytes: number, legacy: string, owner: Owner): Promise<void> {
  if (!existsSync(image)) {
    const seed = `${image}.seed`;
    const args = ['-q', '-F', '-m', '0', '-L', 'nemoclaw', '-E', 'root_owner=0:0'];
    const hasLegacy = existsSync(legacy) && readdirSync(legacy).length > 0;
    if (hasLegacy) {
      for (const d of readdirSync(legacy)) handOver(join(legacy, d), owner);
      mkdirSync(seed, { mode: 0o700 });
      renameSync(legacy, join(seed, 'rw'));
      args.push('-d', seed);
    }
    const tmp = `${image}.new`;
    if (!hasLegacy) {
      const fresh = freshBySize.get(bytes);
      const known = fresh && (await fresh.catch(() => null));
      if (known) {
        try {
          await writeFresh(tmp, bytes, known);
          renameSync(tmp, image);
          return;
        } catch (e) {
          rmSync(tmp, { force: true });
          throw new UserError(`cannot create the sandbox's disk ${image} (${mib(bytes)}): ${(e as Error).message}`);
        }
      }
    }
    const fd = openSync(tmp, 'w', 0o600);
    ftruncateSync(fd, bytes); // sparse: blocks are used as the agent writes
    closeSync(fd);
    // The first new image of this size: its bytes serve the next ones (see freshBySize).
    const keep = !hasLegacy && bytes <= FRESH_MAX_BYTES && !freshBySize.has(bytes);
    let made!: (f: Fresh | null) => void;
    if (keep) freshBySize.set(bytes, new Promise<Fresh | null>((r) => (made = r)));
    const r = await exec(tool('mkfs.ext4'), [...args, tmp]);
    if (keep) {
      const f = r.ok ? await readFresh(tmp).catch(() => null) : null;
      if (!f) freshBySize.delete(bytes); // the next one tries mkfs again
      made(f);
    }
    if (hasLegacy) {
      renameSync(join(seed, 'rw'), r.ok ? `${legacy}.before-disk-limit` : legacy);
      rmdirSync(seed);
    }
    if (!r.ok) {
      rmSync(tmp, { force: true });
      throw new UserError(
        `cannot create the sandbox's disk ${image} (${mib(bytes)}${hasLegacy ? `, with the data in ${legacy}` : ''}): ${r.out}`,
      );
    }
    renameSync(tmp, image);
    return;
  }
  const size = statSync(image).size;
  if (size === bytes) return;
  // Never resize an image a running instance has mounted (the init holds flock on it).
  const free = await exec('flock', ['-n', '-E', '75', image, 'true']);
  if (!free.ok) throw new UserError(`cannot resize the sandbox's disk ${image}: the sandbox is running (stop it first)`);
  const fsck = await exec(tool('e2fsck'), ['-f', '-p', image]);
  if (!fsck.ok) throw new UserError(`the sandbox's disk ${image} needs repair before resizing: ${fsck.out}`);
  if (bytes > size) {
    truncateSync(image, bytes);
    const r = await exec(tool('resize2fs'), [image]);
    if (!r.ok) {
      truncateSync(image, size);
      throw new UserError(`cannot grow the sandbox's disk ${image} to ${mib(bytes)}: ${r.out}`);
    }
    return;
  }
  const r = await exec(tool('resize2fs'), [image, `${Math.floor(bytes / 1024)}K`]);
  if (!r.ok)
    throw new UserError(
      `limits.disk ${mib(bytes)} is below what the sandbox stores now (its disk is ${mib(size)}): remove data inside the sandbox first, or keep the larger limit (${r.out.split('\n').filter(Boolean).pop() ?? ''})`,
    );
  truncateSync(image, bytes);
}

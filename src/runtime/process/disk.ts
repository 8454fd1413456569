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
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  truncateSync,
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
    const fd = openSync(tmp, 'w', 0o600);
    ftruncateSync(fd, bytes); // sparse: blocks are used as the agent writes
    closeSync(fd);
    const r = await exec(tool('mkfs.ext4'), [...args, tmp]);
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

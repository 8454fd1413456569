// limits.disk for the docker runtime (issue 14, break 2). Docker has no per-container size limit
// for bind mounts (its --storage-opt size= covers only the overlay2 root, and only on xfs with
// pquota), so the container gets the process runtime's own file system: the same sparse ext4
// image, STATE/sandboxes/<name>/disk.img (src/runtime/process/disk.ts), loop-mounted on the HOST
// at the sandbox's disk/ directory (dockerd must see it to bind from it), and the container's
// read_write paths are bound from directories inside it. A full disk is ENOSPC in that container.
// The host mount lives as long as the container: destroy (and the end of `nemoclaw run`) unmounts it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SandboxArtifact } from '../../compiler/artifacts.js';
import { UserError } from '../../util/errors.js';
import { e2fsTool, prepareDisk } from '../../runtime/process/disk.js';
import { handOver, type Owner } from '../../runtime/process/data-owner.js';
import { sandboxPaths } from '../../state/sandbox-layout.js';

const run = promisify(execFile);

/**
 * Tests only: act as if the host had no loop devices, to exercise best_effort (and the refusal of
 * hard_requirement) on a machine that has them. It can only take enforcement away, never add
 * access, and the result is as loud as on such a host (warning, status, audit record).
 */
export const TEST_NO_LOOP_ENV = 'NEMOCLAW_TEST_NO_LOOP_DEVICES';

/** What the disk limit needs on the host for docker: root (mount), loop devices, mkfs.ext4. */
export function dockerDiskMissing(): string[] {
  const loop = existsSync('/dev/loop-control') && process.env[TEST_NO_LOOP_ENV] !== '1';
  return [
    ...(process.getuid?.() === 0 ? [] : ['root (mount)']),
    ...(loop ? [] : ['loop devices (/dev/loop-control)']),
    ...(e2fsTool('mkfs.ext4') ? [] : ['mkfs.ext4 (e2fsprogs)']),
  ];
}

/** Is PATH a mount point in our mount namespace (the host's, which dockerd shares)? */
export function isMounted(path: string): boolean {
  // mountinfo field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] !== undefined && unescape(l.split(' ')[4]!) === path);
}

/** Loop devices backed by IMAGE: any means it is mounted somewhere (here, in a container's or an init's namespace). */
async function loopsOf(image: string): Promise<string[]> {
  const r = await run('losetup', ['-n', '-O', 'NAME', '-j', image]);
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * Waits until no loop device is backed by IMAGE any more, up to MS: the kernel detaches an
 * autoclear loop device asynchronously after its last mount goes (and a removed container's mount
 * namespace goes only after its processes are reaped). True when detached.
 */
async function detached(image: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if ((await loopsOf(image)).length === 0) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DockerDisk {
  /** Host directory backing the rw mount at TARGET (inside the mounted image, or the shared state fs). */
  rwDir(target: string): string;
  /** True: the rw data is on the sandbox's own file system; false: best_effort without the means. */
  own: boolean;
  /** Set when the limit is not enforced: why, for the warning, status and audit. */
  notEnforced: string | null;
}

/**
 * Mounts the sandbox's disk on the host (creating or resizing the image first) and makes its rw
 * directories OWNER's. Refuses (hard_requirement) or degrades (best_effort) when the host lacks
 * the means. Never mounts the image twice: a mount that is already there is reused, and an image
 * attached to a loop device anywhere else (a running process-runtime instance holds flock on it
 * too) is refused.
 */
export async function mountDockerDisk(stateDir: string, sandbox: SandboxArtifact, owner: Owner): Promise<DockerDisk> {
  const paths = sandboxPaths(stateDir, sandbox.name);
  const missing = dockerDiskMissing();
  if (missing.length > 0) {
    const what = `disk limit (${sandbox.limits.disk_bytes} bytes) needs ${missing.join(', ')}`;
    if (sandbox.limits.disk_enforcement === 'hard_requirement')
      throw new UserError(
        `sandbox "${sandbox.name}" cannot start on this host:\n  - disk limit: ${what} (limits.disk_enforcement: best_effort starts without it)`,
      );
    return { rwDir: paths.rwDir, own: false, notEnforced: `${what}: NOT enforced, read_write data shares the state file system` };
  }
  const image = paths.diskImage;
  const mount = paths.diskMount;
  if (isMounted(mount) && existsSync(image) && statSync(image).size !== sandbox.limits.disk_bytes)
    await unmountDockerDisk(stateDir, sandbox.name);
  if (!isMounted(mount)) {
    if (existsSync(image) && !(await detached(image, 5000)))
      throw new UserError(`${image}: in use by another running instance of sandbox "${sandbox.name}" (stop it first)`);
    await prepareDisk(image, sandbox.limits.disk_bytes, join(paths.dir, 'rw'), owner);
    mkdirSync(mount, { recursive: true, mode: 0o700 });
    // Under flock on the image (what the process runtime's init holds while it runs), and only if
    // nobody mounted it meanwhile: two concurrent starts cannot mount it twice.
    try {
      await run('flock', [
        '-n',
        image,
        'sh',
        '-c',
        'mountpoint -q "$2" || mount -t ext4 -o loop,nosuid,nodev,noexec,noatime,errors=remount-ro "$1" "$2"',
        'sh',
        image,
        mount,
      ]);
    } catch (e) {
      const x = e as { stderr?: string; message: string };
      throw new UserError(`cannot mount the sandbox's disk ${image} on ${mount}: ${(x.stderr ?? '').trim() || x.message}`);
    }
  }
  for (const m of sandbox.mounts) {
    if (m.mode !== 'rw') continue;
    const dir = paths.diskRwDir(m.target);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, owner);
  }
  return { rwDir: paths.diskRwDir, own: true, notEnforced: null };
}

/** Unmounts the sandbox's disk from the host, if mounted (after its container is gone). */
export async function unmountDockerDisk(stateDir: string, name: string): Promise<void> {
  const mount = sandboxPaths(stateDir, name).diskMount;
  if (!existsSync(mount) || !isMounted(mount)) return;
  try {
    await run('umount', [mount]);
  } catch (e) {
    const x = e as { stderr?: string; message: string };
    throw new Error(`cannot unmount the disk of sandbox "${name}" at ${mount}: ${(x.stderr ?? '').trim() || x.message}`);
  }
  // Only once its loop device is gone can the image be resized or mounted again (by either runtime).
  await detached(sandboxPaths(stateDir, name).diskImage, 10_000);
}

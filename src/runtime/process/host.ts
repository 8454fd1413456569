// What this host can enforce. Kernel facts come from the init itself (`nemoclaw-init --probe`):
// the same binary that will enforce the policy answers, so doctor and run cannot disagree.
import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { initBinary } from '../../util/package-paths.js';
import { libseccompAvailable } from '../seccomp-bpf.js';
import { e2fsTool } from './disk.js';

const run = promisify(execFile);

export interface KernelProbe {
  landlock_abi: number;
  /** errno of landlock_create_ruleset when it failed (38 ENOSYS: not built; 95 EOPNOTSUPP: disabled at boot). */
  landlock_errno: number;
  seccomp: boolean;
  root: boolean;
  userns: boolean;
  unprivileged_userns: boolean;
  mntns: boolean;
  pidns: boolean;
  netns: boolean;
  close_range: boolean;
}

export interface CgroupFacts {
  /** v1: per-controller hierarchies (cgroup v1 or hybrid); v2: unified; none: not usable. */
  version: 'v1' | 'v2' | 'none';
  pids: boolean;
  memory: boolean;
  /** Can this process create cgroups there (root, or a delegated v2 subtree)? */
  writable: boolean;
}

export interface HostFacts {
  initBinary: string;
  initPresent: boolean;
  kernel: KernelProbe | null;
  /** Why the probe failed, when kernel is null. */
  probeError: string | null;
  cgroups: CgroupFacts;
  libseccomp: { ok: boolean; error: string | null; version?: string };
  kernelRelease: string;
  /** What the disk limit needs besides root: loop devices and e2fsprogs' mkfs.ext4. */
  disk: { loop: boolean; mkfs: boolean };
}

export const CGROUP_ROOT = '/sys/fs/cgroup';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function cgroupFacts(root = CGROUP_ROOT): CgroupFacts {
  if (existsSync(`${root}/pids/cgroup.procs`) || existsSync(`${root}/memory/cgroup.procs`)) {
    const pids = existsSync(`${root}/pids/cgroup.procs`);
    const memory = existsSync(`${root}/memory/cgroup.procs`);
    return { version: 'v1', pids, memory, writable: (pids && writable(`${root}/pids`)) || (memory && writable(`${root}/memory`)) };
  }
  if (existsSync(`${root}/cgroup.controllers`)) {
    const ctl = readFileSync(`${root}/cgroup.controllers`, 'utf8').split(/\s+/);
    return { version: 'v2', pids: ctl.includes('pids'), memory: ctl.includes('memory'), writable: writable(root) };
  }
  return { version: 'none', pids: false, memory: false, writable: false };
}

// The kernel probe is kept for the rest of the boot: spawning the init costs a start ~10 ms of
// this thread. What it reports changes only with the kernel (a reboot: boot_id), the init binary,
// the caller's uid, and the sysctls that allow user namespaces; all of them are in the key. It
// lives in a directory only the caller can write (/run/nemoclaw for root, else
// $XDG_RUNTIME_DIR/nemoclaw; none without one), and a start still fails closed if the kernel
// refuses what the probe promised: the init reports what it enforced.
const USERNS_SYSCTLS = ['user/max_user_namespaces', 'kernel/unprivileged_userns_clone', 'kernel/apparmor_restrict_unprivileged_userns'];

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function probeCacheDir(): string | null {
  if (process.getuid?.() === 0) return '/run/nemoclaw';
  return process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'nemoclaw') : null;
}

function probeKey(): string {
  const st = statSync(initBinary, { bigint: true });
  return [
    readOr('/proc/sys/kernel/random/boot_id', 'no-boot-id'),
    process.geteuid?.() ?? -1,
    `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
    ...USERNS_SYSCTLS.map((k) => readOr(`/proc/sys/${k}`, '-')),
  ].join(' ');
}

function readProbeCache(file: string, key: string): KernelProbe | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return null;
    const v = JSON.parse(readFileSync(fd, 'utf8')) as { key?: unknown; kernel?: KernelProbe };
    return v.key === key && v.kernel && typeof v.kernel.landlock_abi === 'number' ? v.kernel : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function probeKernel(fresh: boolean): Promise<{ kernel: KernelProbe | null; error: string | null }> {
  const dir = probeCacheDir();
  const file = dir && join(dir, 'host-probe.json');
  let key: string | null = null;
  try {
    key = probeKey();
  } catch {
    /* no init binary to key on: the spawn below says why */
  }
  if (file && key && !fresh) {
    const kernel = readProbeCache(file, key);
    if (kernel) return { kernel, error: null };
  }
  try {
    const { stdout } = await run(initBinary, ['--probe'], { timeout: 10_000 });
    const kernel = JSON.parse(stdout) as KernelProbe;
    if (dir && file && key) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileAtomic(file, JSON.stringify({ key, kernel }), { mode: 0o600, durable: false });
      } catch {
        /* only the next start's probe is slower */
      }
    }
    return { kernel, error: null };
  } catch (e) {
    return { kernel: null, error: (e as Error).message.split('\n')[0] ?? null };
  }
}

/** libseccomp's status, looked up on first use: loading it costs ~10 ms that a cached filter does not need. */
function lazyLibseccomp(): () => HostFacts['libseccomp'] {
  let status: HostFacts['libseccomp'] | undefined;
  return () => {
    if (!status) {
      const s = libseccompAvailable();
      status = { ok: s.ok, error: s.ok ? null : (s.reason ?? 'unavailable'), version: s.version };
    }
    return status;
  };
}

let cached: Promise<HostFacts> | undefined;

/**
 * Facts about this host; probed once per process, the kernel's part once per boot (see above).
 * `fresh` (doctor) asks the kernel again.
 */
export function probeHost(opts: { fresh?: boolean } = {}): Promise<HostFacts> {
  if (opts.fresh) cached = undefined;
  cached ??= (async () => {
    const initPresent = existsSync(initBinary);
    const { kernel, error } = initPresent
      ? await probeKernel(opts.fresh === true)
      : { kernel: null, error: `${initBinary} is missing (run npm run build)` };
    const libseccomp = lazyLibseccomp();
    let kernelRelease = 'unknown';
    try {
      kernelRelease = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    } catch {
      /* not Linux */
    }
    const disk = { loop: existsSync('/dev/loop-control'), mkfs: e2fsTool('mkfs.ext4') !== null };
    return {
      initBinary,
      initPresent,
      kernel,
      probeError: error,
      cgroups: cgroupFacts(),
      get libseccomp() {
        return libseccomp();
      },
      kernelRelease,
      disk,
    };
  })();
  return cached;
}

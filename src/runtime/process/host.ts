// What this host can enforce. Kernel facts come from the init itself (`nemoclaw-init --probe`):
// the same binary that will enforce the policy answers, so doctor and run cannot disagree.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
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

async function probeKernel(): Promise<{ kernel: KernelProbe | null; error: string | null }> {
  try {
    const { stdout } = await run(initBinary, ['--probe'], { timeout: 10_000 });
    return { kernel: JSON.parse(stdout) as KernelProbe, error: null };
  } catch (e) {
    return { kernel: null, error: (e as Error).message.split('\n')[0] ?? null };
  }
}

async function probeLibseccomp(): Promise<{ ok: boolean; error: string | null; version?: string }> {
  const s = libseccompAvailable();
  return { ok: s.ok, error: s.ok ? null : (s.reason ?? 'unavailable'), version: s.version };
}

let cached: Promise<HostFacts> | undefined;

/** Facts about this host; probed once per process. */
export function probeHost(): Promise<HostFacts> {
  cached ??= (async () => {
    const initPresent = existsSync(initBinary);
    const [{ kernel, error }, libseccomp] = await Promise.all([
      initPresent ? probeKernel() : Promise.resolve({ kernel: null, error: `${initBinary} is missing (run npm run build)` }),
      probeLibseccomp(),
    ]);
    let kernelRelease = 'unknown';
    try {
      kernelRelease = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    } catch {
      /* not Linux */
    }
    const disk = { loop: existsSync('/dev/loop-control'), mkfs: e2fsTool('mkfs.ext4') !== null };
    return { initBinary, initPresent, kernel, probeError: error, cgroups: cgroupFacts(), libseccomp, kernelRelease, disk };
  })();
  return cached;
}

// Fail closed before anything starts: every mechanism a sandbox's artifacts require must be
// available on this host, or the answer names the mechanism and the host fact that is missing.
import type { LandlockArtifact, SandboxArtifact } from '../../compiler/artifacts.js';
import type { HostFacts } from './host.js';

export interface Refusal {
  mechanism: string;
  /** What the config requires and what this host has, in one sentence. */
  reason: string;
}

export interface Preflight {
  ok: boolean;
  /** Put the rw data on the sandbox's own file system (limits.disk); false: none to limit, or best_effort without means. */
  ownDisk: boolean;
  refusals: Refusal[];
  /** Runs, but with less than the config would like; shown loudly. */
  warnings: string[];
}

const RIGHT_ABI: Record<string, number> = {
  refer: 2,
  truncate: 3,
  bind_tcp: 4,
  connect_tcp: 4,
  ioctl_dev: 5,
  abstract_unix_socket: 6,
  signal: 6,
};

export function preflight(
  a: { sandbox: SandboxArtifact; landlock: LandlockArtifact },
  host: HostFacts,
  /** seccompCompiled: the sandbox's filter is already compiled (cached), so libseccomp is not needed. */
  opts: { seccompCompiled?: boolean } = {},
): Preflight {
  const refusals: Refusal[] = [];
  const warnings: string[] = [];
  const refuse = (mechanism: string, reason: string) => refusals.push({ mechanism, reason });
  if (a.sandbox.runtime !== 'process')
    refuse('runtime', `sandbox "${a.sandbox.name}" uses runtime ${a.sandbox.runtime}, not the embedded process runtime`);
  const k = host.kernel;
  if (!host.initPresent || !k) {
    refuse('sandbox init', host.probeError ?? 'the init binary could not be probed');
    return { ok: false, refusals, warnings, ownDisk: false };
  }
  const l = a.landlock;
  if (k.landlock_abi < l.abi_floor) {
    const has = k.landlock_abi === 0 ? `no Landlock (errno ${k.landlock_errno})` : `Landlock ABI ${k.landlock_abi}`;
    refuse(
      'landlock',
      `the config requires Landlock ABI >= ${l.abi_floor} (${l.compatibility}); kernel ${host.kernelRelease} offers ${has}`,
    );
  } else if (k.landlock_abi === 0) {
    warnings.push(
      `Landlock is not available on kernel ${host.kernelRelease}: filesystem and TCP rules are NOT enforced (landlock: best_effort)`,
    );
  } else {
    const wanted = [...l.handled_access_fs, ...l.handled_access_net, ...l.scoped];
    const dropped = wanted.filter((r) => (RIGHT_ABI[r] ?? 1) > k.landlock_abi);
    if (dropped.length) warnings.push(`Landlock ABI ${k.landlock_abi} cannot enforce: ${dropped.join(', ')}`);
  }
  if (!k.seccomp) refuse('seccomp', `kernel ${host.kernelRelease} has no seccomp filter support`);
  if (!opts.seccompCompiled && !host.libseccomp.ok)
    refuse('libseccomp', `libseccomp.so.2 cannot be loaded to compile the filter: ${host.libseccomp.error}`);
  if (!k.root && !k.userns) {
    refuse('user namespace', 'running as non-root needs a user namespace, and unprivileged user namespaces are not allowed on this host');
  }
  for (const [ns, ok] of [
    ['mount', k.mntns],
    ['pid', k.pidns],
    ['network', k.netns],
  ] as const) {
    if (!ok) refuse(`${ns} namespace`, `this host cannot create a ${ns} namespace${k.root ? '' : ' inside a user namespace'}`);
  }
  if (!k.close_range) refuse('close_range', `kernel ${host.kernelRelease} lacks close_range (Linux >= 5.9 needed)`);
  if (!host.cgroups.writable || !host.cgroups.memory) {
    warnings.push(
      `memory limit (${a.sandbox.limits.memory_bytes} bytes) not enforced: no writable memory cgroup (${host.cgroups.version})`,
    );
  }
  if (!host.cgroups.writable || !host.cgroups.pids) warnings.push('pids limit enforced with RLIMIT_NPROC (no writable pids cgroup)');
  const ownDisk = diskLimit(a.sandbox, host, refuse, warnings);
  return { ok: refusals.length === 0, refusals, warnings, ownDisk };
}

/** The disk limit needs root (loop devices cannot be set up in a user namespace), /dev/loop-control and mkfs.ext4. */
function diskLimit(s: SandboxArtifact, host: HostFacts, refuse: (m: string, r: string) => void, warnings: string[]): boolean {
  if (!s.mounts.some((m) => m.mode === 'rw')) return false;
  const missing = [
    ...(host.kernel?.root ? [] : ['root (loop devices cannot be attached in a user namespace)']),
    ...(host.disk.loop ? [] : ['loop devices (/dev/loop-control)']),
    ...(host.disk.mkfs ? [] : ['mkfs.ext4 (e2fsprogs)']),
  ];
  if (missing.length === 0) return true;
  const what = `disk limit (${s.limits.disk_bytes} bytes) needs ${missing.join(', ')}`;
  if (s.limits.disk_enforcement === 'hard_requirement')
    refuse('disk limit', `${what} (limits.disk_enforcement: best_effort starts without it)`);
  else warnings.push(`${what}: NOT enforced, read_write data shares the state file system (disk_enforcement: best_effort)`);
  return false;
}

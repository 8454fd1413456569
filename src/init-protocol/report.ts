// The enforcement report: one JSON line the init writes on fd 5 just before exec, stating what
// it actually enforced (read back from the kernel where the kernel allows it).
export interface EnforcementReport {
  ok: true;
  sandbox: string;
  /** Namespaces created: user (unprivileged: the caller's uid only; root: the agent's own id range), mnt, pid, net, ipc, uts, cgroup. */
  namespaces: string[];
  uid: number;
  gid: number;
  /** The agent's ids on the host, when it runs in its own user namespace over its id range (root). */
  host_uid?: number;
  host_gid?: number;
  landlock: {
    abi: number;
    floor: number;
    /** False only under best_effort on a kernel without Landlock. */
    enforced: boolean;
    handled_fs: string[];
    handled_net: string[];
    scoped: string[];
    path_rules: number;
    net_rules: number;
    /** Rules for paths absent from the sandbox (they could only have granted more). */
    skipped_rules: number;
  };
  seccomp: { instructions: number; sha256: string };
  /** execve of a memfd: blocked by vm.memfd_noexec=2 (Linux 6.6+, as root); not_blocked otherwise. */
  memfd_exec?: 'blocked' | 'not_blocked';
  /** read_write data and workdir: on the sandbox's own file system of limits.disk bytes, or shared with the state directory. */
  disk?: 'own_filesystem' | 'shared';
  /** Pathname unix sockets under read_only binds: unreachable (idmapped binds, as root) or reachable. */
  read_only_sockets?: 'unreachable' | 'reachable';
  no_new_privs: boolean;
  capabilities: 'none';
  dumpable: boolean;
  limits: { nofile: number; core: number; pids: number; pids_via: 'cgroup' | 'rlimit_nproc'; memory_via: 'cgroup' | 'none' };
  network: { loopback: boolean; relay: boolean; proxy_port: number };
  /** Added by the runtime, not the init: mechanisms best_effort let the sandbox start without (e.g. the docker disk limit). */
  not_enforced?: string[];
}

export interface InitFailure {
  ok: false;
  step: string;
  error: string;
}

export function parseReport(line: string): EnforcementReport | InitFailure {
  const value = JSON.parse(line) as EnforcementReport | InitFailure;
  if (typeof value !== 'object' || value === null || typeof value.ok !== 'boolean')
    throw new Error(`malformed init report: ${line.slice(0, 200)}`);
  return value;
}

/**
 * What this sandbox runs WITHOUT although its policy asks for it (best_effort on a host that lacks
 * the means): shown by `nemoclaw status` and audited at start, so a degraded sandbox is never silent.
 */
export function notEnforced(r: EnforcementReport): string[] {
  const out: string[] = [];
  if (!r.landlock.enforced) out.push('Landlock (filesystem and TCP rules)');
  // The runtime's own note says why (what the host lacks); the init's report only that it is shared.
  const noted = r.not_enforced ?? [];
  if (r.disk === 'shared' && !noted.some((n) => n.startsWith('disk limit')))
    out.push('disk limit (read_write data shares the state file system)');
  return [...out, ...noted];
}

/** `assistant: Landlock ABI 7 + seccomp (312 rules) + userns/netns/pidns`, or a loud NO LANDLOCK. */
export function formatSummary(r: EnforcementReport, seccompRules?: number): string {
  const ll = r.landlock.enforced
    ? `Landlock ABI ${r.landlock.abi}`
    : 'NO LANDLOCK (kernel lacks it; best_effort: filesystem and TCP rules NOT enforced)';
  const ns = ['user', 'net', 'pid', 'mnt']
    .filter((n) => r.namespaces.includes(n))
    .map((n) => `${n}ns`)
    .join('/');
  const pids = `pids<=${r.limits.pids} (${r.limits.pids_via === 'cgroup' ? 'cgroup' : 'rlimit'})`;
  const mem = r.limits.memory_via === 'cgroup' ? 'memory (cgroup)' : 'memory UNLIMITED';
  // The rule count is known to whoever compiled the filter; from a stored report, its size is.
  const sc =
    seccompRules !== undefined
      ? `${seccompRules} rules`
      : r.seccomp.sha256 === 'loaded-by-runtime'
        ? 'loaded by Docker'
        : `${r.seccomp.instructions} BPF instructions`;
  return `${r.sandbox}: ${ll} + seccomp (${sc}) + ${ns}; ${pids}, ${mem}`;
}

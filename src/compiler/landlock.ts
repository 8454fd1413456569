// landlock.json: which filesystem and TCP rights are handled, and which paths and ports get them.
import type { LandlockArtifact, LandlockFsRight, LandlockPathRule, Mount } from './artifacts.js';
import type { ResolvedSandbox } from './resolve.js';

/** Kernel order (LANDLOCK_ACCESS_FS_* bit order). */
export const FS_RIGHTS: readonly LandlockFsRight[] = [
  'execute',
  'write_file',
  'read_file',
  'read_dir',
  'remove_dir',
  'remove_file',
  'make_char',
  'make_dir',
  'make_reg',
  'make_sock',
  'make_fifo',
  'make_block',
  'make_sym',
  'refer',
  'truncate',
  'ioctl_dev',
];
/** Landlock ABI that introduced each right. */
export const FS_RIGHT_ABI: Readonly<Record<LandlockFsRight, number>> = {
  execute: 1,
  write_file: 1,
  read_file: 1,
  read_dir: 1,
  remove_dir: 1,
  remove_file: 1,
  make_char: 1,
  make_dir: 1,
  make_reg: 1,
  make_sock: 1,
  make_fifo: 1,
  make_block: 1,
  make_sym: 1,
  refer: 2,
  truncate: 3,
  ioctl_dev: 5,
};

const READ: LandlockFsRight[] = ['read_file', 'read_dir'];
const READ_EXEC: LandlockFsRight[] = ['execute', ...READ];
const WRITE: LandlockFsRight[] = [
  'write_file',
  'remove_dir',
  'remove_file',
  'make_dir',
  'make_reg',
  'make_sym',
  'make_sock',
  'make_fifo',
  'refer',
  'truncate',
];

/**
 * Always present in a sandbox: a fresh /proc and a minimal /dev (null, zero, urandom, …, tty).
 * ioctl_dev (terminal control: job control, stty, raw mode) on /dev/tty only, which is the
 * caller's controlling terminal: the agent has none (ENXIO), a `nemoclaw connect` session its pty.
 */
const IMPLICIT_RULES: LandlockPathRule[] = [
  { path: '/dev', access: ['read_file', 'read_dir', 'write_file'] },
  { path: '/dev/tty', access: ['ioctl_dev'] },
  { path: '/proc', access: READ },
];
/**
 * The embedded runtime's /dev/pts is the sandbox's own devpts instance (src/init/root.c; a connect
 * session has yet another, in its own mount namespace): its ptys are the agent's own, so it may
 * use them. Not under Docker, whose devpts the agent shares with `docker exec` sessions.
 */
const PROCESS_RULES: LandlockPathRule[] = [{ path: '/dev/pts', access: ['ioctl_dev'] }];

export function compileLandlock(s: ResolvedSandbox, mounts: Mount[], proxyPort: number | null): LandlockArtifact {
  const executable = new Set(s.filesystem.executable);
  const rules = new Map<string, Set<LandlockFsRight>>();
  const grant = (path: string, rights: LandlockFsRight[]) => {
    const set = rules.get(path) ?? new Set<LandlockFsRight>();
    rights.forEach((r) => set.add(r));
    rules.set(path, set);
  };
  for (const r of IMPLICIT_RULES) grant(r.path, r.access);
  if (s.runtime === 'process') for (const r of PROCESS_RULES) grant(r.path, r.access);
  for (const m of mounts) {
    if (m.mode === 'ro') grant(m.target, READ_EXEC);
    else grant(m.target, executable.has(m.target) ? [...READ_EXEC, ...WRITE] : [...READ, ...WRITE]);
  }
  for (const p of executable) if (!rules.has(p)) grant(p, READ_EXEC);

  const best = s.filesystem.landlock === 'best_effort';
  return {
    format_version: 1,
    compatibility: s.filesystem.landlock,
    abi_floor: best ? 0 : s.filesystem.landlock_min_abi,
    handled_access_fs: [...FS_RIGHTS],
    handled_access_net: ['bind_tcp', 'connect_tcp'],
    scoped: ['abstract_unix_socket', 'signal'],
    path_rules: [...rules.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, set]) => ({ path, access: FS_RIGHTS.filter((r) => set.has(r)) })),
    net_rules: netRules(s.network.listen, proxyPort),
  };
}

/**
 * The proxy port may be connected to; each `network.listen` port may be bound, and connected to
 * so clients inside the sandbox (a `nemoclaw connect` shell, the agent's own tools) reach the
 * server. The sandbox's network namespace holds only its loopback, so neither right reaches past it.
 */
function netRules(listen: number[], proxyPort: number | null): LandlockArtifact['net_rules'] {
  const rules = new Map<number, LandlockArtifact['net_rules'][number]['access']>();
  if (proxyPort !== null) rules.set(proxyPort, ['connect_tcp']);
  for (const port of listen) rules.set(port, ['bind_tcp', 'connect_tcp']);
  return [...rules.entries()].sort(([a], [b]) => a - b).map(([port, access]) => ({ port, access }));
}

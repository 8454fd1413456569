// Builds the line-based spec nemoclaw-init reads on fd 3 (format documented at the top of
// src/init/spec.c). Pure: paths on the host are decided by the caller.
import type { LandlockArtifact, SandboxArtifact } from '../compiler/artifacts.js';

export interface InitSpecInput {
  sandbox: SandboxArtifact;
  landlock: LandlockArtifact;
  /** Empty host directory the sandbox root (a tmpfs) is mounted on. */
  rootDir: string;
  /** The unpacked image the root is made of (src/runtime/process/image-root.ts); absent: host binds. */
  imageRoot?: string | null;
  /** Host directory backing each rw mount target. */
  rwDirs: Record<string, string>;
  /** First host id of the sandbox's own 65536-id range (root); null: no range (unprivileged). */
  idmap?: number | null;
  /** The sandbox's own file system: ext4 IMAGE, loop-mounted on MOUNT inside the sandbox's mount namespace; rwDirs lie in it. */
  disk?: { image: string; mount: string } | null;
  /** The gateway's unix socket for this sandbox; null: no relay (no network at all). */
  gatewaySocket: string | null;
  cgroups: { pids?: string; memory?: string };
  /** argv override (`nemoclaw run … -- cmd`); defaults to the sandbox's command. */
  command?: string[];
  /**
   * Values of the sandbox's `secrets:`, resolved by the caller (src/runtime/secrets.ts). They join
   * the agent's environment here, so the spec holding them must only ever travel over a pipe.
   */
  secrets?: Record<string, string>;
}

/** Percent-encodes '%', bytes <= 0x20 and >= 0x7f (per UTF-8 byte), so fields never contain spaces or newlines. */
export function encodeField(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte <= 0x20 || byte >= 0x7f || byte === 0x25 ? '%' + byte.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(byte);
  }
  return out;
}

/** The environment the agent gets: exactly sandbox.env, plus the proxy variables when it has a gateway. */
export function agentEnv(sandbox: SandboxArtifact): Record<string, string> {
  const env: Record<string, string> = { ...sandbox.env };
  if (sandbox.network.mode === 'gateway') {
    const proxy = `http://127.0.0.1:${sandbox.network.proxy_port}`;
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) env[k] = env[k.toLowerCase()] = proxy;
    env.NO_PROXY = env.no_proxy = 'localhost,127.0.0.1';
    env.NODE_USE_ENV_PROXY = '1'; // Node ≥ 24: its built-in fetch honours the variables above only with this
  }
  return env;
}

/** Paths where a Landlock rule grants execute. */
function executablePaths(landlock: LandlockArtifact): string[] {
  return landlock.path_rules.filter((r) => r.access.includes('execute')).map((r) => r.path);
}

const within = (path: string, dir: string) => path === dir || dir === '/' || path.startsWith(dir + '/');

/**
 * A writable mount is noexec unless execute is granted at (or above) its target. An executable
 * path strictly beneath it becomes its own mount without noexec (`exec PATH`), so granting
 * /sandbox/bin never lifts noexec from the rest of /sandbox (which would let `ld.so
 * /sandbox/payload` map a dropped file executable: Landlock does not mediate mmap).
 */
function execLines(s: SandboxArtifact, l: LandlockArtifact): { execTargets: Set<string>; subMounts: string[] } {
  const exe = executablePaths(l);
  const mounted = new Set(s.mounts.map((m) => m.target));
  const execTargets = new Set(s.mounts.filter((m) => m.mode === 'rw' && exe.some((e) => within(m.target, e))).map((m) => m.target));
  // Only where the innermost mount holding the path is a noexec rw mount (a read_only one is exec already).
  const innermost = (p: string) => s.mounts.filter((m) => within(p, m.target)).sort((a, b) => b.target.length - a.target.length)[0];
  const subMounts = exe.filter((e) => {
    const m = innermost(e);
    return !mounted.has(e) && m?.mode === 'rw' && !execTargets.has(m.target);
  });
  return { execTargets, subMounts: subMounts.filter((e) => !subMounts.some((o) => o !== e && within(e, o))) };
}

export function buildInitSpec(input: InitSpecInput): string {
  const { sandbox: s, landlock: l } = input;
  const argv = input.command && input.command.length > 0 ? input.command : s.command;
  const lines: string[][] = [
    ['nemoclaw-init', '1'],
    ['name', s.name],
    ['uid', String(s.user.uid)],
    ['gid', String(s.user.gid)],
    ['root', input.rootDir],
  ];
  if (input.idmap !== undefined && input.idmap !== null) lines.push(['idmap', String(input.idmap)]);
  // With an image, read_only paths are paths inside it (as for docker): Landlock rules, no host bind.
  if (input.imageRoot) lines.push(['image', input.imageRoot]);
  if (input.disk) lines.push(['disk', input.disk.image, input.disk.mount]);
  const { execTargets, subMounts } = execLines(s, l);
  for (const m of s.mounts) {
    if (m.mode === 'ro') {
      if (!input.imageRoot) lines.push(['ro', m.target]);
    } else {
      const dir = input.rwDirs[m.target];
      if (!dir) throw new Error(`no backing directory for rw mount ${m.target}`);
      lines.push(['rw', m.target, dir, execTargets.has(m.target) ? 'exec' : 'noexec']);
    }
  }
  for (const p of subMounts) lines.push(['exec', p]);
  lines.push(['workdir', s.workdir]);
  const env = agentEnv(s);
  for (const [k, v] of Object.entries(input.secrets ?? {})) {
    // The compiler refuses these names; a spec must not silently let a secret replace them.
    if (k in env) throw new Error(`secret ${k} would replace the variable of the same name`);
    env[k] = v;
  }
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(['env', `${k}=${v}`]);
  for (const a of argv) lines.push(['argv', a]);
  lines.push(['nofile', String(s.limits.nofile)], ['pids', String(s.limits.pids)]);
  if (input.cgroups.pids) lines.push(['cgroup', 'pids', input.cgroups.pids]);
  if (input.cgroups.memory) lines.push(['cgroup', 'memory', input.cgroups.memory]);
  lines.push(['landlock_floor', String(l.abi_floor)]);
  if (l.handled_access_fs.length) lines.push(['landlock_fs', ...l.handled_access_fs]);
  if (l.handled_access_net.length) lines.push(['landlock_net', ...l.handled_access_net]);
  if (l.scoped.length) lines.push(['landlock_scope', ...l.scoped]);
  for (const r of l.path_rules) lines.push(['path_rule', r.path, ...r.access]);
  for (const r of l.net_rules) lines.push(['net_rule', String(r.port), ...r.access]);
  if (s.network.mode === 'gateway' && input.gatewaySocket) {
    lines.push(['gateway', input.gatewaySocket], ['proxy_port', String(s.network.proxy_port)]);
    // Every bindable port gets its inbound socket, so publishing one later is a live change.
    for (const r of l.net_rules) if (r.access.includes('bind_tcp')) lines.push(['inbound', String(r.port)]);
  }
  return lines.map((f) => f.map(encodeField).join(' ')).join('\n') + '\n';
}

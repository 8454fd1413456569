// Filesystem rules: paths must be absolute and canonical, system directories stay read-only,
// and every executable path must be mounted at all.
import type { SandboxSpec } from '../../generated/config.js';
import { isObject, quote, str, stringItems, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

/**
 * Directories whose contents belong to the OS. Writing to them (or to an ancestor, which contains
 * them) lets the agent replace binaries, libraries or configuration that every process trusts.
 * Any other top-level /lib* directory counts too.
 */
const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/sbin',
  '/sys',
  '/usr',
  '/var/lib',
];

/**
 * Where host services keep their unix sockets (D-Bus, systemd, docker/podman APIs, the user's
 * session bus, X11). Landlock does not mediate connect() on a pathname socket; the init hides
 * them only when it can idmap the bind (as root), so a read_only path over them is flagged.
 */
const SOCKET_DIRS = ['/run', '/var/run', '/run/user', '/tmp/.X11-unix', '/var/lib/docker', '/var/snap/lxd'];

export function within(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(dir + '/');
}

/** Canonical form of an absolute path, or why it is not one. */
export function checkPath(raw: string): { ok: true; path: string } | { ok: false; why: string } {
  if (!raw.startsWith('/')) return { ok: false, why: 'is relative: paths must be absolute' };
  const segments = raw.split('/');
  if (segments.includes('..')) return { ok: false, why: 'has a ".." segment, which makes the real target depend on what is mounted where' };
  if (segments.includes('.')) return { ok: false, why: 'has a "." segment: write the canonical path' };
  const path = '/' + segments.filter((s) => s !== '').join('/');
  return { ok: true, path };
}

/** Why a writable path is a system path, or undefined. */
function systemReason(p: string): string | undefined {
  if (p === '/') return 'makes the whole file system writable';
  const top = '/' + p.split('/')[1];
  const parent = SYSTEM_DIRS.find((d) => within(p, d)) ?? (/^\/lib/.test(top) ? top : undefined);
  if (parent) return p === parent ? 'is a system directory' : `is inside the system directory ${parent}`;
  const contained = SYSTEM_DIRS.find((d) => within(d, p));
  if (contained) return `contains the system directory ${contained}`;
  return undefined;
}

export function lintFilesystem(r: Reporter, base: Path, sb: SandboxSpec): void {
  const fs = isObject(sb.filesystem) ? sb.filesystem : {};
  const lists = { read_only: new Map<string, number>(), read_write: new Map<string, number>(), executable: new Map<string, number>() };

  for (const list of ['read_only', 'read_write', 'executable'] as const) {
    for (const [i, raw] of stringItems(fs[list])) {
      const at = [...base, 'filesystem', list, i];
      const c = checkPath(raw);
      if (!c.ok) {
        r.report('path-relative', at, `${list} path ${quote(raw)} ${c.why}`, 'write an absolute path such as /sandbox/data');
        continue;
      }
      if (!lists[list].has(c.path)) lists[list].set(c.path, i);
      if (list === 'read_write') {
        const why = systemReason(c.path);
        if (why)
          r.report(
            'path-system-writable',
            at,
            `read_write path ${quote(raw)} ${why}`,
            'list it under read_only, and make only a dedicated directory (e.g. /sandbox/...) writable',
          );
      }
    }
  }

  const workdirRaw = str(sb.workdir);
  let workdir: string | undefined = workdirRaw === undefined && sb.blueprint === undefined ? '/sandbox' : undefined;
  if (workdirRaw !== undefined) {
    const at = [...base, 'workdir'];
    const c = checkPath(workdirRaw);
    if (!c.ok) {
      r.report('path-relative', at, `workdir ${quote(workdirRaw)} ${c.why}`, 'write an absolute path such as /sandbox');
    } else {
      workdir = c.path;
      const why = systemReason(c.path);
      if (why)
        r.report(
          'path-system-writable',
          at,
          `workdir ${quote(workdirRaw)} is writable and ${why}`,
          'use a dedicated directory such as /sandbox',
        );
    }
  }

  for (const [p, i] of lists.read_write) {
    const ro = lists.read_only.get(p);
    if (ro !== undefined) {
      r.report(
        'path-conflict',
        [...base, 'filesystem', 'read_write', i],
        `${quote(p)} is listed in read_write and in read_only (item ${ro})`,
        'keep it in one list: read_write if the agent must write there, read_only otherwise',
      );
    }
  }

  for (const [p, i] of lists.read_only) {
    const dir = SOCKET_DIRS.find((d) => within(p, d) || within(d, p));
    if (dir === undefined) continue;
    r.report(
      'read-only-host-sockets',
      [...base, 'filesystem', 'read_only', i],
      `read_only path ${quote(p)} ${p === dir ? 'is' : within(p, dir) ? 'is inside' : 'contains'} ${quote(dir)}, where host services keep unix sockets: connecting to one bypasses the gateway unless the sandbox is started as root (which idmaps read-only binds)`,
      'mount only the files the agent needs (e.g. a config file), never a socket directory',
    );
  }

  // A mount target inside a writable path: its mount point is built in the agent's persistent data.
  const writable = [...lists.read_write.keys(), ...(workdir ? [workdir] : [])];
  for (const list of ['read_only', 'read_write'] as const) {
    for (const [p, i] of lists[list]) {
      const parent = writable.find((w) => w !== p && w !== '/' && within(p, w));
      if (parent === undefined) continue;
      r.report(
        'mount-under-writable',
        [...base, 'filesystem', list, i],
        `${list} path ${quote(p)} lies inside the writable path ${quote(parent)}: its mount point is made in the agent's persistent data, where the agent can plant a symlink that makes the next start refuse`,
        'mount it outside every read_write path and the workdir (e.g. under /opt)',
      );
    }
  }

  const granted = [...lists.read_only.keys(), ...lists.read_write.keys(), ...(workdir ? [workdir] : [])];
  for (const [p, i] of lists.executable) {
    if (granted.some((g) => within(p, g))) continue;
    // A blueprint's lists are merged in later (as a union): the path may be granted there.
    if (sb.blueprint !== undefined) continue;
    r.report(
      'executable-not-granted',
      [...base, 'filesystem', 'executable', i],
      `executable path ${quote(p)} is not under any read_write or read_only path, so it is not mounted at all`,
      'add it (or a parent) to read_write, or drop it',
    );
  }

  if (fs.landlock === 'best_effort') {
    r.report(
      'landlock-best-effort',
      [...base, 'filesystem', 'landlock'],
      'landlock is best_effort: the sandbox starts even if the kernel cannot enforce the file system rules (the downgrade is reported at start)',
      'use hard_requirement (the default) unless the sandbox must run on kernels without Landlock; suppress with lint.suppress: [landlock-best-effort]',
    );
  }
}

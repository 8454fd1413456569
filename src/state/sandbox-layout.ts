// Where a process sandbox keeps its things under the state directory. Persistent: the rw
// directories survive restarts (they are the agent's workspace); `root` is only a mount point.
import { join } from 'node:path';
import { stateLayout } from './paths.js';

export interface SandboxPaths {
  dir: string;
  /** Empty directory the init mounts the sandbox's root tmpfs on (inside its own mount namespace). */
  rootMount: string;
  /** Host directory backing the rw mount at TARGET: rw/<target without leading slash, URI-encoded>. */
  rwDir(target: string): string;
  gatewaySocket: string;
  /** The sandbox's own file system (limits.disk): a sparse ext4 image. */
  diskImage: string;
  /** Empty directory the init mounts the image on, inside the sandbox's mount namespace only. */
  diskMount: string;
  /** Directory backing the rw mount at TARGET inside the mounted image (same naming as rwDir). */
  diskRwDir(target: string): string;
}

/**
 * Mode of the directory backing a rw mount: the agent's own (0700), except the shared temporary
 * directories, which programs expect sticky and world-writable as on any Linux (OpenClaw refuses
 * a /tmp that is not 1777). Inside a sandbox there is one uid, so 1777 grants nobody else anything.
 */
export function rwDirMode(target: string): number {
  return target === '/tmp' || target === '/var/tmp' ? 0o1777 : 0o700;
}

export function sandboxPaths(stateRoot: string, name: string): SandboxPaths {
  const layout = stateLayout(stateRoot);
  const dir = layout.sandboxDir(name);
  return {
    dir,
    rootMount: join(dir, 'root'),
    rwDir: (target) => join(dir, 'rw', encodeURIComponent(target.replace(/^\/+/, ''))),
    diskImage: join(dir, 'disk.img'),
    diskMount: join(dir, 'disk'),
    diskRwDir: (target) => join(dir, 'disk', 'rw', encodeURIComponent(target.replace(/^\/+/, ''))),
    gatewaySocket: layout.sandboxSocket(name),
  };
}

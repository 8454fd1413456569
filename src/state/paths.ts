// The one state directory: /var/lib/nemoclaw for root, $XDG_STATE_HOME/nemoclaw otherwise,
// --state-dir (or NEMOCLAW_STATE_DIR) overrides. Everything nemoclaw keeps on the host is under it.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveStateDir(override?: string): string {
  if (override) return resolve(override);
  if (process.env.NEMOCLAW_STATE_DIR) return resolve(process.env.NEMOCLAW_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/nemoclaw';
  const xdg = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(xdg, 'nemoclaw');
}

export interface StateLayout {
  root: string;
  /** Gateway: control socket, per-sandbox sockets, pid file, audit log, approvals. */
  gatewayDir: string;
  controlSocket: string;
  sandboxSocket(name: string): string;
  /** Per-sandbox persistent directories backing read_write paths, and logs. */
  sandboxDir(name: string): string;
}

export function stateLayout(root: string): StateLayout {
  const gatewayDir = join(root, 'gateway');
  return {
    root,
    gatewayDir,
    controlSocket: join(gatewayDir, 'control.sock'),
    // One directory per sandbox: a relay is handed only its own sandbox's socket directory, and
    // the socket takes the owner of that directory (a docker sandbox's relay runs as its uid).
    sandboxSocket: (name) => join(gatewayDir, 'sandboxes', name, 'proxy.sock'),
    sandboxDir: (name) => join(root, 'sandboxes', name),
  };
}

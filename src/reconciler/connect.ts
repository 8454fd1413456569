// nemoclaw connect: a command inside a RUNNING sandbox, with the agent's confinement and never
// more. Finds the sandbox (inventory, then what its driver observes), loads the blueprint it runs
// and hands over to the runtime: `nemoclaw-init --join` (embedded) or `docker exec` (docker).
import type { ChildProcess } from 'node:child_process';
import { joinSandbox } from '../runtime/process/join.js';
import type { StateStore } from '../state/store.js';
import { UserError } from '../util/errors.js';
import { connectContainer } from './drivers/docker-connect.js';
import { dockerDriver } from './drivers/docker.js';
import { processDriver } from './drivers/process.js';

/** What `connect` runs without `-- cmd`: the sandbox's own shell, if its filesystem has one. */
export const DEFAULT_SHELL = ['/bin/sh'];

export async function connectSandbox(
  store: StateStore,
  name: string,
  command: string[],
  stdio: 'inherit' | 'pipe' = 'inherit',
): Promise<{ child: ChildProcess; exited: Promise<number> }> {
  const entry = store.readInventory().sandboxes[name];
  if (!entry) throw new UserError(`no sandbox "${name}" in the inventory: apply it first`);
  const driver = entry.runtime === 'docker' ? dockerDriver : processDriver;
  const view = await driver.observe({ stateDir: store.root });
  if (!view.known) throw new UserError(`cannot tell whether sandbox "${name}" runs: ${view.reason}`);
  const obs = view.sandboxes.get(name);
  if (!obs || obs.state !== 'running') {
    const why = obs ? `${obs.state}${obs.last_error ? `: ${obs.last_error}` : ''}` : 'not started';
    throw new UserError(`sandbox "${name}" is not running (${why}); nemoclaw connect enters a running sandbox only`);
  }
  // The blueprint it RUNS (after a live reload its digest moved with it), not merely the newest one.
  const bp = store.loadBlueprint(name, obs.digest ?? entry.blueprint_digest);
  const argv = command.length ? command : DEFAULT_SHELL;
  if (entry.runtime === 'docker') {
    if (!obs.id) throw new UserError(`sandbox "${name}": its container id is unknown`);
    return connectContainer(store.root, bp, obs.id, argv, stdio);
  }
  if (!obs.pid) throw new UserError(`sandbox "${name}": the supervisor reports no process`);
  return joinSandbox({ artifacts: bp.artifacts, stateDir: store.root, pid: obs.pid, command: argv, stdio });
}

// The embedded runtime's driver: sandboxes run under the supervisor inside the gateway daemon,
// so they outlive the CLI and are restarted with backoff. This driver only talks to it.
import { isGatewayRunning, probeGateway } from '../../daemon/client.js';
import { ensureSupervised, stopSupervised, supervisedSandboxes } from '../../daemon/supervisor-client.js';
import type { SupervisedStatus } from '../../supervisor/supervisor.js';
import { knownView, unknownView, type Driver, type DriverContext, type DriverObservation, type DriverView } from './driver.js';
import { StateStore } from '../../state/store.js';
import type { DesiredSandbox } from '../../state/types.js';

function toObservation(s: SupervisedStatus): DriverObservation {
  return {
    state: s.state,
    digest: s.digest,
    pid: s.pid,
    restarts: s.restarts,
    report: s.report,
    seccomp_digest: s.seccomp_digest,
    last_error: s.last_error,
    last_exit: s.last_exit?.reason ?? null,
    id: s.name,
  };
}

export const processDriver: Driver = {
  kind: 'process',
  async observe(ctx: DriverContext): Promise<DriverView> {
    const gw = ctx.gateway ?? (await probeGateway(ctx.stateDir));
    if (gw.state === 'unknown') return unknownView(gw.reason);
    if (gw.state === 'absent') {
      // No daemon: its sandboxes died with it, unless a previous one left processes its pids file
      // names. That file (and desired.json) must be readable for "nothing runs" to be true.
      try {
        const store = new StateStore(ctx.stateDir);
        store.readSupervisorPids();
        store.readSupervisorDesired();
      } catch (e) {
        return unknownView((e as Error).message);
      }
      return knownView();
    }
    try {
      const r = await (ctx.supervised ?? supervisedSandboxes(ctx.stateDir));
      if (r.unknown) return unknownView(r.unknown);
      return knownView(r.sandboxes.map((s) => [s.name, toObservation(s)]));
    } catch (e) {
      return unknownView(`the supervisor did not list its sandboxes: ${(e as Error).message}`);
    }
  },
  async create(ctx, sb: DesiredSandbox) {
    return toObservation((await ensureSupervised(ctx.stateDir, sb.name, sb.digest)).status);
  },
  async destroy(ctx, name) {
    if (!(await isGatewayRunning(ctx.stateDir))) return; // no daemon: its sandboxes died with it
    await stopSupervised(ctx.stateDir, name);
  },
  async reload(ctx, sb) {
    return toObservation((await ensureSupervised(ctx.stateDir, sb.name, sb.digest)).status);
  },
};

// The embedded runtime's driver: sandboxes run under the supervisor inside the gateway daemon,
// so they outlive the CLI and are restarted with backoff. This driver only talks to it.
import { isGatewayRunning } from '../../daemon/client.js';
import { ensureSupervised, stopSupervised, supervisedSandboxes } from '../../daemon/supervisor-client.js';
import type { SupervisedStatus } from '../../supervisor/supervisor.js';
import type { Driver, DriverContext, DriverObservation } from './driver.js';
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
    id: s.name,
  };
}

export const processDriver: Driver = {
  kind: 'process',
  async observe(ctx: DriverContext) {
    if (!(await isGatewayRunning(ctx.stateDir))) return new Map();
    return new Map((await supervisedSandboxes(ctx.stateDir)).map((s) => [s.name, toObservation(s)]));
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

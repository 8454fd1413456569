// One small interface per runtime. Drivers only start, stop, relabel and report sandboxes; the
// gateway policy (shared by every runtime) is handled by apply itself.
import type { RuntimeKind } from '../../compiler/artifacts.js';
import type { DesiredSandbox, ProcessObservation } from '../../state/types.js';
import type { GatewayProbe } from '../../daemon/client.js';
import type { SupervisedStatus } from '../../supervisor/supervisor.js';

export interface DriverObservation extends ProcessObservation {
  /** Driver-side id (supervisor name, container id). */
  id: string | null;
}

/**
 * What a driver sees: the sandboxes it runs (absent = not in the map), or that it cannot tell
 * (engine unreachable, daemon not answering, a state file unreadable). Never "nothing" for "unknown".
 */
export type DriverView = { known: true; sandboxes: Map<string, DriverObservation> } | { known: false; reason: string };

export const knownView = (sandboxes: Iterable<[string, DriverObservation]> = []): DriverView => ({
  known: true,
  sandboxes: new Map(sandboxes),
});
export const unknownView = (reason: string): DriverView => ({ known: false, reason });

export interface DriverContext {
  stateDir: string;
  /** What a probe of the gateway daemon just found, when the caller made one (observe does). */
  gateway?: GatewayProbe;
  /** The supervisor's list, when the caller asked for it already (observe does, beside the probe). */
  supervised?: Promise<{ sandboxes: SupervisedStatus[]; unknown: string | null }>;
}

export interface Driver {
  readonly kind: RuntimeKind;
  /** What this driver runs now, by sandbox name, or why it cannot tell. Does not throw. */
  observe(ctx: DriverContext): Promise<DriverView>;
  /** Make the sandbox run this blueprint (idempotent); resolves once enforcement was reported. */
  create(ctx: DriverContext, sb: DesiredSandbox): Promise<DriverObservation>;
  /** Stop and remove the sandbox's process/container (not its persistent data). Idempotent. */
  destroy(ctx: DriverContext, name: string, id: string | null): Promise<void>;
  /** After a live-only change: relabel the running sandbox with the new blueprint digest. */
  reload(ctx: DriverContext, sb: DesiredSandbox): Promise<DriverObservation>;
}

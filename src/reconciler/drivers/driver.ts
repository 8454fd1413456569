// One small interface per runtime. Drivers only start, stop, relabel and report sandboxes; the
// gateway policy (shared by every runtime) is handled by apply itself.
import type { RuntimeKind } from '../../compiler/artifacts.js';
import type { DesiredSandbox, ProcessObservation } from '../../state/types.js';

export interface DriverObservation extends ProcessObservation {
  /** Driver-side id (supervisor name, container id). */
  id: string | null;
}

export interface DriverContext {
  stateDir: string;
}

export interface Driver {
  readonly kind: RuntimeKind;
  /** What this driver runs now, by sandbox name. Never throws for "nothing runs". */
  observe(ctx: DriverContext): Promise<Map<string, DriverObservation>>;
  /** Make the sandbox run this blueprint (idempotent); resolves once enforcement was reported. */
  create(ctx: DriverContext, sb: DesiredSandbox): Promise<DriverObservation>;
  /** Stop and remove the sandbox's process/container (not its persistent data). Idempotent. */
  destroy(ctx: DriverContext, name: string, id: string | null): Promise<void>;
  /** After a live-only change: relabel the running sandbox with the new blueprint digest. */
  reload(ctx: DriverContext, sb: DesiredSandbox): Promise<DriverObservation>;
}

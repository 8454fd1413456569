// observe: ask the drivers and the gateway what really runs, and check the blueprint store
// against the digests the inventory recorded. Read-only.
import { existsSync } from 'node:fs';
import { gatewayStatus, probeGateway } from '../daemon/client.js';
import { supervisedSandboxes } from '../daemon/supervisor-client.js';
import { stateLayout } from '../state/paths.js';
import type { CompiledSandbox, RuntimeKind } from '../compiler/artifacts.js';
import type { BlueprintFile } from '../state/types.js';
import type { Driver, DriverObservation } from './drivers/driver.js';
import { processDriver } from './drivers/process.js';

/** The docker driver (dockerode and its kin), loaded only when a docker sandbox is involved. */
const docker = () => import('./drivers/docker.js').then((m) => m.dockerDriver);
export const dockerDriver: Driver = {
  kind: 'docker',
  observe: async (ctx) => (await docker()).observe(ctx),
  create: async (ctx, sb) => (await docker()).create(ctx, sb),
  destroy: async (ctx, name, id) => (await docker()).destroy(ctx, name, id),
  reload: async (ctx, sb) => (await docker()).reload(ctx, sb),
};
import { type Observed, type ObservedSandbox } from './types.js';
import { LOCKED_FILES, type Inventory } from '../state/types.js';
import type { StateStore } from '../state/store.js';

export function driversFor(kinds: Iterable<RuntimeKind>): Driver[] {
  const out: Driver[] = [processDriver];
  if ([...kinds].includes('docker')) out.push(dockerDriver);
  return out;
}

export interface Observation {
  observed: Observed;
  /** Stored blueprint per inventory entry; null when it is missing or was edited. */
  current: Record<string, CompiledSandbox | null>;
}

/**
 * Three-valued: a sandbox is observed running (in some state), absent, or the observation is
 * unknown, and then `observed.unknown` says why (plan and apply refuse; status shows it).
 */
export async function observe(store: StateStore, inventory: Inventory, drivers: Driver[]): Promise<Observation> {
  const stateDir = store.root;
  const unknown: string[] = [];
  // The state files are read while the daemon answers: the probe goes out first (this turn's I/O),
  // and, when its control socket is there, the requests for its status and the supervisor's list,
  // which are used only if the probe finds it running, and abandoned otherwise.
  const probed = probeGateway(stateDir);
  const ahead = existsSync(stateLayout(stateDir).controlSocket) ? new AbortController() : null;
  const early = ahead && {
    status: gatewayStatus(stateDir, ahead.signal),
    supervised: supervisedSandboxes(stateDir, ahead.signal),
  };
  early?.status.catch(() => {}); // settled below, or abandoned
  early?.supervised.catch(() => {});
  await new Promise<void>((r) => setImmediate(r));
  let generationsError: string | null = null;
  try {
    store.listGenerations(); // apply records a generation at its end: an unreadable one must stop it before it starts
  } catch (e) {
    generationsError = (e as Error).message;
  }
  const current: Record<string, CompiledSandbox | null> = {};
  const edited: Record<string, BlueprintFile[]> = {};
  for (const [name, e] of Object.entries(inventory.sandboxes)) {
    const r = store.inspectBlueprint(name, e); // one read of its files for both
    current[name] = r.blueprint;
    edited[name] = r.edited;
  }
  const probe = await probed;
  if (probe.state === 'unknown') unknown.push(probe.reason);
  if (probe.state !== 'running') ahead?.abort();
  // The gateway's status and every driver's view at once (round trips to the daemon, the engine),
  // the drivers told what the probe found.
  const up = probe.state === 'running';
  const asked = Promise.all([
    up
      ? (early?.status ?? gatewayStatus(stateDir)).then(
          (s) => s,
          (e: Error) => {
            unknown.push(`the gateway did not report its status: ${e.message}`);
            return null;
          },
        )
      : null,
    Promise.all(drivers.map((d) => d.observe({ stateDir, gateway: probe, ...(up && early ? { supervised: early.supervised } : {}) }))),
  ]);
  const [status, views] = await asked;
  const gw: Awaited<ReturnType<typeof gatewayStatus>> | null = status;
  const running = gw !== null;
  const byDriver = new Map<string, DriverObservation>();
  const blind = new Set<Driver['kind']>();
  for (const [i, d] of drivers.entries()) {
    const view = views[i]!;
    if (!view.known) {
      blind.add(d.kind);
      if (!unknown.includes(view.reason)) unknown.push(`${d.kind} sandboxes: ${view.reason}`);
    } else for (const [n, o] of view.sandboxes) byDriver.set(n, o);
  }

  if (generationsError !== null) unknown.push(generationsError);

  const names = new Set([...Object.keys(inventory.sandboxes), ...byDriver.keys(), ...(gw?.sandboxes.map((s) => s.name) ?? [])]);
  const policies = new Map(gw?.sandboxes.map((s) => [s.name, s.policy_version]) ?? []);
  const sandboxes: Record<string, ObservedSandbox> = {};
  for (const name of [...names].sort()) {
    const p = byDriver.get(name);
    const e = inventory.sandboxes[name];
    let lockedSame: boolean | null = null;
    if (p?.digest && e && p.digest !== e.blueprint_digest) {
      try {
        const runningBp = store.loadBlueprint(name, p.digest);
        lockedSame = LOCKED_FILES.every((f) => runningBp.artifacts.manifest.artifacts[f] === e.artifacts[f]);
      } catch {
        lockedSame = false;
      }
    }
    sandboxes[name] = {
      name,
      process: {
        state: p?.state ?? (e && blind.has(e.runtime) ? 'unknown' : 'absent'),
        digest: p?.digest ?? null,
        pid: p?.pid ?? null,
        restarts: p?.restarts ?? 0,
        report: p?.report ?? null,
        seccomp_digest: p?.seccomp_digest ?? null,
        last_error: p?.last_error ?? null,
        last_exit: p?.last_exit ?? null,
        locked_same: lockedSame,
      },
      policy_version: policies.get(name) ?? null,
      edited_files: e ? (edited[name] ?? []) : [],
    };
  }
  return {
    observed: { gateway: { running, pid: gw?.pid ?? null, test_hooks: gw?.test_hooks ?? [] }, sandboxes, unknown: [...new Set(unknown)] },
    current,
  };
}

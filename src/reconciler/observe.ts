// observe: ask the drivers and the gateway what really runs, and check the blueprint store
// against the digests the inventory recorded. Read-only.
import { gatewayStatus, probeGateway } from '../daemon/client.js';
import type { CompiledSandbox, RuntimeKind } from '../compiler/artifacts.js';
import type { Driver, DriverObservation } from './drivers/driver.js';
import { dockerDriver } from './drivers/docker.js';
import { processDriver } from './drivers/process.js';
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
  const probe = await probeGateway(stateDir);
  if (probe.state === 'unknown') unknown.push(probe.reason);
  let gw: Awaited<ReturnType<typeof gatewayStatus>> | null = null;
  if (probe.state === 'running') {
    try {
      gw = await gatewayStatus(stateDir);
    } catch (e) {
      unknown.push(`the gateway did not report its status: ${(e as Error).message}`);
    }
  }
  const running = gw !== null;
  const byDriver = new Map<string, DriverObservation>();
  const blind = new Set<Driver['kind']>();
  for (const d of drivers) {
    const view = await d.observe({ stateDir });
    if (!view.known) {
      blind.add(d.kind);
      if (!unknown.includes(view.reason)) unknown.push(`${d.kind} sandboxes: ${view.reason}`);
    } else for (const [n, o] of view.sandboxes) byDriver.set(n, o);
  }

  // apply records a generation at its end: an unreadable one must stop it before it starts.
  try {
    store.listGenerations();
  } catch (e) {
    unknown.push((e as Error).message);
  }

  const current: Record<string, CompiledSandbox | null> = {};
  for (const [name, e] of Object.entries(inventory.sandboxes)) {
    try {
      current[name] = store.loadBlueprint(name, e.blueprint_digest);
    } catch {
      current[name] = null;
    }
  }
  const names = new Set([...Object.keys(inventory.sandboxes), ...byDriver.keys(), ...(gw?.sandboxes.map((s) => s.name) ?? [])]);
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
      policy_version: gw?.sandboxes.find((s) => s.name === name)?.policy_version ?? null,
      edited_files: e ? store.editedFiles(e) : [],
    };
  }
  return {
    observed: { gateway: { running, pid: gw?.pid ?? null, test_hooks: gw?.test_hooks ?? [] }, sandboxes, unknown: [...new Set(unknown)] },
    current,
  };
}

// What the state directory records: the inventory (what nemoclaw created), generations (what was
// applied), the blueprint files and the process observations drivers report. Shared by the
// reconciler, the supervisor and the drivers, so it lives below all of them.
import type { ArtifactFile, CompiledSandbox, RuntimeKind } from '../compiler/artifacts.js';
import type { EnforcementReport } from '../init-protocol/report.js';

export type BlueprintFile = ArtifactFile | 'manifest.json';
export const BLUEPRINT_FILES: readonly BlueprintFile[] = ['egress.json', 'landlock.json', 'manifest.json', 'sandbox.json', 'seccomp.json'];
/** Parts fixed when a sandbox is created: changing one means replacing the sandbox. */
export const LOCKED_FILES = ['sandbox.json', 'landlock.json', 'seccomp.json'] as const;
/** Parts the gateway reloads without touching the sandbox process. */
export const LIVE_FILES = ['egress.json'] as const;

/** A compiled sandbox as the reconciler needs it (from a compile, a saved plan, or a generation). */
export type DesiredSandbox = CompiledSandbox;

export type SandboxStatusWord = 'creating' | 'ready' | 'deleting';

/** What nemoclaw created for one sandbox: the only things destroy/uninstall may remove. */
export interface InventoryEntry {
  name: string;
  runtime: RuntimeKind;
  blueprint_digest: string;
  /** File → sha256 of the bytes nemoclaw wrote into the blueprint store. */
  artifacts: Record<BlueprintFile, string>;
  config_path: string | null;
  git_commit: string | null;
  /** Driver-side ids: the supervisor's name for process, the container id for docker. */
  driver: { kind: RuntimeKind; id: string | null };
  /** Gateway registration (socket path) when the sandbox has network. */
  gateway_socket: string | null;
  protect: boolean;
  status: SandboxStatusWord;
  created_at: string;
  updated_at: string;
}

export interface Inventory {
  format_version: 1;
  sandboxes: Record<string, InventoryEntry>;
}

/** `unknown`: the driver could not be asked (the reason is in the observation); never read as absent. */
export type ProcessState = 'running' | 'backoff' | 'stopped' | 'failed' | 'absent' | 'unknown';

/** What a driver reports about one sandbox's process or container. */
export interface ProcessObservation {
  state: ProcessState;
  /** Blueprint digest the driver started (and verified) the sandbox from. */
  digest: string | null;
  pid: number | null;
  restarts: number;
  report: EnforcementReport | null;
  /** Digest of the BPF the host handed to the init; compared with the init's report. */
  seccomp_digest: string | null;
  last_error: string | null;
  /** How the previous run ended ("killed: memory limit 512 MiB reached"), kept while a restart runs. */
  last_exit?: string | null;
}

export interface Generation {
  format_version: 1;
  number: number;
  time: string;
  user: string;
  config_path: string | null;
  git_commit: string | null;
  sandboxes: Record<string, string>;
  rollback_of: number | null;
}

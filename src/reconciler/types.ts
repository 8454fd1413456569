// The reconciler's data: what should run (desired), what runs (observed), what was recorded
// (inventory), and the plan that turns one into the other. Plain data, so plans can be saved.
import type { RuntimeKind } from '../compiler/artifacts.js';
import type { BlueprintFile, DesiredSandbox, ProcessObservation } from '../state/types.js';

export interface Desired {
  /** Config file the blueprints came from, as shown to the user (null for a rollback). */
  configPath: string | null;
  /** sha256 of the config file's bytes (null for a rollback). */
  configDigest: string | null;
  gitCommit: string | null;
  sandboxes: DesiredSandbox[];
}

export interface ObservedSandbox {
  name: string;
  process: ProcessObservation & {
    /**
     * When the running digest differs from the applied one: are the locked parts (sandbox,
     * landlock, seccomp) the same? Then only a relabel is missing, not a restart.
     */
    locked_same: boolean | null;
  };
  /** Policy version the gateway enforces, null when not registered. */
  policy_version: string | null;
  /** Blueprint files in the store whose bytes no longer match the digest recorded in the inventory. */
  edited_files: BlueprintFile[];
}

export interface Observed {
  gateway: { running: boolean; pid: number | null; test_hooks: string[] };
  sandboxes: Record<string, ObservedSandbox>;
  /**
   * Why what runs could not be fully observed (a Docker engine that cannot be reached, a gateway
   * that does not answer, an unreadable state file). Non-empty: the sandboxes above are not the
   * whole truth, and plan and apply refuse.
   */
  unknown: string[];
}

export type ActionKind = 'create' | 'replace' | 'reload' | 'delete' | 'noop';

export interface FileChange {
  file: BlueprintFile;
  /** Dotted paths of the fields that differ, e.g. `filesystem.read_write` or `rules[slack]`. */
  fields: string[];
  /** Unified diff of the pretty-printed JSON; empty for files new or removed as a whole. */
  diff: string;
}

/** A drift finding: observed differs from what the inventory says was applied. */
export interface Drift {
  kind:
    | 'process_gone'
    | 'process_failing'
    | 'digest_mismatch'
    | 'policy_mismatch'
    | 'policy_missing'
    | 'enforcement_weaker'
    | 'file_edited'
    | 'interrupted'
    | 'unmanaged';
  detail: string;
}

export interface SemanticSummary {
  /** "assistant may now POST to api.slack.com:443 on /api/**" */
  gains: string[];
  losses: string[];
}

export interface Action {
  sandbox: string;
  kind: ActionKind;
  reasons: string[];
  /** Per changed artifact, what changed; empty for create/delete/noop. */
  changes: FileChange[];
  drift: Drift[];
  summary: SemanticSummary;
  /** Set when protect: true forbids this action without --allow-destroy. */
  blocked: string | null;
  from_digest: string | null;
  to_digest: string | null;
  runtime: RuntimeKind;
}

export const PLAN_FORMAT_VERSION = 1;

export interface Plan {
  format_version: 1;
  created_at: string;
  refresh_only: boolean;
  config: { path: string | null; digest: string | null; git_commit: string | null };
  /** sha256 over the desired blueprint digests: the blueprints this plan applies. */
  desired_digest: string;
  /** sha256 over the observation that matters (states, digests, versions, edited files). */
  observed_digest: string;
  actions: Action[];
  /** True when any action is not a noop. */
  changes: boolean;
  /** Desired blueprint files, so a saved plan applies exactly what was reviewed. */
  blueprints: Record<string, Record<BlueprintFile, string>>;
  /** Set when applying a rollback. */
  rollback_to: number | null;
}

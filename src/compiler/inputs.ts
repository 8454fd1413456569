// Everything the compiler needs, gathered by the caller (files, lock, host facts) so that the
// compiler itself stays pure: same CompileInput → same bytes.
import type { Endpoint, NemoclawConfig, SandboxSpec } from '../generated/config.js';
import { EXIT_INVALID, UserError } from '../util/errors.js';

export interface BlueprintSource {
  name: string;
  version: number;
  description: string;
  /** A partial sandbox entry; the user's entry extends and overrides it. */
  sandbox: SandboxSpec;
  digest: string;
}

export interface PresetSource {
  name: string;
  version: number;
  description: string;
  /** Hosts may be the template `{{npm_registry}}`, filled from CompileFacts. */
  endpoints: Endpoint[];
  digest: string;
}

/** Facts about the operator's environment that a compile depends on; pinned in nemoclaw.lock. */
export interface CompileFacts {
  /** The npm registry URL from the operator's npm config; needed only by the npm preset. */
  npm_registry?: string;
}

export interface CompileInput {
  config: NemoclawConfig;
  source: { file: string; git_commit: string | null };
  /** The blueprint version chosen for each name the config uses (resolved against the lock). */
  blueprints: Record<string, BlueprintSource>;
  presets: Record<string, PresetSource>;
  facts: CompileFacts;
  /** Image references pinned by the lock: ref → sha256 digest. */
  lockedImages: Record<string, string>;
}

/** A config the compiler cannot turn into a blueprint: invalid input (exit 1). */
export class CompileError extends UserError {
  constructor(
    readonly sandbox: string,
    message: string,
  ) {
    super(`${sandbox}: ${message}`, [], EXIT_INVALID);
    this.name = 'CompileError';
  }
}

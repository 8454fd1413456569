// Types of the compiled artifacts: the contract with the runtime, the gateway and the reconciler.
// Each artifact's shape is generated from its schema (schemas/<name>.schema.json, the single
// source of truth; docs/artifacts.md is generated from the same files). Only the groupings the
// compiler hands to its callers are written here.
import type { ArtifactDigests, ManifestArtifact } from '../generated/manifest-artifact.js';
import type { EgressArtifact } from '../generated/egress-artifact.js';
import type { LandlockArtifact } from '../generated/landlock-artifact.js';
import type { SandboxArtifact } from '../generated/sandbox-artifact.js';
import type { SeccompProfile } from '../generated/seccomp-artifact.js';

export type {
  EgressArtifact,
  EgressEndpoint,
  EgressRuleArtifact,
  InferenceProviderRoute,
  InferenceRoute,
} from '../generated/egress-artifact.js';
export type {
  LandlockArtifact,
  LandlockFsRight,
  LandlockNetRight,
  LandlockNetRule,
  LandlockPathRule,
  LandlockScope,
} from '../generated/landlock-artifact.js';
export type { Mount, RuntimeKind, SandboxArtifact } from '../generated/sandbox-artifact.js';
export type { SeccompProfile } from '../generated/seccomp-artifact.js';
export type { ArtifactDigests, CatalogEntry, ManifestArtifact } from '../generated/manifest-artifact.js';
export type { CompiledIndex } from '../generated/index-artifact.js';

/** The artifact files a manifest pins (manifest.json aside). */
export type ArtifactFile = keyof ArtifactDigests;

export interface SandboxArtifacts {
  sandbox: SandboxArtifact;
  landlock: LandlockArtifact;
  seccomp: SeccompProfile;
  egress: EgressArtifact;
  manifest: ManifestArtifact;
}

/** One compiled sandbox: the artifact objects, their exact bytes, and the blueprint digest. */
export interface CompiledSandbox {
  name: string;
  artifacts: SandboxArtifacts;
  /** File name → canonical bytes (including manifest.json). */
  files: Record<ArtifactFile | 'manifest.json', string>;
  digest: string;
}

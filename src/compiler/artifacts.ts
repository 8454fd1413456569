// Types of the compiled artifacts: the contract with the runtime, the gateway and the reconciler.
// docs/artifacts.md describes each field; keep the two in step.
import type { SeccompProfile } from './seccomp.js';

export const ARTIFACT_FORMAT_VERSION = 1;
export type { SeccompProfile };

export interface SandboxArtifact {
  format_version: 1;
  name: string;
  runtime: 'process' | 'docker';
  image: string | null;
  command: string[];
  workdir: string;
  user: { uid: number; gid: number };
  env: Record<string, string>;
  mounts: { target: string; mode: 'ro' | 'rw' }[];
  limits: { pids: number; memory_bytes: number; nofile: number };
  network: { mode: 'gateway' | 'none'; proxy_port: number };
  inference: { provider: string } | null;
  protect: boolean;
}

export type LandlockFsRight =
  | 'execute'
  | 'write_file'
  | 'read_file'
  | 'read_dir'
  | 'remove_dir'
  | 'remove_file'
  | 'make_char'
  | 'make_dir'
  | 'make_reg'
  | 'make_sock'
  | 'make_fifo'
  | 'make_block'
  | 'make_sym'
  | 'refer'
  | 'truncate'
  | 'ioctl_dev';
export type LandlockNetRight = 'bind_tcp' | 'connect_tcp';
export type LandlockScope = 'abstract_unix_socket' | 'signal';

export interface LandlockArtifact {
  format_version: 1;
  compatibility: 'hard_requirement' | 'best_effort';
  abi_floor: number;
  handled_access_fs: LandlockFsRight[];
  handled_access_net: LandlockNetRight[];
  scoped: LandlockScope[];
  path_rules: { path: string; access: LandlockFsRight[] }[];
  net_rules: { port: number; access: LandlockNetRight[] }[];
}

export interface EgressEndpoint {
  host: string;
  wildcard: boolean;
  port: number;
  protocol: 'https' | 'http';
  methods: string[] | null;
  paths: string[] | null;
}

export interface EgressRuleArtifact {
  name: string;
  source: string;
  endpoints: EgressEndpoint[];
}

/** One provider a sandbox may use, as the router needs it. `credential` is a reference, never a key. */
export interface InferenceProviderRoute {
  api: 'openai' | 'anthropic';
  endpoint: string;
  model: string;
  models: string[];
  credential: string | null;
  ca_file: string | null;
  local: boolean;
}

/** A sandbox's inference policy: compiled into egress.json so it reloads live with the rules. */
export interface InferenceRoute {
  /** The default provider (its `model` answers requests that name no mapped model). */
  provider: string;
  /** Only the providers this sandbox may use. */
  providers: Record<string, InferenceProviderRoute>;
  /** Model name the agent asks for → provider and real model. */
  aliases: Record<string, { provider: string; model: string }>;
  fallback: string[];
  local_only: boolean;
  limits: { requests_per_minute: number | null; concurrent: number | null; tokens_per_day: number | null };
}

export interface EgressArtifact {
  format_version: 1;
  sandbox: string;
  default: 'deny';
  on_deny: 'deny' | 'ask';
  allowed_ips: string[];
  rules: EgressRuleArtifact[];
  inference: InferenceRoute | null;
}

export interface ManifestArtifact {
  format_version: 1;
  sandbox: string;
  blueprint: { name: string; version: number; digest: string } | null;
  presets: { name: string; version: number; digest: string }[];
  artifacts: Record<ArtifactFile, string>;
  source: { file: string; git_commit: string | null };
  digest: string;
}

export const ARTIFACT_FILES = ['egress.json', 'landlock.json', 'sandbox.json', 'seccomp.json'] as const;
export type ArtifactFile = (typeof ARTIFACT_FILES)[number];

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

export interface CompiledIndex {
  format_version: 1;
  sandboxes: Record<string, string>;
}

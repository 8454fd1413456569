// The compiler: a validated config plus its gathered inputs → per-sandbox artifacts and digests.
// Pure: no file system, no clock, no randomness. Same CompileInput → same bytes.
import {
  type SeccompProfile,
  type CompiledIndex,
  type CompiledSandbox,
  type ManifestArtifact,
  type SandboxArtifacts,
} from './artifacts.js';
import { canonicalJson, sha256 } from './canonical.js';
import { compileEgress } from './egress.js';
import { CompileError, type CompileInput } from './inputs.js';
import { compileLandlock } from './landlock.js';
import { resolveSandbox, type ResolvedSandbox } from './resolve.js';
import { compileMounts, compileSandbox } from './sandbox.js';
import { compileSeccomp } from './seccomp.js';

export interface CompileOutput {
  sandboxes: CompiledSandbox[];
  index: CompiledIndex;
  indexFile: string;
}

export function compileConfig(input: CompileInput): CompileOutput {
  const names = Object.keys(input.config.sandboxes).sort();
  // Many sandboxes share a seccomp spec; its profile and canonical text are computed once.
  const seccompCache = new Map<string, { profile: SeccompProfile; text: string }>();
  const sandboxes = names.map((name) => compileOne(name, input, seccompCache));
  const index: CompiledIndex = { format_version: 1, sandboxes: Object.fromEntries(sandboxes.map((s) => [s.name, s.digest])) };
  return { sandboxes, index, indexFile: canonicalJson(index) };
}

export function compileOne(
  name: string,
  input: CompileInput,
  seccompCache = new Map<string, { profile: SeccompProfile; text: string }>(),
): CompiledSandbox {
  const entry = input.config.sandboxes[name];
  if (!entry) throw new CompileError(name, 'no such sandbox');
  const blueprintName = entry.blueprint?.split('@')[0];
  const blueprint = blueprintName ? input.blueprints[blueprintName] : undefined;
  if (blueprintName && !blueprint) throw new CompileError(name, `unknown blueprint "${blueprintName}"`);
  const s = resolveSandbox(entry, blueprint);

  const egress = compileEgress(name, s, input.config, input.presets, input.facts);
  // Published ports come in over the same per-sandbox socket directory the gateway serves.
  const networked = egress.rules.length > 0 || egress.inference !== null || (egress.ports?.length ?? 0) > 0;
  const mounts = compileMounts(name, s);
  const sandbox = compileSandbox(name, s, mounts, networked, resolveImage(name, s, input.lockedImages));
  const landlock = compileLandlock(s, mounts, networked ? sandbox.network.proxy_port : null);
  const seccompKey = JSON.stringify(s.process.seccomp);
  let sc = seccompCache.get(seccompKey);
  if (!sc) {
    const profile = compileSeccomp(s.process.seccomp);
    sc = { profile, text: canonicalJson(profile) };
    seccompCache.set(seccompKey, sc);
  }
  const seccomp = sc.profile;

  const bodies = {
    'egress.json': canonicalJson(egress),
    'landlock.json': canonicalJson(landlock),
    'sandbox.json': canonicalJson(sandbox),
    'seccomp.json': sc.text,
  };
  const presets = s.network.presets
    .map((p) => input.presets[p]!)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((p) => ({ name: p.name, version: p.version, digest: p.digest }));
  const unsigned = {
    format_version: 1 as const,
    sandbox: name,
    blueprint: blueprint ? { name: blueprint.name, version: blueprint.version, digest: blueprint.digest } : null,
    presets,
    artifacts: {
      'egress.json': sha256(bodies['egress.json']),
      'landlock.json': sha256(bodies['landlock.json']),
      'sandbox.json': sha256(bodies['sandbox.json']),
      'seccomp.json': sha256(bodies['seccomp.json']),
    },
  };
  // Provenance is kept out of the digest: a commit that changes nothing here changes no digest.
  const digest = sha256(canonicalJson(unsigned));
  const manifest: ManifestArtifact = { ...unsigned, source: { ...input.source }, digest };
  const artifacts: SandboxArtifacts = { sandbox, landlock, seccomp, egress, manifest };
  return { name, artifacts, files: { ...bodies, 'manifest.json': canonicalJson(manifest) }, digest };
}

const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

/** The image pinned by digest; null for a process sandbox built from host paths. Both runtimes accept an image. */
function resolveImage(name: string, s: ResolvedSandbox, locked: Record<string, string>): string | null {
  if (!s.image) {
    if (s.runtime === 'docker') throw new CompileError(name, 'runtime docker needs an `image`');
    return null;
  }
  if (DIGEST_REF.test(s.image)) return s.image;
  const pinned = locked[s.image];
  if (!pinned) throw new CompileError(name, `image "${s.image}" has no digest and nemoclaw.lock does not pin it`);
  return `${s.image.replace(/:[^/:]+$/, '')}@${pinned}`;
}

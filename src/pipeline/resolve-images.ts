// `compile --update-lock` pins images written without a digest (the entry's or its blueprint's): an image nemoclaw built
// (`nemoclaw image build`, in <state>/images/oci/built) is pinned to what its build produced, anything
// else to what the local Docker engine has (its registry digest, else its image id).
import type { NemoclawConfig, SandboxSpec } from '../generated/config.js';
import { ImageStore } from '../image/store.js';
import { resolveStateDir } from '../state/paths.js';

const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

/** An image a sandbox runs from, with the runtime that will run it (the digest to pin depends on it). */
export interface ImageUse {
  ref: string;
  runtime: 'docker' | 'process';
}

/**
 * Images written without a digest that the lock does not pin yet: the entry's own `image`, else its
 * blueprint's (`blueprintSandbox` gives the blueprint's sandbox at the version the compile uses).
 */
export function unpinnedImages(
  config: NemoclawConfig,
  pinned: Record<string, string>,
  blueprintSandbox: (blueprint: string) => SandboxSpec | undefined = () => undefined,
): ImageUse[] {
  const uses = new Map<string, ImageUse>();
  for (const s of Object.values(config.sandboxes)) {
    const base = s.blueprint ? blueprintSandbox(s.blueprint) : undefined;
    const ref = s.image ?? base?.image;
    if (!ref || DIGEST_REF.test(ref) || pinned[ref]) continue;
    uses.set(ref, { ref, runtime: s.runtime ?? base?.runtime ?? 'process' });
  }
  return [...uses.values()].sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

/**
 * ref → digest of each image nemoclaw's image store holds under that name:tag. For docker, the
 * config digest: Docker's image id once `image build --load` (or `docker load` of the archive)
 * gave it to the engine, which is how the docker driver finds an image pinned by id. For the
 * process runtime, the manifest digest (the OCI image digest the runtime unpacks).
 */
export function storeImageDigests(refs: string[], runtime: 'docker' | 'process', stateDir = resolveStateDir()): Record<string, string> {
  const store = ImageStore.open(stateDir);
  const out: Record<string, string> = {};
  for (const ref of refs) {
    const image = store.list().find((i) => i.ref === ref);
    if (image) out[ref] = runtime === 'docker' ? image.config : image.digest;
  }
  return out;
}

/**
 * ref → sha256 digest for each image nemoclaw built or (docker) the local engine has; missing ones
 * are left out. Process sandboxes only take images nemoclaw built: the runtime unpacks them from
 * the store, by manifest digest.
 */
export async function resolveImageDigests(uses: ImageUse[]): Promise<Record<string, string>> {
  if (uses.length === 0) return {};
  const refs = (runtime: ImageUse['runtime']) => uses.filter((u) => u.runtime === runtime).map((u) => u.ref);
  const built = { ...storeImageDigests(refs('process'), 'process'), ...storeImageDigests(refs('docker'), 'docker') };
  const rest = refs('docker').filter((r) => !built[r]);
  return { ...(await engineImageDigests(rest)), ...built };
}

async function engineImageDigests(refs: string[]): Promise<Record<string, string>> {
  if (refs.length === 0) return {};
  // dockerode takes ~130 ms to import: only when there is an image to resolve.
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const out: Record<string, string> = {};
  for (const ref of refs) {
    try {
      const info = await docker.getImage(ref).inspect();
      const repo = ref.replace(/:[^/:]+$/, '');
      const repoDigest = (info.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`));
      out[ref] = repoDigest ? repoDigest.slice(repo.length + 1) : info.Id;
    } catch {
      // Not available locally (or no engine): lint keeps reporting it as unpinned.
    }
  }
  return out;
}

// `compile --update-lock` pins docker images written without a digest: an image nemoclaw built
// (`nemoclaw image build`, in <state>/images/oci/built) is pinned to what its build produced, anything
// else to what the local Docker engine has (its registry digest, else its image id).
import type { NemoclawConfig } from '../generated/config.js';
import { ImageStore } from '../image/store.js';
import { resolveStateDir } from '../state/paths.js';

const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

export function unpinnedImages(config: NemoclawConfig, pinned: Record<string, string>, runtime: 'docker' | 'process' = 'docker'): string[] {
  const refs = Object.values(config.sandboxes)
    .filter((s) => s.runtime === runtime && s.image && !DIGEST_REF.test(s.image) && !pinned[s.image])
    .map((s) => s.image!);
  return [...new Set(refs)].sort();
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

/** ref → sha256 digest for each image nemoclaw built or the local engine has; missing ones are left out. */
export async function resolveImageDigests(refs: string[]): Promise<Record<string, string>> {
  if (refs.length === 0) return {};
  const built = storeImageDigests(refs, 'docker');
  const rest = refs.filter((r) => !built[r]);
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

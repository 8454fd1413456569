// `compile --update-lock` pins docker images written without a digest: it asks the local Docker
// engine what the reference points at now (its registry digest, else its image id).
import type { NemoclawConfig } from '../generated/config.js';

const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

export function unpinnedImages(config: NemoclawConfig, pinned: Record<string, string>): string[] {
  const refs = Object.values(config.sandboxes)
    .filter((s) => s.runtime === 'docker' && s.image && !DIGEST_REF.test(s.image) && !pinned[s.image])
    .map((s) => s.image!);
  return [...new Set(refs)].sort();
}

/** ref → sha256 digest for each image the local engine has; missing ones are left out. */
export async function resolveImageDigests(refs: string[]): Promise<Record<string, string>> {
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

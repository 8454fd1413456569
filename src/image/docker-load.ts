// Giving a built image to the local Docker engine: `image build --load` and `init` (runtime
// docker). The archive is the one `image build --out` writes (OCI layout + docker-archive), so
// Docker's image id is the image's config digest: what a docker sandbox's lock pins.
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeArchive } from './archive.js';
import { cacheDirFor } from './build.js';
import type { ImageStore, StoredImage } from './store.js';

/** `docker load` of an archive; returns what Docker said ("Loaded image: …"). */
export async function dockerLoad(archive: string): Promise<string> {
  // dockerode takes ~130 ms to import: only when something is loaded.
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const stream = await docker.loadImage(createReadStream(archive));
  const out = await new Promise<string>((ok, fail) => {
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    stream.on('end', () => ok(text));
    stream.on('error', fail);
  });
  const lines = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { stream?: string; error?: string });
  const err = lines.find((l) => l.error);
  if (err) throw new UserError(`docker load failed: ${err.error}`);
  return lines
    .map((l) => l.stream ?? '')
    .join('')
    .trim();
}

/**
 * Makes `ref` name `image` in the local Docker engine. When the engine already has it under that
 * name (same image id) nothing is written or loaded; otherwise the archive is written to a temp
 * file under the build cache and loaded. Returns what happened, for the user.
 */
export async function loadIntoDocker(store: ImageStore, image: StoredImage, ref: string, stateDir: string): Promise<string> {
  const { default: Docker } = await import('dockerode');
  try {
    const info = await new Docker().getImage(ref).inspect();
    if (info.Id === image.config) return `${ref} is already in Docker (image id ${image.config})`;
  } catch (e) {
    // 404: not there yet. Anything else (no engine, no permission) is refused with Docker's words.
    if ((e as { statusCode?: number }).statusCode !== 404) throw dockerUnreachable(e);
  }
  mkdirSync(cacheDirFor(stateDir), { recursive: true });
  const tmp = mkdtempSync(join(cacheDirFor(stateDir), 'load-'));
  try {
    const archive = join(tmp, 'image.tar');
    writeArchive(store, image, ref, archive);
    return `${await dockerLoad(archive)} (image id ${image.config})`;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function dockerUnreachable(e: unknown): UserError {
  return new UserError(`cannot reach the Docker engine to load the image: ${(e as Error).message.split('\n')[0]}`);
}

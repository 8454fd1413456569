// Which stored images the sandboxes in the inventory use: read from each entry's applied
// sandbox.json (its `image`, pinned by digest: a manifest digest for the process runtime, a
// config digest, i.e. Docker's image id, for docker). Fails closed: an entry whose blueprint
// cannot be read makes every image count as possibly in use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../state/store.js';
import { UserError } from '../util/errors.js';
import type { StoredImage } from './store.js';

/** Digest (`sha256:<hex>`) → names of the sandboxes whose applied blueprint pins it. */
export function pinnedByInventory(stateDir: string): Map<string, string[]> {
  const state = new StateStore(stateDir);
  const out = new Map<string, string[]>();
  for (const [name, entry] of Object.entries(state.readInventory().sandboxes)) {
    const file = join(state.layout.blueprintDir(entry.blueprint_digest), 'sandbox.json');
    let image: unknown;
    try {
      image = (JSON.parse(readFileSync(file, 'utf8')) as { image?: unknown }).image;
    } catch (e) {
      throw new UserError(`cannot tell which image sandbox ${name} uses (${file}: ${(e as Error).message}); nothing was removed`);
    }
    const digest = typeof image === 'string' ? /(sha256:[0-9a-f]{64})$/.exec(image)?.[1] : undefined;
    if (digest) out.set(digest, [...(out.get(digest) ?? []), name]);
  }
  return out;
}

export function usersOf(image: StoredImage, pinned: Map<string, string[]>): string[] {
  return [...(pinned.get(image.digest) ?? []), ...(pinned.get(image.config) ?? [])].sort();
}

// The image content store: one OCI image layout at <state>/images/oci/built (oci-layout, index.json,
// blobs/sha256/<hex>), the format the process runtime unpacks from. index.json lists every image;
// a tagged one carries its name:tag in the org.opencontainers.image.ref.name annotation, and an
// image whose tag moved to a newer build stays (untagged) until `image prune`: a lock may pin it.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { CONFIG_ANNOTATION, hexOf, MEDIA, OCI_LAYOUT, ociIndex, REF_ANNOTATION, type Descriptor } from './oci.js';

export interface StoredImage {
  /** Manifest digest: the image digest `image build` prints and the process runtime pins. */
  digest: string;
  /** Config digest: Docker's image id once loaded (what a docker sandbox's lock pins). */
  config: string;
  ref: string | null;
  /** Bytes of the manifest, config and layers. */
  size: number;
}

// A layout directory under <state>/images/oci/, where the process runtime looks for layouts
// (every directory or .tar there; src/runtime/process/image-root.ts resolveImageRef).
export const imageStoreDir = (stateDir: string): string => join(stateDir, 'images', 'oci', 'built');

export class ImageStore {
  readonly blobs: string;
  constructor(readonly dir: string) {
    this.blobs = join(dir, 'blobs', 'sha256');
  }

  static open(stateDir: string): ImageStore {
    return new ImageStore(imageStoreDir(stateDir));
  }

  blobPath(digest: string): string {
    return join(this.blobs, hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  putBlob(digest: string, bytes: Buffer): void {
    if (!this.hasBlob(digest)) writeFileAtomic(this.blobPath(digest), bytes, { mode: 0o444, durable: false });
  }

  /** Moves or links a finished file into the store (it is already named by its digest). */
  importBlob(digest: string, file: string, keepSource: boolean): void {
    if (this.hasBlob(digest)) {
      if (!keepSource) rmSync(file, { force: true });
      return;
    }
    mkdirSync(this.blobs, { recursive: true });
    const tmp = `${this.blobPath(digest)}.${process.pid}.tmp`;
    if (keepSource) {
      try {
        linkSync(file, tmp);
      } catch {
        copyFileSync(file, tmp); // another file system: the cache stays on its own
      }
    } else renameSync(file, tmp);
    renameSync(tmp, this.blobPath(digest));
  }

  readBlob(digest: string): Buffer {
    return readFileSync(this.blobPath(digest));
  }

  private readIndex(): Descriptor[] {
    const path = join(this.dir, 'index.json');
    if (!existsSync(path)) return [];
    try {
      const idx = JSON.parse(readFileSync(path, 'utf8')) as { manifests?: Descriptor[] };
      if (!Array.isArray(idx.manifests)) throw new Error('no manifests');
      return idx.manifests;
    } catch (e) {
      throw new UserError(`image store index ${path} is damaged (${(e as Error).message}); remove ${this.dir} and rebuild`);
    }
  }

  private writeIndex(manifests: Descriptor[]): void {
    mkdirSync(this.blobs, { recursive: true });
    if (!existsSync(join(this.dir, 'oci-layout'))) writeFileAtomic(join(this.dir, 'oci-layout'), OCI_LAYOUT);
    const sorted = [...manifests].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    writeFileAtomic(join(this.dir, 'index.json'), ociIndex(sorted));
  }

  list(): StoredImage[] {
    return this.readIndex().map((d) => {
      const manifest = JSON.parse(this.readBlob(d.digest).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      return {
        digest: d.digest,
        config: manifest.config.digest,
        ref: d.annotations?.[REF_ANNOTATION] ?? null,
        size: d.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      };
    });
  }

  /** Records a built image under `ref`; the ref moves off any older image. */
  add(ref: string, manifest: { digest: string; size: number }, config: string): void {
    const others = this.readIndex()
      .filter((d) => d.digest !== manifest.digest)
      .map((d) =>
        d.annotations?.[REF_ANNOTATION] === ref
          ? { ...d, annotations: { [CONFIG_ANNOTATION]: d.annotations[CONFIG_ANNOTATION] ?? '' } }
          : d,
      );
    this.writeIndex([
      ...others,
      {
        mediaType: MEDIA.manifest,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { [REF_ANNOTATION]: ref, [CONFIG_ANNOTATION]: config },
      },
    ]);
  }

  /** The image a reference names: name:tag, a manifest digest, or a config digest (full or a 12+ hex prefix). */
  find(ref: string): StoredImage | undefined {
    const all = this.list();
    const byRef = all.find((i) => i.ref === ref);
    if (byRef) return byRef;
    const hex = /^(sha256:)?([0-9a-f]{12,64})$/.exec(ref)?.[2];
    if (!hex) return undefined;
    const hits = all.filter((i) => hexOf(i.digest).startsWith(hex) || hexOf(i.config).startsWith(hex));
    if (hits.length > 1) throw new UserError(`"${ref}" matches ${hits.length} images; give more of the digest`);
    return hits[0];
  }

  /** Drops images from the index, then every blob no remaining image refers to. */
  remove(digests: string[]): void {
    const drop = new Set(digests);
    this.writeIndex(this.readIndex().filter((d) => !drop.has(d.digest)));
    this.collectGarbage();
  }

  collectGarbage(): number {
    const live = new Set<string>();
    for (const d of this.readIndex()) {
      live.add(hexOf(d.digest));
      const m = JSON.parse(this.readBlob(d.digest).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      live.add(hexOf(m.config.digest));
      for (const l of m.layers) live.add(hexOf(l.digest));
    }
    let freed = 0;
    if (!existsSync(this.blobs)) return 0;
    for (const f of readdirSync(this.blobs)) {
      if (live.has(f)) continue;
      freed += statSync(join(this.blobs, f)).size;
      rmSync(join(this.blobs, f), { force: true });
    }
    return freed;
  }
}

// One image as a single tar that is both an OCI image layout (oci-layout, index.json, blobs/) and
// a docker-archive (manifest.json pointing into the same blobs), so `docker load` (any version)
// and OCI tools read the same file. Written atomically: a crash leaves no half archive.
import { renameSync, rmSync, statSync } from 'node:fs';
import { CONFIG_ANNOTATION, dockerArchiveManifest, hexOf, MEDIA, OCI_LAYOUT, ociIndex, REF_ANNOTATION, type Descriptor } from './oci.js';
import type { ImageStore, StoredImage } from './store.js';
import { writeTar, type TarEntry } from './tar.js';

export function writeArchive(store: ImageStore, image: StoredImage, ref: string, out: string): void {
  const manifestBytes = store.readBlob(image.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  const mem = (path: string, data: Buffer): TarEntry => ({
    type: 'file',
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    source: data,
  });
  const blob = (digest: string): TarEntry => {
    const path = store.blobPath(digest);
    return { type: 'file', path: `blobs/sha256/${hexOf(digest)}`, mode: 0o644, uid: 0, gid: 0, size: statSync(path).size, source: path };
  };
  const index = ociIndex([
    {
      mediaType: MEDIA.manifest,
      digest: image.digest,
      size: manifestBytes.length,
      annotations: { [REF_ANNOTATION]: ref, [CONFIG_ANNOTATION]: image.config },
    },
  ]);
  const dir = (path: string): TarEntry => ({ type: 'dir', path, mode: 0o755, uid: 0, gid: 0 });
  const blobs = [...new Set([image.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)])].sort();
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    writeTar(tmp, [
      dir('blobs'),
      dir('blobs/sha256'),
      ...blobs.map(blob),
      mem('index.json', index),
      mem(
        'manifest.json',
        dockerArchiveManifest(
          ref,
          manifest.config.digest,
          manifest.layers.map((l) => l.digest),
        ),
      ),
      mem('oci-layout', OCI_LAYOUT),
    ]);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
}

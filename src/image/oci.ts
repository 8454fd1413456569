// The OCI image config, manifest and index (image-spec v1.1), and the docker-archive manifest.json
// that lets Docker 20.10 (which does not read OCI layouts) `docker load` the same tar. Pure: JSON
// in a fixed key order, no timestamps, so the manifest digest is a function of the layers.
import { sha256Hex } from '../util/sha256.js';
import type { ImageDefinition } from '../generated/image.js';
import type { WrittenBlob } from './tar.js';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** Annotation keys in index.json: the reference (name:tag) and the config digest (Docker's image id). */
export const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONFIG_ANNOTATION = 'dev.nemoclaw.image.config';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Blob {
  digest: string;
  bytes: Buffer;
}

const blob = (value: unknown): Blob => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: `sha256:${sha256Hex(bytes)}`, bytes };
};

export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');

export function imageConfig(def: ImageDefinition, layers: { name: string; blob: WrittenBlob }[], arch: string): Blob {
  const c = def.config ?? {};
  const env = Object.entries(c.env ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  return blob({
    created: '1970-01-01T00:00:00Z',
    architecture: arch,
    os: 'linux',
    config: {
      ...(env.length ? { Env: env } : {}),
      ...(c.user ? { User: c.user } : {}),
      ...(c.workdir ? { WorkingDir: c.workdir } : {}),
      ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
      ...(c.cmd ? { Cmd: c.cmd } : {}),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.blob.digest) },
    history: layers.map((l) => ({ created: '1970-01-01T00:00:00Z', created_by: `nemoclaw image build: ${l.name}` })),
  });
}

export function imageManifest(config: Blob, layers: WrittenBlob[]): Blob {
  return blob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.bytes.length },
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
  });
}

export function ociIndex(manifests: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }, null, 2) + '\n');
}

export const OCI_LAYOUT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');

/** Docker's `docker save` format: paths into the same blobs/ directory the OCI layout uses. */
export function dockerArchiveManifest(ref: string, config: string, layers: string[]): Buffer {
  const path = (d: string) => `blobs/sha256/${hexOf(d)}`;
  return Buffer.from(JSON.stringify([{ Config: path(config), RepoTags: [ref], Layers: layers.map(path) }]) + '\n');
}

/** The OCI architecture name of this host (images are built for the host's architecture). */
export function hostArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
}

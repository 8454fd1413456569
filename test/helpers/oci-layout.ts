// Small OCI images for tests, in the standard image-layout form (oci-layout, index.json,
// blobs/sha256/<hex>), made from a few entries per layer: no registry, no docker, no other
// engineer's image builder. `busyboxLayer()` copies the host's static busybox in.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { elfInterpreter } from '../../src/runtime/process/root-check.js';

export type Entry =
  | { path: string; type: 'file'; content: string | Buffer; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'hardlink'; target: string };

export interface Layer {
  entries: Entry[];
  /** gzip the layer blob (default true). */
  gzip?: boolean;
}

export interface OciImage {
  dir: string;
  /** sha256:<hex> of the manifest. */
  digest: string;
  /** name@sha256:<hex>, as a config would pin it. */
  ref: string;
  manifestHex: string;
  layerHexes: string[];
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function layerTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const mtime = new Date(0);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      const base = { name: e.path, mtime, uid: 0, gid: 0 };
      if (e.type === 'file') pack.entry({ ...base, type: 'file', mode: e.mode ?? 0o644 }, Buffer.from(e.content), cb);
      else if (e.type === 'dir') pack.entry({ ...base, type: 'directory', mode: e.mode ?? 0o755 }, undefined, cb);
      else if (e.type === 'symlink') pack.entry({ ...base, type: 'symlink', linkname: e.target, mode: 0o777 }, undefined, cb);
      else pack.entry({ ...base, type: 'link', linkname: e.target, mode: 0o644 }, undefined, cb);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

function writeBlob(dir: string, body: Buffer | string): { hex: string; size: number } {
  const hex = sha(body);
  writeFileSync(join(dir, 'blobs', 'sha256', hex), body);
  return { hex, size: Buffer.byteLength(body) };
}

/** Writes an OCI image layout at DIR (created) with LAYERS in order; returns its manifest digest. */
export async function makeOciLayout(dir: string, layers: Layer[], name = 'test/image'): Promise<OciImage> {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const descs = [];
  const diffIds = [];
  for (const l of layers) {
    const raw = await layerTar(l.entries);
    const gz = l.gzip ?? true;
    const blob = writeBlob(dir, gz ? gzipSync(raw) : raw);
    diffIds.push(`sha256:${sha(raw)}`);
    descs.push({
      mediaType: gz ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      digest: `sha256:${blob.hex}`,
      size: blob.size,
    });
  }
  const config = writeBlob(
    dir,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const manifest = writeBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${config.hex}`, size: config.size },
      layers: descs,
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifest.hex}`,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  return {
    dir,
    digest: `sha256:${manifest.hex}`,
    ref: `${name}@sha256:${manifest.hex}`,
    manifestHex: manifest.hex,
    layerHexes: descs.map((d) => d.digest.slice(7)),
  };
}

/** The layout DIR as one tar file (what `docker save`-style tools and the lock may point at). */
export function layoutTar(dir: string, file: string): void {
  const r = spawnSync('tar', ['-C', dir, '--owner=0', '--group=0', '-cf', file, 'oci-layout', 'index.json', 'blobs'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
}

export const BUSYBOX = '/bin/busybox';
/** A statically linked busybox has no program interpreter (PT_INTERP): it runs in a root without libc. */
export const hostHasStaticBusybox = () => existsSync(BUSYBOX) && elfInterpreter(BUSYBOX) === null;

/** A root with the host's static busybox as /bin/busybox and a few applets linked to it. */
export function busyboxLayer(applets = ['sh', 'ls', 'cat', 'id', 'echo', 'touch', 'wc', 'head']): Layer {
  return {
    entries: [
      { path: 'bin', type: 'dir' },
      { path: 'bin/busybox', type: 'file', content: readFileSync(BUSYBOX), mode: 0o755 },
      ...applets.map((a): Entry => ({ path: `bin/${a}`, type: 'symlink', target: '/bin/busybox' })),
      { path: 'etc', type: 'dir' },
      { path: 'etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\nsandbox:x:1000:1000::/sandbox:/bin/sh\n' },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
      { path: 'sandbox', type: 'dir' },
    ],
  };
}

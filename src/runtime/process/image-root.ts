// An OCI image as a process sandbox's root: found in the local content store, verified blob by
// blob against its digest, unpacked ONCE into STATE/images/roots/<hex> (layers in order,
// whiteouts honoured, nothing written outside the root), atomically (a temp dir renamed into
// place), and never written again. The init mounts it read-only as the sandbox's lower root.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  chmodSync,
  closeSync,
  openSync,
  readSync,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { stateLayout } from '../../state/paths.js';
import { UserError } from '../../util/errors.js';

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Where images live under the state directory. */
export function imagePaths(stateDir: string) {
  const images = join(stateLayout(stateDir).root, 'images');
  return { images, oci: join(images, 'oci'), roots: join(images, 'roots'), tmp: join(images, 'tmp') };
}

/** The sha256 hex of `name@sha256:<hex>` or `sha256:<hex>`. */
export function imageDigestHex(ref: string): string {
  const m = /(?:^|@)sha256:([0-9a-f]{64})$/.exec(ref);
  if (!m) throw new UserError(`image "${ref}" is not pinned by digest (name@sha256:<64 hex>)`);
  return m[1]!;
}

const isLayoutDir = (p: string) => existsSync(join(p, 'oci-layout')) && existsSync(join(p, 'index.json'));

/** Names of the entries of a tar file (headers only; contents are skipped). */
async function tarNames(file: string): Promise<Set<string>> {
  const names = new Set<string>();
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    names.add(posix.normalize(h.name).replace(/^\.?\//, ''));
    stream.on('end', () => next());
    stream.resume();
  });
  await pipeline(createReadStream(file), ex);
  return names;
}

/**
 * The OCI image layout (a directory, or a tar of one) holding the blob `sha256:<hex>`. The one
 * place that knows where images are stored: every layout directory or .tar under
 * STATE/images/oci/, then `extra` (paths from the lock or the command line). null when absent.
 */
export async function resolveImageRef(stateDir: string, ref: string, extra: string[] = []): Promise<string | null> {
  const hex = imageDigestHex(ref);
  const { oci } = imagePaths(stateDir);
  const candidates = [
    ...(existsSync(oci)
      ? readdirSync(oci)
          .sort()
          .map((n) => join(oci, n))
      : []),
    ...extra,
  ];
  for (const c of candidates) {
    let st: Stats;
    try {
      st = statSync(c);
    } catch {
      continue;
    }
    if (st.isDirectory() && isLayoutDir(c) && existsSync(join(c, 'blobs', 'sha256', hex))) return c;
    if (st.isFile() && c.endsWith('.tar') && (await tarNames(c)).has(`blobs/sha256/${hex}`)) return c;
  }
  return null;
}

/** Extracts a layout tar's oci-layout, index.json and blobs (nothing else) into DIR. */
async function extractLayoutTar(file: string, dir: string): Promise<void> {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const name = posix.normalize(h.name).replace(/^\.?\//, '');
    const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
    if (h.type === 'file' && (blob || name === 'oci-layout' || name === 'index.json')) {
      pipeline(stream, createWriteStream(join(dir, name), { flags: 'wx' })).then(() => next(), next);
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  await pipeline(createReadStream(file), ex);
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}

/** A blob of the layout, verified against its digest before anyone reads it. */
async function verifiedBlob(layout: string, digest: string): Promise<string> {
  const m = DIGEST.exec(digest);
  if (!m) throw new UserError(`image: unsupported digest "${digest}" (only sha256)`);
  const path = join(layout, 'blobs', 'sha256', m[1]!);
  if (!existsSync(path)) throw new UserError(`image: blob ${digest} is missing from ${layout}`);
  const actual = await sha256File(path);
  if (actual !== m[1]) throw new UserError(`image: blob ${digest} does not match its digest (content is sha256:${actual}); refusing it`);
  return path;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The image manifest for DIGEST: itself, or this machine's platform when DIGEST names an index. */
async function imageManifest(layout: string, digest: string): Promise<{ layers: Descriptor[] }> {
  for (let depth = 0; depth < 4; depth++) {
    const doc = JSON.parse(readFileSync(await verifiedBlob(layout, digest), 'utf8')) as {
      mediaType?: string;
      manifests?: Descriptor[];
      layers?: Descriptor[];
    };
    if (doc.manifests && (INDEX_TYPES.has(doc.mediaType ?? '') || !doc.layers)) {
      const arch = GOARCH[process.arch] ?? process.arch;
      const pick =
        doc.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ??
        (doc.manifests.length === 1 ? doc.manifests[0] : undefined);
      if (!pick) throw new UserError(`image ${digest}: no manifest for linux/${arch}`);
      digest = pick.digest;
      continue;
    }
    if (!Array.isArray(doc.layers)) throw new UserError(`image ${digest}: not an image manifest (no layers)`);
    return { layers: doc.layers };
  }
  throw new UserError(`image ${digest}: indexes nested too deeply`);
}

/** Path components of a tar entry name, or an error when it would leave the root. */
function entryParts(name: string, layer: number): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UserError(`image layer ${layer}: entry "${name}" escapes the root ("..")`);
  return parts;
}

/**
 * ROOT/PARTS with every symlink on the way resolved INSIDE root (an absolute target starts again
 * at root, ".." stops at root), as a container runtime does. The last component is resolved too
 * unless `keepLast`: a tar entry replaces a link, it never writes through one.
 */
function resolveInside(root: string, parts: string[], keepLast: boolean): string {
  const done: string[] = [];
  const todo = [...parts];
  let links = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, c);
    let st: Stats | null = null;
    try {
      st = lstatSync(here);
    } catch {
      /* absent: created later */
    }
    if (st?.isSymbolicLink() && !(keepLast && todo.length === 0)) {
      if (++links > 40) throw new UserError(`image: too many symbolic links resolving "${parts.join('/')}"`);
      const target = readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/'));
      continue;
    }
    done.push(c);
  }
  return join(root, ...done);
}

/** Files: no setuid/setgid, no write for group or others. Directories also stay traversable by their owner. */
const fileMode = (mode: number) => mode & 0o755;
const dirMode = (mode: number) => (mode & 0o1755) | 0o700;

function removeAll(path: string) {
  rmSync(path, { recursive: true, force: true });
}

/** Applies one layer (a tar stream) onto ROOT. */
async function applyLayer(root: string, input: Readable, layer: number): Promise<{ skipped: number }> {
  const created = new Set<string>(); // paths this layer wrote: an opaque whiteout keeps them
  let skipped = 0;
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const drain = () => {
      stream.on('end', () => next());
      stream.resume();
    };
    try {
      const parts = entryParts(h.name, layer);
      if (parts.length === 0) {
        if (h.type === 'directory') chmodSync(root, 0o755);
        return drain();
      }
      const base = parts[parts.length - 1]!;
      const parent = resolveInside(root, parts.slice(0, -1), false);
      mkdirSync(parent, { recursive: true, mode: 0o755 });
      if (base === '.wh..wh..opq') {
        for (const child of readdirSync(parent)) if (!created.has(join(parent, child))) removeAll(join(parent, child));
        return drain();
      }
      if (base.startsWith('.wh.')) {
        removeAll(join(parent, base.slice(4)));
        return drain();
      }
      const path = join(parent, base);
      let existing: Stats | null = null;
      try {
        existing = lstatSync(path);
      } catch {
        /* new */
      }
      if (existing && !(h.type === 'directory' && existing.isDirectory())) removeAll(path);
      created.add(path);
      const mode = h.mode ?? 0o644;
      switch (h.type) {
        case 'directory':
          mkdirSync(path, { recursive: true, mode: 0o755 });
          chmodSync(path, dirMode(mode));
          return drain();
        case 'symlink':
          symlinkSync(h.linkname ?? '', path); // kept as written: it resolves inside the sandbox's root
          return drain();
        case 'link': {
          const target = resolveInside(root, entryParts(h.linkname ?? '', layer), true);
          if (!lstatSync(target).isFile())
            throw new UserError(`image layer ${layer}: hard link "${h.name}" to "${h.linkname}", which is not a regular file`);
          linkSync(target, path);
          return drain();
        }
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined:
          // 'wx': O_EXCL, so never through a link (the path was cleared above).
          pipeline(stream, createWriteStream(path, { flags: 'wx', mode: fileMode(mode) }))
            .then(() => chmodSync(path, fileMode(mode)))
            .then(() => next(), next);
          return;
        default:
          skipped++; // devices and FIFOs: the sandbox's /dev is its own
          return drain();
      }
    } catch (err) {
      stream.resume();
      next(err as Error);
    }
  });
  await pipeline(input, ex);
  return { skipped };
}

/** A layer blob's tar stream: gzip is detected from its magic bytes; zstd is refused. */
async function layerStream(path: string, d: Descriptor, layer: number): Promise<Readable> {
  if (d.mediaType?.includes('zstd'))
    throw new UserError(`image layer ${layer}: zstd layers are not supported (use gzip or uncompressed tar)`);
  const magic = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, magic, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  const gz = magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream(path);
  return gz ? raw.pipe(createGunzip()) : raw;
}

export interface UnpackedRoot {
  digest: string;
  path: string;
}

/**
 * The unpacked root of image REF (name@sha256:… or sha256:…), unpacking it on first use.
 * `extraLayouts`: layout directories or tars to look in besides STATE/images/oci/.
 */
export async function ensureImageRoot(stateDir: string, ref: string, extraLayouts: string[] = []): Promise<UnpackedRoot> {
  const hex = imageDigestHex(ref);
  const paths = imagePaths(stateDir);
  const final = join(paths.roots, hex);
  if (existsSync(final)) return { digest: `sha256:${hex}`, path: final };

  const source = await resolveImageRef(stateDir, ref, extraLayouts);
  if (!source) {
    throw new UserError(
      `image ${ref} is not in the local store (${paths.oci}): build it with \`nemoclaw image build\` or put its OCI layout there`,
    );
  }
  mkdirSync(paths.roots, { recursive: true, mode: 0o700 });
  mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
  const work = join(paths.tmp, `${hex}.${process.pid}.${Date.now()}`);
  const root = join(work, 'root');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  try {
    let layout = source;
    if (statSync(source).isFile()) {
      layout = join(work, 'layout');
      await extractLayoutTar(source, layout);
    }
    const { layers } = await imageManifest(layout, `sha256:${hex}`);
    for (const [i, d] of layers.entries()) {
      const blob = await verifiedBlob(layout, d.digest);
      await applyLayer(root, await layerStream(blob, d, i), i);
    }
    chmodSync(root, 0o755);
    try {
      renameSync(root, final);
    } catch (err) {
      // Another process unpacked the same digest first: same bytes, keep theirs.
      if (!existsSync(final)) throw err;
    }
  } finally {
    removeAll(work);
  }
  return { digest: `sha256:${hex}`, path: final };
}

/** Every unpacked root, by digest. */
export function listUnpackedRoots(stateDir: string): UnpackedRoot[] {
  const { roots } = imagePaths(stateDir);
  if (!existsSync(roots)) return [];
  return readdirSync(roots)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort()
    .map((n) => ({ digest: `sha256:${n}`, path: join(roots, n) }));
}

/** Removes the unpacked root of DIGEST (renamed away first, so no half-deleted root is ever used). */
export function removeUnpackedRoot(stateDir: string, digest: string): boolean {
  const hex = imageDigestHex(digest);
  const paths = imagePaths(stateDir);
  const path = join(paths.roots, hex);
  if (!existsSync(path)) return false;
  mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
  const trash = join(paths.tmp, `rm-${hex}.${process.pid}.${Date.now()}`);
  renameSync(path, trash);
  removeAll(trash);
  return true;
}

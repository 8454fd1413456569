// The layers of an image, in order: Debian packages, the Node runtime, the npm project, and the
// image's own files (users, config, directories, links). Each layer has a key: the sha256 of
// everything its bytes depend on, so the build cache can hand back a layer without rebuilding it.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { canonicalJson } from '../compiler/canonical.js';
import type { ImageDefinition } from '../generated/image.js';
import { debArchitecture, fetchDebs, fetchNodeRuntime, npmCi, unpackDeb } from './fetch.js';
import { treeEntries, type TarEntry } from './tar.js';
import type { LoadedImage } from './definition.js';

/** Bumped when the way a layer is made changes, so old cache entries are not reused. */
const LAYER_FORMAT = 1;

export interface LayerRecipe {
  /** Shown in progress and in the image's history. */
  name: string;
  /** sha256 hex of the layer's inputs. */
  key: string;
  /** The layer's entries; `work` is an empty scratch directory the recipe may fill. */
  entries(work: string): Iterable<TarEntry>;
}

const keyOf = (inputs: unknown): string =>
  createHash('sha256')
    .update(canonicalJson({ format: LAYER_FORMAT, ...(inputs as object) }))
    .digest('hex');
const fileDigest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

export interface FetchDirs {
  debs: string;
  node: string;
}

export function layerRecipes(img: LoadedImage, dirs: FetchDirs): LayerRecipe[] {
  const { def } = img;
  const out: LayerRecipe[] = [];
  if (def.debian) out.push(debianLayer(def.debian, dirs));
  if (def.node) out.push(nodeLayer(def.node, dirs));
  if (def.npm) out.push(npmLayer(img, dirs));
  out.push(filesLayer(img));
  return out;
}

function debianLayer(debian: NonNullable<ImageDefinition['debian']>, dirs: FetchDirs): LayerRecipe {
  const arch = debArchitecture();
  const packages = Object.fromEntries(Object.entries(debian.packages).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    name: `debian ${Object.keys(packages).join(' ')}`,
    key: keyOf({ kind: 'debian', arch, packages }),
    *entries(work) {
      for (const deb of fetchDebs(dirs.debs, Object.entries(packages), arch)) unpackDeb(deb, work);
      // ca-certificates ships the certificates; its maintainer script (not run here) would
      // concatenate them into the bundle every TLS client reads.
      const mozilla = join(work, 'usr/share/ca-certificates/mozilla');
      if (existsSync(mozilla)) {
        const certs = readdirSync(mozilla)
          .filter((f) => f.endsWith('.crt'))
          .sort();
        mkdirSync(join(work, 'etc/ssl/certs'), { recursive: true });
        writeFileSync(join(work, 'etc/ssl/certs/ca-certificates.crt'), certs.map((c) => readFileSync(join(mozilla, c), 'utf8')).join(''));
      }
      yield* treeEntries(work);
    },
  };
}

function nodeLayer(node: NonNullable<ImageDefinition['node']>, dirs: FetchDirs): LayerRecipe {
  const prefix = node.prefix ?? '/usr/local';
  return {
    name: `${node.package}@${node.version}`,
    key: keyOf({ kind: 'node', package: node.package, version: node.version, prefix }),
    *entries(work) {
      const bin = fetchNodeRuntime(dirs.node, node.package, node.version);
      const dest = join(work, prefix, 'bin');
      mkdirSync(dest, { recursive: true });
      copyFileSync(bin, join(dest, 'node'));
      yield* treeEntries(work);
    },
  };
}

function npmLayer(img: LoadedImage, dirs: FetchDirs): LayerRecipe {
  const npm = img.def.npm!;
  const node = img.def.node!;
  const project = join(img.dir, npm.project);
  const binDir = posix.join(node.prefix ?? '/usr/local', 'bin');
  return {
    name: `npm ${npm.project} → ${npm.prefix}`,
    key: keyOf({
      kind: 'npm',
      node: `${node.package}@${node.version}`,
      prefix: npm.prefix,
      bin: npm.bin ?? {},
      scripts: npm.scripts ?? [],
      binDir,
      packageJson: fileDigest(join(project, 'package.json')),
      lock: fileDigest(join(project, 'package-lock.json')),
    }),
    *entries(work) {
      const dest = join(work, npm.prefix);
      mkdirSync(dest, { recursive: true });
      for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(project, f), join(dest, f));
      npmCi(fetchNodeRuntime(dirs.node, node.package, node.version), dest, npm.scripts ?? []);
      const links = join(work, binDir);
      mkdirSync(links, { recursive: true });
      for (const [cmd, rel] of Object.entries(npm.bin ?? {})) {
        if (!existsSync(join(dest, rel))) throw new Error(`npm.bin.${cmd}: ${rel} is not in ${npm.prefix} after npm ci`);
      }
      // Links are entries of their own below: the scratch tree is walked without them.
      const entries = [...treeEntries(work)];
      const linkEntries: TarEntry[] = Object.entries(npm.bin ?? {}).map(([cmd, rel]) => ({
        type: 'symlink',
        path: posix.join(binDir, cmd).slice(1),
        target: posix.join(npm.prefix, rel),
        uid: 0,
        gid: 0,
      }));
      yield* mergeSorted(entries, linkEntries);
    },
  };
}

/** Entries of a tree plus extra ones, in one deterministic order (by path). */
function mergeSorted(a: TarEntry[], b: TarEntry[]): TarEntry[] {
  return [...a, ...b].sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)));
}

function filesLayer(img: LoadedImage): LayerRecipe {
  const { def } = img;
  const user = def.user;
  const passwd =
    'root:x:0:0:root:/root:/bin/sh\n' +
    (user ? `${user.name}:x:${user.uid}:${user.uid}:${user.name}:${user.home}:${user.shell ?? '/bin/sh'}\n` : '');
  const group = 'root:x:0:\n' + (user ? `${user.name}:x:${user.uid}:\n` : '');
  const entries = new Map<string, TarEntry>();
  const uidOf = (owner: string | undefined) => (owner === 'user' && user ? user.uid : 0);
  const add = (e: TarEntry) => {
    for (let p = posix.dirname(e.path); p !== '.' && p !== '/' && !entries.has(p); p = posix.dirname(p)) {
      entries.set(p, { type: 'dir', path: p, mode: 0o755, uid: 0, gid: 0 });
    }
    entries.set(e.path, e);
  };
  const rel = (abs: string) => abs.replace(/^\/+/, '').replace(/\/+$/, '');
  const file = (path: string, data: Buffer, mode: number) =>
    add({ type: 'file', path: rel(path), mode, uid: 0, gid: 0, size: data.length, source: data });
  file('/etc/passwd', Buffer.from(passwd), 0o644);
  file('/etc/group', Buffer.from(group), 0o644);
  if (user) add({ type: 'dir', path: rel(user.home), mode: 0o755, uid: user.uid, gid: user.uid });
  for (const d of def.directories ?? []) {
    const uid = uidOf(d.owner);
    add({ type: 'dir', path: rel(d.path), mode: parseInt(d.mode ?? '0755', 8), uid, gid: uid });
  }
  const contents: Record<string, string> = {};
  for (const f of def.files ?? []) {
    const data = readFileSync(join(img.dir, f.source));
    contents[f.path] = createHash('sha256').update(data).digest('hex');
    file(f.path, data, parseInt(f.mode ?? '0644', 8));
  }
  for (const [path, target] of Object.entries(def.links ?? {})) add({ type: 'symlink', path: rel(path), target, uid: 0, gid: 0 });
  const sorted = [...entries.values()].sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)));
  return {
    name: 'files',
    key: keyOf({
      kind: 'files',
      user: user ?? null,
      directories: def.directories ?? [],
      files: def.files ?? [],
      contents,
      links: def.links ?? {},
    }),
    entries: () => sorted,
  };
}

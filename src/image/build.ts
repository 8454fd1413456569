// `nemoclaw image build`: definition → layers (each from the build cache when its inputs are
// unchanged) → config → manifest, recorded in the image store. Same definition and inputs, same
// digest: nothing in the bytes comes from the clock or the host.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadImageDefinition } from './definition.js';
import { layerRecipes, type LayerRecipe } from './layers.js';
import { hostArch, imageConfig, imageManifest } from './oci.js';
import { ImageStore } from './store.js';
import { writeTar, type WrittenBlob } from './tar.js';

/** NEMOCLAW_CACHE_DIR, else <state>/cache: downloads and finished layers, keyed by their inputs. */
export function cacheDirFor(stateDir: string): string {
  return process.env.NEMOCLAW_CACHE_DIR ? resolve(process.env.NEMOCLAW_CACHE_DIR) : join(stateDir, 'cache');
}

export interface BuiltLayer {
  name: string;
  digest: string;
  size: number;
  cached: boolean;
}

export interface BuildResult {
  ref: string;
  digest: string;
  config: string;
  size: number;
  layers: BuiltLayer[];
}

export interface BuildOptions {
  stateDir: string;
  tag?: string;
  progress?: (line: string) => void;
}

function cachedLayer(layersDir: string, recipe: LayerRecipe): (WrittenBlob & { file: string }) | undefined {
  const meta = join(layersDir, `${recipe.key}.json`);
  const file = join(layersDir, `${recipe.key}.tar`);
  if (!existsSync(meta) || !existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as WrittenBlob;
    return { ...m, file };
  } catch {
    return undefined; // unreadable record: rebuild the layer
  }
}

function makeLayer(cacheDir: string, recipe: LayerRecipe): WrittenBlob & { file: string } {
  const layersDir = join(cacheDir, 'images', 'layers');
  const work = join(cacheDir, 'images', 'work', `${recipe.key}.${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(layersDir, { recursive: true });
  const file = join(layersDir, `${recipe.key}.tar`);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const blob = writeTar(tmp, recipe.entries(work));
    renameSync(tmp, file);
    writeFileAtomic(join(layersDir, `${recipe.key}.json`), JSON.stringify(blob) + '\n');
    return { ...blob, file };
  } finally {
    rmSync(tmp, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

export function buildImage(dir: string, opts: BuildOptions): BuildResult {
  const img = loadImageDefinition(dir);
  const ref = opts.tag ?? `${img.def.name}:${img.def.tag}`;
  const cacheDir = cacheDirFor(opts.stateDir);
  const fetchDirs = { debs: join(cacheDir, 'images', 'debs'), node: join(cacheDir, 'images', 'node') };
  const store = ImageStore.open(opts.stateDir);
  const layers: (BuiltLayer & { blob: WrittenBlob })[] = [];
  for (const recipe of layerRecipes(img, fetchDirs)) {
    const hit = cachedLayer(join(cacheDir, 'images', 'layers'), recipe);
    opts.progress?.(`${hit ? 'cached' : 'building'} layer: ${recipe.name}`);
    const blob = hit ?? makeLayer(cacheDir, recipe);
    store.importBlob(blob.digest, blob.file, true);
    layers.push({ name: recipe.name, digest: blob.digest, size: blob.size, cached: !!hit, blob });
  }
  const config = imageConfig(img.def, layers, hostArch());
  const manifest = imageManifest(
    config,
    layers.map((l) => l.blob),
  );
  store.putBlob(config.digest, config.bytes);
  store.putBlob(manifest.digest, manifest.bytes);
  store.add(ref, { digest: manifest.digest, size: manifest.bytes.length }, config.digest);
  return {
    ref,
    digest: manifest.digest,
    config: config.digest,
    size: manifest.bytes.length + config.bytes.length + layers.reduce((n, l) => n + l.size, 0),
    layers: layers.map(({ blob: _b, ...l }) => l),
  };
}

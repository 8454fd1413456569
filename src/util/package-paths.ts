// Where the package's own files are (blueprints, schemas, the built init), wherever it is installed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest directory above this module with nemoclaw's package.json. Found
 * by walking up because this code runs both from tsc's output (dist/src/util/) and from the
 * start-up bundle (dist/bundle/), at different depths.
 */
const pkg = findPackage(dirname(fileURLToPath(import.meta.url)));
export const packageRoot = pkg.root;
export const packageVersion = pkg.version;
function findPackage(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (json.name === 'nemoclaw') return { root: dir, version: json.version };
    } catch {
      /* no package.json here */
    }
    if (dirname(dir) === dir) throw new Error(`nemoclaw: cannot find the package root above ${from}`);
  }
}
export const blueprintsDir = join(packageRoot, 'blueprints');
export const examplesDir = join(packageRoot, 'examples');
export const schemaPath = join(packageRoot, 'schemas', 'nemoclaw.schema.json');
export const initBinary = join(packageRoot, 'dist', 'init', 'nemoclaw-init');
export const pumpBinary = join(packageRoot, 'dist', 'pump', 'nemoclaw-pump');
/** Image definitions the package ships (`nemoclaw image build <dir>`): images/openclaw is the OpenClaw image. */
export const imagesDir = join(packageRoot, 'images');

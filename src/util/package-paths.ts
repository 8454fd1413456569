// Where the package's own files are (blueprints, schemas, the built init), wherever it is installed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/util/package-paths.js → package root. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const blueprintsDir = join(packageRoot, 'blueprints');
export const examplesDir = join(packageRoot, 'examples');
export const schemaPath = join(packageRoot, 'schemas', 'nemoclaw.schema.json');
export const initBinary = join(packageRoot, 'dist', 'init', 'nemoclaw-init');
export const pumpBinary = join(packageRoot, 'dist', 'pump', 'nemoclaw-pump');
export const packageVersion = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

// The start-up bundle: tsc's output for the CLI (dist/src/cli/main.js and the command modules it
// imports lazily) bundled by esbuild into dist/bundle/, one chunk per command plus shared chunks,
// with the pure-JS dependencies inside. Measured (bench/startup): most of a short command's time
// above Node's own start-up was resolving and loading ~100 ES modules one by one.
// Native or optional-native dependencies stay external and load from node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist/src/cli/main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['koffi', 'dockerode'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __nemoclawRequire } from 'node:module'; const require = __nemoclawRequire(import.meta.url);" },
  logLevel: 'warning',
});

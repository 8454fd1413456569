// The start-up bundles that bin/nemoclaw.js runs: one self-contained CommonJS file per command
// (dist/bundle/<command>.cjs), plus `all.cjs` (every command: --help, unknown words) and
// `version.cjs`, built by esbuild from tsc's output with the pure-JS dependencies inside.
// Measured (issue 15, interleaved against `node -e 0`, lint of the quickstart): ~17 ES-module
// chunks 1.83×; one ES module per command 1.69×; one CommonJS file per command 1.59×; the same
// with V8's code cache (bin/nemoclaw.js) 1.47×. Most of what remained above Node's own start was
// resolving, reading and compiling modules one by one, which a single CommonJS file avoids, and
// the code cache skips compiling it again. CommonJS because Node 20 can cache compiled code only
// for scripts (vm.Script cachedData), not for ES modules.
// Native or optional-native dependencies stay external and load from node_modules.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const entries = join(root, 'dist', 'entries');
rmSync(outdir, { recursive: true, force: true });
rmSync(entries, { recursive: true, force: true });
mkdirSync(entries, { recursive: true });

// One entry per command: the shared runner with a table of that command alone, so esbuild pulls in
// its code and nothing else. The table's keys are the command words; each loads commands/<word>.js.
const { COMMANDS } = await import(pathToFileURL(join(root, 'dist/src/cli/command-table.js')).href);
const entryPoints = { all: join(root, 'dist/src/cli/main.js'), version: join(entries, 'version.js') };
writeFileSync(entryPoints.version, `import { runCli } from '../src/cli/cli-runner.js';\nvoid runCli({});\n`);
for (const [word, load] of Object.entries(COMMANDS)) {
  if (!/^[a-z]+$/.test(word) || !String(load).includes(`./commands/${word}.js`))
    throw new Error(`scripts/bundle.mjs: command "${word}" does not load ./commands/${word}.js`);
  entryPoints[word] = join(entries, `${word}.js`);
  writeFileSync(
    entryPoints[word],
    `import { runCli } from '../src/cli/cli-runner.js';\nvoid runCli({ ${word}: () => import('../src/cli/commands/${word}.js') });\n`,
  );
}

// import() of a module left outside the bundle (dockerode, node:*) would stay a real dynamic import,
// which functions restored from V8's code cache cannot run ("A dynamic import callback was not
// specified"): turn it into a require() wrapped as a module, as esbuild does for bundled code.
const dynamicToRequire = {
  name: 'dynamic-import-to-require',
  setup(b) {
    b.onResolve({ filter: /^(node:|dockerode$|koffi$|tar-stream$|semver$|simple-git$)/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'required' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'required' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// Left out of the bundles and required from node_modules when used: native packages, and pure-JS
// ones that no command's usual path runs (the image tar reader; semver for `requires.node`).
// The commands that start sandboxes or check a file leave simple-git out too (~70 KB to read and
// restore at every start): they read HEAD from .git themselves and run git only in rare layouts.
const EXTERNAL = ['koffi', 'dockerode', 'tar-stream', 'semver'];
const WITHOUT_GIT = new Set([
  'version',
  'validate',
  'lint',
  'compile',
  'explain',
  'run',
  'plan',
  'status',
  'apply',
  'destroy',
  'logs',
  'connect',
]);
// The compile pipeline (YAML, schemas, lint, compiler, catalog: two thirds of a bundle that has it)
// is a bundle of its own, dist/bundle/lib/pipeline.cjs, for the commands that load it only by
// import() when they compile (plan, whose compile is usually remembered, apply, destroy, ...):
// their start does not read and set up code it may not run. Commands that import it statically
// (compile, validate, lint, ...) keep it inside. bin/nemoclaw.js loads libs through the code cache.
const LIBS = { pipeline: join(root, 'dist/src/pipeline/pipeline.js') };
const libOf = (path) => Object.keys(LIBS).find((k) => LIBS[k] === path);
const splitLibs = {
  name: 'split-libs',
  setup(b) {
    b.onResolve({ filter: /[\\/]pipeline\.js$/ }, (args) => {
      const lib = args.kind === 'dynamic-import' ? libOf(resolve(args.resolveDir, args.path)) : undefined;
      return lib ? { path: lib, namespace: 'nemoclaw-lib' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'nemoclaw-lib' }, (args) => ({
      contents:
        `module.exports = globalThis.__nemoclawRequireLib ? globalThis.__nemoclawRequireLib(${JSON.stringify(args.path)})` +
        ` : require(require('node:path').join(__dirname, 'lib', ${JSON.stringify(`${args.path}.cjs`)}));`,
      loader: 'js',
    }));
  },
};

const common = {
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // No comments (some hold non-ASCII) and less to read at every start; names stay for stack traces.
  minifyWhitespace: true,
  // Sources find the package (and createRequire) from import.meta.url: give each bundle its own.
  define: { 'import.meta.url': '__nemoclawModuleUrl' },
  banner: { js: "const __nemoclawModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};

// Which bundles reach a lib only through import(): a first pass, not written, says.
const probe = await build({
  ...common,
  entryPoints,
  plugins: [dynamicToRequire],
  outdir,
  external: EXTERNAL,
  write: false,
  metafile: true,
});
const split = new Set();
for (const [out, o] of Object.entries(probe.metafile.outputs)) {
  const files = Object.keys(o.inputs).map((f) => resolve(f));
  if (!files.some((f) => libOf(f))) continue;
  const statically = Object.keys(o.inputs).some((f) =>
    probe.metafile.inputs[f]?.imports.some((i) => i.kind !== 'dynamic-import' && libOf(resolve(i.path))),
  );
  if (!statically) split.add(basename(out, '.cjs'));
}
const pick = (names) => Object.fromEntries(Object.entries(entryPoints).filter(([n]) => names(n)));
for (const withoutGit of [true, false]) {
  const external = withoutGit ? [...EXTERNAL, 'simple-git'] : EXTERNAL;
  const mine = (n) => WITHOUT_GIT.has(n) === withoutGit;
  const whole = pick((n) => mine(n) && !split.has(n));
  const parted = pick((n) => mine(n) && split.has(n));
  if (Object.keys(whole).length) await build({ ...common, entryPoints: whole, plugins: [dynamicToRequire], outdir, external });
  if (Object.keys(parted).length) await build({ ...common, entryPoints: parted, plugins: [splitLibs, dynamicToRequire], outdir, external });
}
// The libs serve commands of WITHOUT_GIT, which read HEAD from .git themselves.
await build({
  ...common,
  entryPoints: LIBS,
  plugins: [dynamicToRequire],
  outdir: join(outdir, 'lib'),
  external: [...EXTERNAL, 'simple-git'],
});
rmSync(entries, { recursive: true, force: true });

// Checked, not assumed: a dynamic import left in a bundle fails only when that path runs.
for (const name of [...Object.keys(entryPoints), ...Object.keys(LIBS).map((l) => `lib/${l}`)]) {
  const code = readFileSync(join(outdir, `${name}.cjs`), 'utf8');
  // bin/nemoclaw.js reads bundles as latin1, which is exact only for ASCII (esbuild's default charset).
  const wide = code.search(/[^\x00-\x7f]/);
  if (wide >= 0)
    throw new Error(`scripts/bundle.mjs: dist/bundle/${name}.cjs is not ASCII at ${wide}: ${code.slice(wide - 30, wide + 10)}`);
  const at = code.search(/\bimport\(\s*["'`]/);
  if (at >= 0) throw new Error(`scripts/bundle.mjs: dist/bundle/${name}.cjs still has a dynamic import: ${code.slice(at, at + 60)}`);
}

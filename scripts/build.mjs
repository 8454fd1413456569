// Build: generate TypeScript types from the JSON Schema, compile TypeScript, build the C init.
// One script so that `npm test` on a fresh clone needs nothing else.
import { compile } from 'json-schema-to-typescript';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/nemoclaw.schema.json'), 'utf8'));
const ts = await compile(schema, 'NemoclawConfig', {
  bannerComment: '/* Generated from schemas/nemoclaw.schema.json by scripts/build.mjs. Do not edit. */',
  additionalProperties: false,
  unreachableDefinitions: true,
  style: { singleQuote: true },
});
mkdirSync(join(root, 'src/generated'), { recursive: true });
const out = join(root, 'src/generated/config.ts');
if (!existsSync(out) || readFileSync(out, 'utf8') !== ts) writeFileSync(out, ts);

// tsc emits even with type errors; build the init either way, then fail if tsc did.
let tscFailed = false;
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
} catch {
  tscFailed = true;
}

if (existsSync(join(root, 'src/init/Makefile'))) {
  execFileSync('make', ['-s', '-C', join(root, 'src/init'), `OUT=${join(root, 'dist/init')}`], { stdio: 'inherit' });
}

if (tscFailed) {
  console.error('build: TypeScript reported errors');
  process.exit(1);
}

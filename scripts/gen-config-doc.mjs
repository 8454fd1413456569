// Generates docs/config-reference.md from schemas/nemoclaw.schema.json (the single source of truth).
// Usage: node scripts/gen-config-doc.mjs [--check]   (--check exits 1 when the doc is out of date)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './doc-output.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/nemoclaw.schema.json'), 'utf8'));
const defs = schema.$defs;

const rows = [];
function typeOf(s) {
  if (s.$ref) return typeOf(defs[s.$ref.split('/').pop()]);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${typeOf(s.items)}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map';
  return s.type ?? 'value';
}
function walk(s, path) {
  if (s.$ref) s = { ...defs[s.$ref.split('/').pop()], description: s.description ?? defs[s.$ref.split('/').pop()].description };
  if (path) {
    const def = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : '';
    rows.push(`| \`${path}\` | ${typeOf(s)} | ${def} | ${(s.description ?? '').replace(/\|/g, '\\|')} |`);
  }
  if (s.properties) for (const [k, v] of Object.entries(s.properties)) walk(v, path ? `${path}.${k}` : k);
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object')
    walk(s.additionalProperties, `${path}.<name>`);
  if (s.type === 'array' && s.items && (s.items.$ref || s.items.properties)) walk(s.items, `${path}[]`);
}
walk(schema, '');
const doc = `# nemoclaw.yaml reference

<!-- Generated from schemas/nemoclaw.schema.json by scripts/gen-config-doc.mjs. Do not edit by hand. -->

Only \`version\` and \`sandboxes\` are required. A sandbox with \`blueprint\` extends it: maps merge key by
key, scalars and \`command\` override, and lists of paths, presets, egress rules and syscalls are unions.
Editors that speak the YAML language server show these descriptions when the file starts with
\`# yaml-language-server: $schema=./schemas/nemoclaw.schema.json\`.

| Field | Type | Default | Description |
| --- | --- | --- | --- |
${rows.join('\n')}
`;
const out = join(root, 'docs/config-reference.md');
writeOrCheck(root, out, doc, fileURLToPath(import.meta.url));

// Generates docs/artifacts.md from the artifact schemas (schemas/<artifact>.schema.json, the single
// source of truth for the compiled files). The field tables come from the schemas; the prose that
// cannot be derived from them (how the host uses each file) is written here.
// Usage: node scripts/gen-artifacts-doc.mjs [--check]   (--check exits 1 when the doc is out of date)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './doc-output.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const INTRO = `# Compiled artifacts (format_version 1)

<!-- Generated from schemas/{sandbox,landlock,seccomp,egress,manifest,index}.schema.json by scripts/gen-artifacts-doc.mjs. Do not edit by hand. -->

\`nemoclaw compile\` writes, per sandbox, \`OUT/<sandbox>/{seccomp.json,landlock.json,egress.json,sandbox.json,manifest.json}\`
and \`OUT/index.json\`. These files are the contract between the compiler and everything on the host
(runtime init, Docker driver, gateway, reconciler). All are canonical JSON: keys sorted, no
insignificant whitespace, UTF-8, followed by one \`\\n\`. Arrays are in a stable, documented order.

Each file has a JSON Schema under \`schemas/\`; the TypeScript types (\`src/generated/*-artifact.ts\`,
re-exported by \`src/compiler/artifacts.ts\`) and validators are generated from them by
\`scripts/build.mjs\`. The compiler's output is checked against the schemas in the tests, and the
gateway refuses an egress policy that does not match its schema. Every field is required and no
other field is allowed (except \`errnoRet\`, \`args\` and \`valueTwo\` in seccomp.json); a value
that may be missing is \`null\`. Real examples: \`test/golden/<example>/<sandbox>/\`.
`;

/** Per artifact: its schema, and what the host does with it (not derivable from the schema). */
const SECTIONS = [
  {
    file: 'sandbox.json',
    schema: 'sandbox',
    notes: `The runtime sets \`HTTP_PROXY\`, \`HTTPS_PROXY\`, \`ALL_PROXY\` to \`http://127.0.0.1:<proxy_port>\` and
\`NO_PROXY=localhost,127.0.0.1\` (and lower-case forms) when \`network.mode\` is \`gateway\`.`,
  },
  {
    file: 'landlock.json',
    schema: 'landlock',
    notes: `Rights by name follow the kernel's \`LANDLOCK_ACCESS_FS_*\`/\`LANDLOCK_ACCESS_NET_*\`/\`LANDLOCK_SCOPE_*\`
names, lower-cased without prefix. ABI per right: execute..make_sym 1, refer 2, truncate 3,
bind_tcp/connect_tcp 4, ioctl_dev 5, scopes 6. The init applies the kernel's best ABI, drops rights
that ABI lacks, and refuses to start if the ABI is below \`abi_floor\`.`,
  },
  {
    file: 'seccomp.json',
    schema: 'seccomp',
    notes: `On the embedded runtime the host hands the BPF it made to the init over a file descriptor.
[seccomp.md](seccomp.md) describes the bases and what they allow.`,
  },
  {
    file: 'egress.json',
    schema: 'egress',
    notes: `\`wildcard: true\` with host \`slack.com\` means \`*.slack.com\`: one or more labels in front of
\`slack.com\`, never \`slack.com\` itself. Path globs: \`*\` within one segment, \`**\` across segments.
The policy version the gateway acknowledges is \`sha256:\` + hex sha256 of the file's bytes (the
same as its digest in manifest.json). \`credential\` is a reference; the gateway resolves it at run
time and it never reaches the sandbox. The gateway refuses a policy with a field it does not know.`,
  },
  {
    file: 'manifest.json',
    schema: 'manifest',
    notes: `\`digest\` (the blueprint digest) is the sha256 of the canonical manifest **without** \`source\` and
\`digest\`: provenance is recorded but a commit that changes nothing about a sandbox does not change
its digest.`,
  },
  { file: 'index.json', schema: 'index', notes: '' },
];

function render({ file, schema: name, notes }) {
  const schema = JSON.parse(readFileSync(join(root, `schemas/${name}.schema.json`), 'utf8'));
  const defs = schema.$defs ?? {};
  const deref = (s) =>
    s.$ref ? { ...defs[s.$ref.split('/').pop()], description: s.description ?? defs[s.$ref.split('/').pop()].description } : s;
  const code = (v) => `\`${JSON.stringify(v)}\``;

  function typeOf(raw) {
    const s = deref(raw);
    if (s.const !== undefined) return code(s.const);
    if (s.enum) return s.enum.map(code).join(' \\| ');
    if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
    const types = [s.type ?? 'value'].flat();
    return types
      .map((t) => {
        if (t === 'null') return '`null`';
        if (t === 'array')
          return `list of ${typeOf(s.items)}${s.uniqueItems ? ' (unique)' : ''}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
        if (t === 'object' && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`;
        let out = t;
        if (s.minimum !== undefined && s.maximum !== undefined) out += ` ${s.minimum}–${s.maximum}`;
        else if (s.minimum !== undefined) out += ` ≥ ${s.minimum}`;
        if (s.pattern) out += ` matching \`${s.pattern}\``;
        return out;
      })
      .join(' \\| ');
  }

  const rows = [];
  function walk(raw, path) {
    const s = deref(raw);
    if (path) rows.push(`| \`${path}\` | ${typeOf(raw)} | ${(s.description ?? '').replace(/\|/g, '\\|')} |`);
    if (s.properties) for (const [k, v] of Object.entries(s.properties)) walk(v, path ? `${path}.${k}` : k);
    if (
      s.type === 'object' &&
      typeof s.additionalProperties === 'object' &&
      (s.additionalProperties.properties || s.additionalProperties.$ref)
    )
      walk(s.additionalProperties, `${path}.<name>`);
    if (s.type === 'array' && s.items && deref(s.items).properties) walk(s.items, `${path}[]`);
    // A nullable object (anyOf [object, null]): its fields are documented under the same path.
    for (const branch of s.anyOf ?? [])
      if (deref(branch).properties) for (const [k, v] of Object.entries(deref(branch).properties)) walk(v, `${path}.${k}`);
  }
  walk(schema, '');
  return `## ${file}

${schema.description}

Schema: [\`schemas/${name}.schema.json\`](../schemas/${name}.schema.json).${notes ? `\n\n${notes}` : ''}

| Field | Type | Description |
| --- | --- | --- |
${rows.join('\n')}
`;
}

const doc = [INTRO, ...SECTIONS.map(render)].join('\n');
const out = join(root, 'docs/artifacts.md');
writeOrCheck(root, out, doc, fileURLToPath(import.meta.url));

// JSON-Schema validation of a loaded document, with every error located in the source.
// The validators are generated from schemas/nemoclaw.schema.json at build time (ajv standalone,
// scripts/build.mjs): compiling the schema on every CLI call cost more than the rest of a validate.
import type { ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { schemaPath } from '../util/package-paths.js';
import type { NemoclawConfig, SandboxSpec } from '../generated/config.js';
import { validateConfig, validateEndpoint, validateSandbox, type StandaloneValidator } from '../generated/validators.js';
import { validateSandbox as fillSandboxDefaults } from '../generated/validators-defaults.js';
import { type Diagnostic } from './diagnostics.js';
import type { LoadedDocument } from './load.js';

// The schema itself, for the hints (allowed fields, anyOf branches) that errors point into.
let schemaCache: unknown;
const schema = (): unknown => (schemaCache ??= JSON.parse(readFileSync(schemaPath, 'utf8')));

export interface SchemaCheck {
  /** Schema errors as diagnostics (empty when valid). */
  diagnostics: Diagnostic[];
  /**
   * JSON pointers of the values that failed the schema. A missing or unknown field leaves the
   * rest of its object well-formed, so it is not listed: the semantic checks still run there.
   */
  malformed: string[];
}

/** Keywords about a key that is missing, extra or misnamed rather than a value that is wrong. */
const ABOUT_KEYS = new Set(['required', 'additionalProperties', 'propertyNames']);

export function checkSchema(doc: LoadedDocument): SchemaCheck {
  if (validateConfig(doc.value)) return { diagnostics: [], malformed: [] };
  const errors = collapse(validateConfig.errors ?? []);
  return {
    diagnostics: errors.map((e) => toDiagnostic(doc, e)),
    malformed: [...new Set(errors.filter((e) => !ABOUT_KEYS.has(e.keyword)).map((e) => e.instancePath))].sort(),
  };
}

/** Schema errors of a document as diagnostics (empty when valid). */
export function schemaDiagnostics(doc: LoadedDocument): Diagnostic[] {
  return checkSchema(doc).diagnostics;
}

export function isValidConfig(value: unknown): value is NemoclawConfig {
  return validateConfig(value);
}

/** Errors of a value against one definition of the schema (e.g. `Sandbox`, `Endpoint`), as text. */
export function definitionErrors(def: 'Sandbox' | 'Endpoint', value: unknown): string[] {
  const v: StandaloneValidator = def === 'Sandbox' ? validateSandbox : validateEndpoint;
  return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
}

/**
 * Fill a (merged) sandbox entry with the schema's defaults. Defaults live only in the schema;
 * they are applied after merging with a blueprint so a default never overrides the blueprint.
 */
export function withSandboxDefaults(spec: SandboxSpec): SandboxSpec {
  const copy = structuredClone(spec);
  // Nested objects only get their defaults when present: make every section present first.
  for (const key of ['filesystem', 'process', 'network'] as const) copy[key] ??= {};
  copy.process!.seccomp ??= {};
  copy.process!.limits ??= {};
  if (!fillSandboxDefaults(copy)) {
    const msg = (fillSandboxDefaults.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');
    throw new Error(`merged sandbox does not match the schema: ${msg}`);
  }
  return copy;
}

type SchemaNode = {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
};

/**
 * The schema node that describes the value at an instance path. Errors inside a `$ref` carry a
 * schemaPath relative to the referenced definition, so the walk follows the instance instead.
 */
function schemaFor(instancePath: string): SchemaNode | undefined {
  const root = schema() as SchemaNode & { $defs: Record<string, SchemaNode> };
  const deref = (n: SchemaNode | undefined) => (n?.$ref ? root.$defs[n.$ref.split('/').pop()!] : n);
  let node: SchemaNode | undefined = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = deref(node);
    if (!node) return undefined;
    node = node.properties?.[seg] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined) ?? node.items;
  }
  return deref(node);
}

/** anyOf/oneOf branches produce one error each; keep one readable error per location. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && anyOfPaths.has(e.instancePath)) continue;
    if (e.keyword === 'if') continue;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

function toDiagnostic(doc: LoadedDocument, e: ErrorObject): Diagnostic {
  let pointer = e.instancePath;
  let preferKey = false;
  let message: string;
  let hint: string | undefined;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      pointer = `${pointer}/${String(p.additionalProperty).replace(/~/g, '~0').replace(/\//g, '~1')}`;
      preferKey = true;
      message = `unknown field "${String(p.additionalProperty)}"`;
      hint = `allowed here: ${allowedKeys(e).join(', ')}`;
      break;
    case 'required':
      message = `missing required field "${String(p.missingProperty)}"`;
      break;
    case 'propertyNames':
      pointer = `${pointer}/${String(p.propertyName)}`;
      preferKey = true;
      message = `invalid name "${String(p.propertyName)}": use lower-case letters, digits and dashes, starting with a letter`;
      break;
    case 'enum':
      message = `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(p.allowedValue)}`;
      break;
    case 'anyOf':
    case 'oneOf':
      message = `has the wrong type or value: ${describeAnyOf(e)}`;
      break;
    case 'type':
      message = `must be ${String(p.type)}`;
      break;
    default:
      message = e.message ?? 'is invalid';
  }
  const pos = doc.positionOf(pointer, preferKey);
  return {
    rule: 'schema',
    severity: 'error',
    file: doc.file,
    line: pos.line,
    column: pos.column,
    pointer,
    message,
    ...(hint ? { hint } : {}),
  };
}

function allowedKeys(e: ErrorObject): string[] {
  const node = schemaFor(e.instancePath);
  return node?.properties ? Object.keys(node.properties) : [];
}

function describeAnyOf(e: ErrorObject): string {
  const branches = (schemaFor(e.instancePath)?.anyOf ?? []).map((b) => {
    const s = b as { type?: string; enum?: unknown[]; pattern?: string; minimum?: number };
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' or ');
    if (s.pattern) return `${s.type} matching ${s.pattern}`;
    if (s.minimum !== undefined) return `${s.type} ≥ ${s.minimum}`;
    return s.type ?? 'value';
  });
  return `expected ${branches.join(', or ')}`;
}

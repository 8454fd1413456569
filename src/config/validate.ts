// JSON-Schema validation of a loaded document, with every error located in the source.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { schemaPath } from '../paths.js';
import type { NemoclawConfig, SandboxSpec } from '../generated/config.js';
import { type Diagnostic } from './diagnostics.js';
import type { LoadedDocument } from './load.js';

// Read at run time from schemas/ (the single source of truth), not bundled into dist.
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { $id: string };

let cached: { strictAjv: InstanceType<typeof Ajv2020>; config: ValidateFunction; sandboxDefaults: ValidateFunction } | undefined;
function validators() {
  if (!cached) {
    const strictAjv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    const defaultsAjv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, useDefaults: true });
    defaultsAjv.addSchema(schema);
    cached = {
      strictAjv,
      config: strictAjv.compile(schema),
      sandboxDefaults: defaultsAjv.getSchema(`${schema.$id}#/$defs/Sandbox`)!,
    };
  }
  return cached;
}

/** Schema errors of a document as diagnostics (empty when valid). */
export function schemaDiagnostics(doc: LoadedDocument): Diagnostic[] {
  const validate = validators().config;
  if (validate(doc.value)) return [];
  return collapse(validate.errors ?? []).map((e) => toDiagnostic(doc, e));
}

export function isValidConfig(value: unknown): value is NemoclawConfig {
  return validators().config(value) as boolean;
}

/** Errors of a value against one definition of the schema (e.g. `Sandbox`, `Endpoint`), as text. */
export function definitionErrors(def: 'Sandbox' | 'Endpoint', value: unknown): string[] {
  const v = validators().strictAjv.getSchema(`${schema.$id}#/$defs/${def}`)!;
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
  if (!validators().sandboxDefaults(copy)) {
    const msg = (validators().sandboxDefaults.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');
    throw new Error(`merged sandbox does not match the schema: ${msg}`);
  }
  return copy;
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
    rule: 'schema', severity: 'error', file: doc.file, line: pos.line, column: pos.column, pointer, message,
    ...(hint ? { hint } : {}),
  };
}

function allowedKeys(e: ErrorObject): string[] {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function describeAnyOf(e: ErrorObject): string {
  const branches = ((e.schema as unknown[]) ?? []).map((b) => {
    const s = b as { type?: string; enum?: unknown[]; pattern?: string; minimum?: number };
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' or ');
    if (s.pattern) return `${s.type} matching ${s.pattern}`;
    if (s.minimum !== undefined) return `${s.type} ≥ ${s.minimum}`;
    return s.type ?? 'value';
  });
  return `expected ${branches.join(', or ')}`;
}

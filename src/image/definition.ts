// images/<name>/image.yaml: read, validate against schemas/image.schema.json (generated validator,
// defaults filled in), and check what the schema cannot (files exist inside the image directory,
// npm needs node). Every problem names the file, line and field.
import type { ErrorObject } from 'ajv';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { loadDocument, type LoadedDocument } from '../config/load.js';
import type { ImageDefinition } from '../generated/image.js';
import { validateImageDefinition } from '../generated/image-validator.js';
import { UserError, type Diagnostic } from '../util/errors.js';

export const DEFINITION_FILE = 'image.yaml';

export interface LoadedImage {
  /** Absolute image directory. */
  dir: string;
  file: string;
  def: ImageDefinition;
}

function diagnostic(doc: LoadedDocument, pointer: string, message: string, preferKey = false): Diagnostic {
  const at = doc.positionOf(pointer, preferKey);
  return { rule: 'image', severity: 'error', file: doc.file, line: at.line, column: at.column, pointer, message };
}

function schemaMessage(e: ErrorObject): { pointer: string; message: string; preferKey: boolean } {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') {
    return {
      pointer: `${e.instancePath}/${String(p.additionalProperty)}`,
      message: `unknown field "${String(p.additionalProperty)}"`,
      preferKey: true,
    };
  }
  if (e.keyword === 'required')
    return { pointer: e.instancePath, message: `missing required field "${String(p.missingProperty)}"`, preferKey: false };
  if (e.keyword === 'propertyNames') {
    return { pointer: `${e.instancePath}/${String(p.propertyName)}`, message: `invalid name "${String(p.propertyName)}"`, preferKey: true };
  }
  if (e.keyword === 'enum') {
    return {
      pointer: e.instancePath,
      message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      preferKey: false,
    };
  }
  return { pointer: e.instancePath, message: e.message ?? 'is invalid', preferKey: false };
}

/** Loads and checks `<dir>/image.yaml`; throws a UserError with located diagnostics. */
export function loadImageDefinition(dirArg: string): LoadedImage {
  const dir = resolve(dirArg);
  const file = join(dir, DEFINITION_FILE);
  if (!existsSync(file)) throw new UserError(`${file}: no image definition (expected ${DEFINITION_FILE} in ${dirArg})`);
  const shown = relative(process.cwd(), file) || file;
  const doc = loadDocument(shown, readFileSync(file, 'utf8'));
  if (doc.diagnostics.length) throw new UserError(`${shown}: cannot read the image definition`, doc.diagnostics);
  const value = structuredClone(doc.value);
  if (!validateImageDefinition(value)) {
    const diags = (validateImageDefinition.errors ?? []).map((e) => {
      const m = schemaMessage(e);
      return diagnostic(doc, m.pointer, m.message, m.preferKey);
    });
    throw new UserError(`${shown}: invalid image definition`, diags);
  }
  const def = value as ImageDefinition;
  const diags: Diagnostic[] = [];
  const inside = (rel: string, pointer: string, kind: 'file' | 'dir'): void => {
    const abs = resolve(dir, rel);
    if (abs !== dir && !abs.startsWith(dir + sep)) diags.push(diagnostic(doc, pointer, `"${rel}" is outside the image directory`));
    else if (!existsSync(abs)) diags.push(diagnostic(doc, pointer, `"${rel}" does not exist in ${dirArg}`));
    else if (kind === 'file' ? !statSync(abs).isFile() : !statSync(abs).isDirectory())
      diags.push(diagnostic(doc, pointer, `"${rel}" is not a ${kind === 'file' ? 'file' : 'directory'}`));
  };
  def.files?.forEach((f, i) => inside(f.source, `/files/${i}/source`, 'file'));
  if (def.npm) {
    inside(def.npm.project, '/npm/project', 'dir');
    for (const name of ['package.json', 'package-lock.json']) {
      if (existsSync(join(dir, def.npm.project)) && !existsSync(join(dir, def.npm.project, name))) {
        diags.push(
          diagnostic(doc, '/npm/project', `${def.npm.project}/${name} is missing (an npm project is installed from its lock only)`),
        );
      }
    }
    if (!def.node) diags.push(diagnostic(doc, '/npm', '`npm` needs a `node` runtime in the same image'));
  }
  if (def.dockerfile && !def.debian)
    diags.push(diagnostic(doc, '/dockerfile', '`dockerfile` needs `debian` (the base image must be the same suite)'));
  if (diags.length) throw new UserError(`${shown}: invalid image definition`, diags);
  return { dir, file, def };
}

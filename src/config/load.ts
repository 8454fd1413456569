// Load nemoclaw.yaml: parse YAML, with hard bounds on size and aliases, and source positions
// for every diagnostic.
//
// Two parsers, on purpose. `yaml` keeps source positions but parses about 10× slower than js-yaml
// here (1.5 s vs 0.15 s for a 1,000-sandbox file). So a document is read with js-yaml (YAML 1.2
// core schema, as `yaml` uses) and `yaml` runs only when a position is asked for, i.e. when there
// is something to report. Whenever js-yaml could disagree with `yaml`, the document takes the
// `yaml` path from the start: any parse error (located by `yaml`), anchors or aliases (bounded by
// `yaml`'s alias limit), and the two scalar forms the two resolve differently (0b… and +.…).
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';

// `yaml` is loaded on first use (synchronously; it ships CommonJS): a valid file never needs it.
let yamlModule: typeof import('yaml') | undefined;
const YAML = (): typeof import('yaml') => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
import { pointerOf, type Diagnostic } from './diagnostics.js';

export const MAX_FILE_BYTES = 1024 * 1024;
/** Aliases beyond this are refused: a "billion laughs" document expands exponentially. */
export const MAX_ALIASES = 200;

export interface Position {
  line: number;
  column: number;
}

export interface LoadedDocument {
  file: string;
  source: string;
  /** Plain data, or undefined when the YAML could not be read. */
  value: unknown;
  diagnostics: Diagnostic[];
  /** Source position of the value (or key, for a missing/extra property) at a JSON pointer. */
  positionOf(pointer: string, preferKey?: boolean): Position;
}

export function loadDocument(file: string, source: string, maxBytes = MAX_FILE_BYTES): LoadedDocument {
  const diagnostics: Diagnostic[] = [];
  const positionFallback: Position = { line: 1, column: 1 };

  if (Buffer.byteLength(source, 'utf8') > maxBytes) {
    return {
      file,
      source,
      value: undefined,
      positionOf: () => positionFallback,
      diagnostics: [
        {
          rule: 'file-too-large',
          severity: 'error',
          file,
          line: 1,
          column: 1,
          pointer: '',
          message: `file is ${Buffer.byteLength(source, 'utf8')} bytes; the limit is ${maxBytes}`,
          hint: 'split it or remove generated content',
        },
      ],
    };
  }

  const fast = fastParse(source);
  if (fast.ok) {
    let located: ((pointer: string, preferKey: boolean) => Position) | undefined;
    return {
      file,
      source,
      value: fast.value,
      diagnostics,
      positionOf(pointer: string, preferKey = false): Position {
        located ??= locator(source);
        return located(pointer, preferKey);
      },
    };
  }

  const { LineCounter, parseDocument } = YAML();
  const lines = new LineCounter();
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = at(e.pos[0]);
    const duplicate = e.code === 'DUPLICATE_KEY';
    diagnostics.push({
      rule: duplicate ? 'yaml-duplicate-key' : 'yaml-syntax',
      severity: 'error',
      file,
      ...p,
      pointer: '',
      message: duplicate ? 'duplicate key: a later value would silently replace an earlier one' : firstLine(e.message),
    });
  }

  let value: unknown;
  if (doc.errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      diagnostics.push({
        rule: 'yaml-alias-limit',
        severity: 'error',
        file,
        line: 1,
        column: 1,
        pointer: '',
        message: `too many alias expansions (limit ${MAX_ALIASES}): ${firstLine((e as Error).message)}`,
        hint: 'write the values out instead of nesting aliases',
      });
    }
  }

  return {
    file,
    source,
    value,
    diagnostics,
    positionOf(pointer: string, preferKey = false): Position {
      const found = locate(doc, pointer, preferKey);
      return found === undefined ? positionFallback : at(found);
    },
  };
}

const SLOW_PATH = /[&*]|0b|\+\./;

function fastParse(source: string): { ok: true; value: unknown } | { ok: false } {
  if (SLOW_PATH.test(source)) return { ok: false };
  try {
    return { ok: true, value: jsyaml.load(source, { schema: jsyaml.CORE_SCHEMA }) };
  } catch {
    return { ok: false };
  }
}

/** Positions for a document already known to be valid YAML: parsed by `yaml` on first use. */
function locator(source: string): (pointer: string, preferKey: boolean) => Position {
  const { LineCounter, parseDocument } = YAML();
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true });
  return (pointer, preferKey) => {
    const offset = locate(doc, pointer, preferKey);
    if (offset === undefined) return { line: 1, column: 1 };
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Offset of the node at `pointer`; falls back to the deepest existing ancestor. */
function locate(doc: Document, pointer: string, preferKey: boolean): number | undefined {
  const { isMap, isPair, isScalar, isSeq } = YAML();
  const parts =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (let i = 0; i < parts.length; i++) {
    const key = parts[i]!;
    const last = i === parts.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
      if (!pair) return offset;
      if (last && preferKey) return rangeStart(pair.key) ?? offset;
      node = pair.value;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}

export { pointerOf };

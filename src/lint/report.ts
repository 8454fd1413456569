// Collects lint findings, taking severity from the catalogue and the position from the document.
import { pointerOf, type Diagnostic } from '../config/diagnostics.js';
import type { LoadedDocument } from '../config/load.js';
import { RULES, type RuleId } from './catalog.js';
import { redactSecrets } from '../compiler/redact.js';

export interface LintContext {
  knownPresets: string[];
  knownBlueprints: string[];
  /** Image reference → sha256 digest pinned by nemoclaw.lock. */
  lockedImages: Record<string, string>;
  /** When given, seccomp allow/deny names outside this set are errors. */
  knownSyscalls?: { has(name: string): boolean };
}

export interface ReportOptions {
  /** Position at the key rather than the value (for findings about a map key). */
  key?: boolean;
  /** Locate the finding here instead of at `pointer` (when the pointer itself must not reveal a value). */
  at?: readonly (string | number)[];
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly doc: LoadedDocument) {}

  report(rule: RuleId, path: readonly (string | number)[], message: string, hint?: string, opts: ReportOptions = {}): void {
    const pointer = pointerOf(path);
    const pos = this.doc.positionOf(opts.at ? pointerOf(opts.at) : pointer, opts.key ?? false);
    this.reportAt(rule, pos, pointer, message, hint);
  }

  /** A finding located by source position rather than by a value (e.g. in a comment). */
  reportAt(rule: RuleId, pos: { line: number; column: number }, pointer: string, message: string, hint?: string): void {
    this.diagnostics.push({
      rule,
      severity: RULES[rule].severity,
      file: this.doc.file,
      line: pos.line,
      column: pos.column,
      pointer,
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

// The config passed the schema, but the linter must never crash on a shape it did not expect:
// these accessors turn anything unexpected into "absent".

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function objectEntries(v: unknown): [string, unknown][] {
  return isObject(v) ? Object.entries(v) : [];
}

/** Indexed string items of an array; non-strings are skipped but keep their index. */
export function stringItems(v: unknown): [number, string][] {
  if (!Array.isArray(v)) return [];
  const out: [number, string][] = [];
  v.forEach((item, i) => {
    if (typeof item === 'string') out.push([i, item]);
  });
  return out;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Quoted for a message, cut short so a huge value cannot flood the output. Redacted before it is
 * cut, so a cut cannot leave part of a secret that no longer looks like one.
 */
export function quote(raw: string, max = 80): string {
  const s = redactSecrets(raw);
  return JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s);
}

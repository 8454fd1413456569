// Helpers for diagnostics: findings about nemoclaw.yaml, located in the source. The type itself
// lives in src/util/errors.ts, beside the UserError that carries it.
export type { Diagnostic, Severity } from '../util/errors.js';
import type { Diagnostic } from '../util/errors.js';

/** `sandboxes.assistant.process.user` from `/sandboxes/assistant/process/user`. */
export function fieldName(pointer: string): string {
  if (pointer === '') return '(document)';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}

export function pointerOf(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message);
}

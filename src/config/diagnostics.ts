// A finding about nemoclaw.yaml, located in the source. Every error the user sees is one of these.
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** Stable rule id, e.g. `schema`, `yaml-syntax`, `path-relative`. Listed in the README. */
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  column: number;
  /** RFC 6901 JSON pointer to the field, e.g. `/sandboxes/assistant/process/user`. */
  pointer: string;
  message: string;
  hint?: string;
}

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

/** Thrown for input the user must fix; the CLI prints `message` without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

// The one error model. Anything the user can act on is a UserError (or a subclass: GatewayError,
// PolicyError, CompileError, …); the CLI reports it in one place (src/cli/run-command.ts) as a
// message without a stack trace and exits with its code. Anything else is a bug: exit 2.

/** README "Exit codes": 1 invalid input or a failed check, 2 usage or internal error. */
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export type Severity = 'error' | 'warning';

/**
 * A finding located in a source file (nemoclaw.yaml). Defined here, below everything, because a
 * UserError carries them; src/config/diagnostics.ts has the helpers that make and order them.
 */
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

/** Thrown for input the user must fix; the CLI prints `message` (and any diagnostics) without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[] = [],
    /** EXIT_INVALID, EXIT_USAGE, or a command's own code (e.g. `run`'s 125 for a refused start). */
    readonly exitCode: number = EXIT_INVALID,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

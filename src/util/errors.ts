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

/**
 * The classes an error was made by, by name, shared by every copy of this module: a start-up
 * bundle loads the compile pipeline as a bundle of its own (scripts/bundle.mjs), with its own
 * copy of these classes, and a CompileError made there is still `instanceof UserError` here.
 */
const MADE_BY = Symbol.for('nemoclaw.error.classes');

/** Thrown for input the user must fix; the CLI prints `message` (and any diagnostics) without a stack trace. */
export class UserError extends Error {
  declare readonly [MADE_BY]: readonly string[];
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[] = [],
    /** EXIT_INVALID, EXIT_USAGE, or a command's own code (e.g. `run`'s 125 for a refused start). */
    readonly exitCode: number = EXIT_INVALID,
  ) {
    super(message);
    this.name = 'UserError';
    const made: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c))
      made.push((c as { name: string }).name);
    Object.defineProperty(this, MADE_BY, { value: made });
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true;
    const made = (x as { [MADE_BY]?: unknown } | null)?.[MADE_BY];
    return Array.isArray(made) && made.includes(this.name);
  }
}

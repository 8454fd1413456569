// Wraps a command action. The one place errors are reported: a UserError (GatewayError,
// PolicyError, CompileError, ObservationError, … derive from it) prints its message and any
// diagnostics, no stack trace, and sets its exit code; anything else is an internal error, exit 2.
import { EXIT_USAGE, UserError } from '../util/errors.js';
import { formatDiagnosticsText } from './views/lint.js';
import { styleFor } from './views/style.js';

export type Action<A extends unknown[]> = (...args: A) => Promise<number | void> | number | void;

export function command<A extends unknown[]>(action: Action<A>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await action(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

export function reportError(e: unknown): number {
  if (e instanceof UserError) {
    if (e.diagnostics.length > 0) process.stderr.write(formatDiagnosticsText(e.diagnostics, styleFor(process.stderr)));
    process.stderr.write(`nemoclaw: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`nemoclaw: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.NEMOCLAW_DEBUG) process.stderr.write(String(err?.stack) + '\n');
  return EXIT_USAGE;
}

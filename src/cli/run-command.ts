// Wraps a command action: user errors print a message (no stack) and set the exit code;
// anything unexpected is an internal error, exit 2.
import { UserError } from '../config/diagnostics.js';
import { formatDiagnosticsText } from './views/lint.js';

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
    if (e.diagnostics.length > 0) process.stderr.write(formatDiagnosticsText(e.diagnostics, process.stderr));
    process.stderr.write(`nemoclaw: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`nemoclaw: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.NEMOCLAW_DEBUG) process.stderr.write(String(err?.stack) + '\n');
  return 2;
}

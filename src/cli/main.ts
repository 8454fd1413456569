// The nemoclaw CLI: parses arguments and hands over to the core. Each command lives in
// src/cli/commands/<name>.ts and exports `register(cli)`.
import { cac } from 'cac';
import { reportError } from './run-command.js';
import { packageVersion } from '../paths.js';
import * as validate from './commands/validate.js';
import * as lint from './commands/lint.js';
import * as compile from './commands/compile.js';
import * as explain from './commands/explain.js';
import * as run from './commands/run.js';
import * as doctor from './commands/doctor.js';
import * as gateway from './commands/gateway.js';
import * as audit from './commands/audit.js';
import * as approvals from './commands/approvals.js';
import * as reconciler from './commands/reconciler.js';

const cli = cac('nemoclaw');
for (const mod of [validate, lint, compile, explain, run, doctor, gateway, audit, approvals, reconciler]) mod.register(cli);
cli.help();
cli.version(packageVersion);

try {
  cli.parse(process.argv, { run: false });
  if (!cli.matchedCommand) {
    if (cli.args.length > 0) {
      process.stderr.write(`nemoclaw: unknown command "${cli.args[0]}"; see nemoclaw --help\n`);
      process.exitCode = 2;
    } else if (!cli.options.help && !cli.options.version) {
      cli.outputHelp();
    }
  } else {
    await cli.runMatchedCommand();
  }
} catch (e) {
  // cac throws CACError for unknown options and missing arguments: a usage error.
  if ((e as Error)?.name === 'CACError') {
    process.stderr.write(`nemoclaw: ${(e as Error).message}\n`);
    process.exitCode = 2;
  } else {
    process.exitCode = reportError(e);
  }
}

// The nemoclaw CLI: parses arguments and hands over to the core. Each command lives in
// src/cli/commands/<name>.ts and exports `register(cli)`.
//
// Only the module of the command being run is imported (all of them for --help or an unknown
// word): the core behind some commands (Docker, git, libseccomp) is slow to load, and every
// command would pay for it at start-up otherwise. For the same reason this module imports nothing
// statically: `--version` answers before the argument parser or the error views are loaded.
import type { CAC } from 'cac';
import { packageVersion } from '../util/package-paths.js';

type CommandModule = { register(cli: CAC): void };
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  init: () => import('./commands/init.js'),
  validate: () => import('./commands/validate.js'),
  lint: () => import('./commands/lint.js'),
  compile: () => import('./commands/compile.js'),
  explain: () => import('./commands/explain.js'),
  run: () => import('./commands/run.js'),
  doctor: () => import('./commands/doctor.js'),
  gateway: () => import('./commands/gateway.js'),
  audit: () => import('./commands/audit.js'),
  approvals: () => import('./commands/approvals.js'),
  plan: () => import('./commands/plan.js'),
  apply: () => import('./commands/apply.js'),
  status: () => import('./commands/status.js'),
  rollback: () => import('./commands/rollback.js'),
  destroy: () => import('./commands/destroy.js'),
  logs: () => import('./commands/logs.js'),
  connect: () => import('./commands/connect.js'),
  uninstall: () => import('./commands/uninstall.js'),
  diff: () => import('./commands/diff.js'),
  sign: () => import('./commands/sign.js'),
  verify: () => import('./commands/verify.js'),
  inference: () => import('./commands/inference.js'),
  reconcile: () => import('./commands/reconcile.js'),
  service: () => import('./commands/service.js'),
  hooks: () => import('./commands/hooks.js'),
  image: () => import('./commands/image.js'),
};

async function main(): Promise<void> {
  const word = process.argv[2] ?? '';
  if (process.argv.length === 3 && (word === '--version' || word === '-v')) {
    process.stdout.write(`nemoclaw/${packageVersion} ${process.platform}-${process.arch} node-${process.version}\n`);
    return;
  }
  const { cac } = await import('cac');
  const cli = cac('nemoclaw');
  const wanted = Object.hasOwn(COMMANDS, word) ? [COMMANDS[word]!] : Object.values(COMMANDS);
  for (const mod of await Promise.all(wanted.map((load) => load()))) mod.register(cli);
  cli.help();
  cli.version(packageVersion);

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
}

/**
 * cac names an unknown option in camelCase (`--stateDir`); say it as the user typed it
 * (`--state-dir`), so the message can be matched against the command line.
 */
function asTyped(message: string): string {
  return message.replace(/`(--?)([^`=]+)`/, (whole, dashes: string, name: string) => {
    const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const typed = process.argv.slice(2).find((a) => a.startsWith(dashes) && camel(a.slice(dashes.length).split('=')[0]!) === name);
    return typed ? `\`${typed.split('=')[0]}\`` : whole;
  });
}

try {
  await main();
} catch (e) {
  // cac throws CACError for unknown options and missing arguments: a usage error.
  if ((e as Error)?.name === 'CACError') {
    process.stderr.write(`nemoclaw: ${asTyped((e as Error).message)}\n`);
    process.exitCode = 2;
  } else {
    const { reportError } = await import('./run-command.js');
    process.exitCode = reportError(e);
  }
}

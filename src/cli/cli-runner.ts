// The CLI's argument handling, shared by every entry: src/cli/main.ts (all commands, for --help and
// unknown words) and the one-command entries scripts/bundle.mjs generates, so that a command loads
// only its own code. Nothing is imported statically but the version: `--version` answers before
// the argument parser or the error views are loaded.
import type { CAC } from 'cac';
import { packageVersion } from '../util/package-paths.js';

export type CommandModule = { register(cli: CAC): void };
export type CommandTable = Record<string, () => Promise<CommandModule>>;

async function main(commands: CommandTable): Promise<void> {
  const word = process.argv[2] ?? '';
  if (process.argv.length === 3 && (word === '--version' || word === '-v')) {
    process.stdout.write(`nemoclaw/${packageVersion} ${process.platform}-${process.arch} node-${process.version}\n`);
    return;
  }
  const { cac } = await import('cac');
  const cli = cac('nemoclaw');
  const wanted = Object.hasOwn(commands, word) ? [commands[word]!] : Object.values(commands);
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

/**
 * Commands that have nothing left to do once their action returns: they exit at once rather than
 * let Node drain its loop (a pending GC task alone cost lint ~5 ms). stdout and stderr are files,
 * pipes or terminals, which Node writes synchronously on Linux, so nothing written is lost.
 */
const EXIT_WHEN_DONE = new Set(['validate', 'lint', 'compile', 'explain', 'run']);

/** Parse argv, run the matched command, report its error; the exit code lands in process.exitCode. */
export async function runCli(commands: CommandTable): Promise<void> {
  try {
    await main(commands);
    if (process.platform === 'linux' && EXIT_WHEN_DONE.has(process.argv[2] ?? '')) process.exit();
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
}

// nemoclaw hooks install|uninstall: a git post-merge hook for people who apply from their own
// checkout. After every `git pull` it runs a drift check (`plan --refresh-only`), which changes
// nothing and says how the host differs from what it last applied.
import type { CAC } from 'cac';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { gitAt } from '../../util/git.js';
import { packageRoot } from '../../util/package-paths.js';
import { command } from '../run-command.js';

const MARKER = '# Installed by `nemoclaw hooks install`; `nemoclaw hooks uninstall` removes it.';

interface Opts {
  file: string;
  stateDir?: string;
}

/** A single-quoted shell word; a path with a quote in it is refused rather than escaped. */
function sh(s: string): string {
  if (s.includes("'") || s.includes('\n')) throw new UserError(`${s}: a path with a quote or newline cannot go into the hook`, [], 2);
  return `'${s}'`;
}

async function hookPath(cwd: string): Promise<string> {
  let dir: string;
  try {
    // Honours core.hooksPath and worktrees.
    dir = (await gitAt(cwd).raw(['rev-parse', '--git-path', 'hooks'])).trim();
  } catch {
    throw new UserError(`${cwd} is not in a git repository`, [], 1);
  }
  return join(isAbsolute(dir) ? dir : resolve(cwd, dir), 'post-merge');
}

export function register(cli: CAC): void {
  cli
    .command('hooks [action]', 'A git post-merge hook that checks for drift after every pull: install | uninstall')
    .option('-f, --file <file>', 'Config file the hook checks', { default: 'nemoclaw.yaml' })
    .option('--state-dir <dir>', 'State directory the hook checks against')
    .action(
      command(async (action: string | undefined, opts: Opts) => {
        const path = await hookPath(process.cwd());
        const mine = existsSync(path) && readFileSync(path, 'utf8').includes(MARKER);
        switch (action) {
          case 'install': {
            if (existsSync(path) && !mine) throw new UserError(`${path} exists and was not written by nemoclaw; not overwriting it`, [], 1);
            const args = [
              'plan',
              '--refresh-only',
              '-f',
              resolve(opts.file),
              ...(opts.stateDir ? ['--state-dir', resolve(opts.stateDir)] : []),
            ];
            const script = [
              '#!/bin/sh',
              MARKER,
              '# After a pull: how does this host differ from what was applied? (changes nothing)',
              `${[process.execPath, join(packageRoot, 'bin', 'nemoclaw.js'), ...args].map(sh).join(' ')} || true`,
              '',
            ].join('\n');
            writeFileAtomic(path, script, { mode: 0o755 });
            process.stdout.write(`wrote ${path}\n`);
            return 0;
          }
          case 'uninstall':
            if (!existsSync(path)) process.stdout.write(`no hook at ${path}\n`);
            else if (!mine) throw new UserError(`${path} was not written by nemoclaw; left alone`, [], 1);
            else {
              rmSync(path);
              process.stdout.write(`removed ${path}\n`);
            }
            return 0;
          default:
            throw new UserError(`hooks: give install or uninstall`, [], 2);
        }
      }),
    );
}

// nemoclaw service install|uninstall|status: run the gateway daemon and the reconcile loop under
// systemd (a service, a oneshot and a timer) or cron, for the state directory given.
import type { CAC } from 'cac';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../util/errors.js';
import { resolveStateDir } from '../../state/paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { parseDuration } from '../../util/duration.js';
import { packageRoot } from '../../util/package-paths.js';
import { command } from '../run-command.js';
import { CRON_FILE, cronFile, GATEWAY_UNIT, MARKER, RECONCILE_TIMER, RECONCILE_UNIT, systemdUnits } from '../service-units.js';

const run = promisify(execFile);

interface Opts {
  interval: string;
  unitDir?: string;
  cron?: boolean;
  stateDir?: string;
}

const SYSTEMD_FILES = [GATEWAY_UNIT, RECONCILE_UNIT, RECONCILE_TIMER];

function unitDir(o: Opts): string {
  return o.unitDir ?? (o.cron ? '/etc/cron.d' : '/etc/systemd/system');
}

/** Ours: the file carries the marker line. Anything else of the same name is left alone. */
function ours(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith(MARKER);
  } catch {
    return false;
  }
}

export function register(cli: CAC): void {
  cli
    .command('service [action]', 'Run the gateway and the reconcile loop under systemd or cron: install | uninstall | status')
    .option('--interval <duration>', 'install: how often reconcile runs', { default: '5m' })
    .option('--unit-dir <dir>', 'Where the unit files (or with --cron the cron.d file) go')
    .option('--cron', 'A cron.d file (serialized with flock) instead of systemd units')
    .option('--state-dir <dir>', 'State directory the services use')
    .action(
      command(async (action: string | undefined, opts: Opts) => {
        const dir = unitDir(opts);
        const files = opts.cron ? [CRON_FILE] : SYSTEMD_FILES;
        switch (action ?? 'status') {
          case 'install': {
            const intervalMs = parseDuration(opts.interval);
            if (intervalMs === undefined) throw new UserError(`--interval: "${opts.interval}" is not a duration (e.g. 5m)`, [], 2);
            const stateDir = resolveStateDir(opts.stateDir);
            const facts = { node: process.execPath, bin: join(packageRoot, 'bin', 'nemoclaw.js'), stateDir, intervalMs };
            const content = opts.cron
              ? { [CRON_FILE]: cronFile(facts, join(stateDir, 'reconcile', 'cron.lock'), join(stateDir, 'reconcile', 'cron.log')) }
              : systemdUnits(facts);
            for (const [name, text] of Object.entries(content)) {
              const path = join(dir, name);
              if (existsSync(path) && !ours(path))
                throw new UserError(`${path} exists and was not written by nemoclaw; not overwriting it`, [], 1);
              writeFileAtomic(path, text, { mode: 0o644 });
              process.stdout.write(`wrote ${path}\n`);
            }
            process.stdout.write(
              opts.cron
                ? 'cron picks the file up by itself; start the gateway now with: nemoclaw gateway --detach' +
                    (opts.stateDir ? ` --state-dir ${stateDir}` : '') +
                    '\n'
                : `enable it with: systemctl daemon-reload && systemctl enable --now ${GATEWAY_UNIT} ${RECONCILE_TIMER}\n`,
            );
            return 0;
          }
          case 'uninstall': {
            for (const name of files) {
              const path = join(dir, name);
              if (!existsSync(path)) continue;
              if (!ours(path)) {
                process.stderr.write(`left ${path}: not written by nemoclaw\n`);
                continue;
              }
              rmSync(path);
              process.stdout.write(`removed ${path}\n`);
            }
            if (!opts.cron)
              process.stdout.write(`then: systemctl disable --now ${RECONCILE_TIMER} ${GATEWAY_UNIT}; systemctl daemon-reload\n`);
            return 0;
          }
          case 'status': {
            for (const name of files) {
              const path = join(dir, name);
              process.stdout.write(
                `${path}: ${!existsSync(path) ? 'not installed' : ours(path) ? 'installed' : 'present, not written by nemoclaw'}\n`,
              );
            }
            if (!opts.cron && existsSync('/run/systemd/system')) {
              try {
                const { stdout } = await run(
                  'systemctl',
                  ['show', RECONCILE_TIMER, '-p', 'ActiveState,NextElapseUSecRealtime,LastTriggerUSec'],
                  {
                    timeout: 10_000,
                  },
                );
                process.stdout.write(stdout);
              } catch (e) {
                process.stdout.write(`systemctl: ${(e as Error).message.split('\n')[0]}\n`);
              }
            }
            return 0;
          }
          default:
            throw new UserError(`service: unknown action "${action}" (install, uninstall, status)`, [], 2);
        }
      }),
    );
}

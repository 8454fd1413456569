// nemoclaw uninstall: destroy every sandbox the inventory lists, stop the gateway daemon, then
// remove the state nemoclaw wrote (named paths only; nothing found by pattern).
import type { CAC } from 'cac';
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopGateway } from '../../daemon/client.js';
import { applyPlan } from '../../reconciler/apply.js';
import { destroyPlan } from '../../reconciler/reconcile.js';
import { renderText } from '../views/plan.js';
import { command } from '../run-command.js';
import { red, styleFor } from '../views/style.js';
import { confirm, lockState, openStore, progress } from '../reconcile-ui.js';

interface Opts {
  yes?: boolean;
  keepState?: boolean;
  allowDestroy?: boolean;
  stateDir?: string;
}

/** What nemoclaw writes at the top of the state directory (see docs/reconciler.md). */
const STATE_ENTRIES = [
  'sandboxes',
  'blueprints',
  'generations',
  'supervisor',
  'gateway',
  'inventory.json',
  'reconciler',
  'reconcile',
  'retained',
  'source.json',
  'uid-ranges',
  'images',
  'cache',
];

export function register(cli: CAC): void {
  cli
    .command('uninstall', 'Destroy every sandbox nemoclaw created here, stop the gateway, remove the state')
    .option('--yes', 'Do not ask for confirmation')
    .option('--keep-state', 'Keep generations, blueprints and the audit log')
    .option('--allow-destroy', 'Needed when a sandbox has protect: true')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (opts: Opts) => {
        const store = openStore(opts.stateDir);
        if (!existsSync(store.root)) {
          process.stdout.write(`nothing to uninstall: ${store.root} does not exist\n`);
          return 0;
        }
        const lock = await lockState(store, 'uninstall', false);
        const names = Object.keys(store.readInventory().sandboxes);
        const { plan, desired } = await destroyPlan(store, names, opts.allowDestroy === true);
        if (names.length) process.stdout.write(renderText(plan, styleFor(process.stdout), { diffs: false }));
        process.stdout.write(
          `Then: stop the gateway daemon${opts.keepState ? '' : `, and remove ${STATE_ENTRIES.map((e) => join(store.root, e)).join(', ')}`}.\n`,
        );
        await confirm('Uninstall?', opts.yes === true, '--yes');
        if (names.length) {
          const r = await applyPlan({ store, progress }, plan, desired, {
            allowDestroy: opts.allowDestroy === true,
            record: true,
            scope: new Set(names),
          });
          if (r.problems.length) {
            for (const p of r.problems) process.stderr.write(red(`  - ${p}`, process.stderr) + '\n');
            return 1;
          }
        }
        if (await stopGateway(store.root)) progress('stopped the gateway daemon');
        if (!opts.keepState) {
          lock.release();
          for (const e of STATE_ENTRIES) rmSync(join(store.root, e), { recursive: true, force: true });
          try {
            if (readdirSync(store.root).length === 0) rmdirSync(store.root);
          } catch {
            /* not empty: left as is */
          }
        }
        process.stdout.write('uninstalled\n');
        return 0;
      }),
    );
}

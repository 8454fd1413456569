// nemoclaw destroy: remove sandboxes nemoclaw created, by their inventory entries (never by name pattern).
import type { CAC } from 'cac';
import { UserError } from '../../util/errors.js';
import { applyPlan } from '../../reconciler/apply.js';
import { destroyPlan } from '../../reconciler/reconcile.js';
import { renderText } from '../views/plan.js';
import { command } from '../run-command.js';
import { red, styleFor } from '../views/style.js';
import { confirm, lockState, openStore, progress } from '../reconcile-ui.js';

interface Opts {
  all?: boolean;
  autoApprove?: boolean;
  allowDestroy?: boolean;
  wait?: boolean;
  stateDir?: string;
}

export function register(cli: CAC): void {
  cli
    .command('destroy [...sandboxes]', 'Stop and remove sandboxes (their workspace and logs too)')
    .option('--all', 'Every sandbox in the inventory')
    .option('--auto-approve', 'Do not ask for confirmation')
    .option('--allow-destroy', 'Needed for sandboxes with protect: true')
    .option('--wait', 'Wait for the lock instead of refusing')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (names: string[], opts: Opts) => {
        const store = openStore(opts.stateDir);
        await lockState(store, 'destroy', opts.wait === true);
        const inv = store.readInventory();
        const targets = opts.all ? Object.keys(inv.sandboxes) : names;
        if (targets.length === 0)
          throw new UserError(
            opts.all ? 'the inventory is empty: nothing to destroy' : 'name a sandbox, or pass --all',
            [],
            opts.all ? 0 : 2,
          );
        const unknown = targets.filter((n) => !inv.sandboxes[n]);
        if (unknown.length) throw new UserError(`not in the inventory (nemoclaw did not create it here): ${unknown.join(', ')}`, [], 1);
        const { plan, desired } = await destroyPlan(store, targets, opts.allowDestroy === true);
        process.stdout.write(renderText(plan, styleFor(process.stdout), { diffs: false }));
        await confirm(`Destroy ${targets.join(', ')}?`, opts.autoApprove === true);
        const r = await applyPlan({ store, progress }, plan, desired, {
          allowDestroy: opts.allowDestroy === true,
          record: true,
          scope: new Set(targets),
        });
        for (const p of r.problems) process.stderr.write(red(`  - ${p}`, process.stderr) + '\n');
        return r.problems.length ? 1 : 0;
      }),
    );
}

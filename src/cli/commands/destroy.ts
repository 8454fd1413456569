// nemoclaw destroy: remove sandboxes nemoclaw created, by their inventory entries (never by name pattern).
import type { CAC } from 'cac';
import { rmSync } from 'node:fs';
import { listRetained } from '../../state/source.js';
import { freeUidRanges } from '../../state/uid-ranges.js';
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
  purge?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('destroy [...sandboxes]', 'Stop and remove sandboxes (their workspace and logs are kept aside; --purge removes them)')
    .option('--all', 'Every sandbox in the inventory')
    .option('--auto-approve', 'Do not ask for confirmation')
    .option('--allow-destroy', 'Needed for sandboxes with protect: true')
    .option('--wait', 'Wait for the lock instead of refusing')
    .option('--purge', 'Also remove the data kept aside from deleted sandboxes of these names (all with --all)')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (names: string[], opts: Opts) => {
        const store = openStore(opts.stateDir);
        await lockState(store, 'destroy', opts.wait === true);
        const inv = store.readInventory();
        const targets = opts.all ? Object.keys(inv.sandboxes) : names;
        const kept = listRetained(store.root).filter((r) => opts.purge && (opts.all || names.includes(r.sandbox)));
        if (kept.length && targets.every((n) => !inv.sandboxes[n])) {
          // Only kept data to remove: nothing runs under these names.
          for (const r of kept) process.stdout.write(`remove kept data ${r.path} (${r.bytes} bytes)\n`);
          await confirm(`Remove the kept data of ${[...new Set(kept.map((r) => r.sandbox))].join(', ')}?`, opts.autoApprove === true);
          for (const r of kept) rmSync(r.path, { recursive: true, force: true });
          freeUidRanges(
            store.root,
            kept.map((r) => r.sandbox),
          );
          return 0;
        }
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
        if (r.problems.length) return 1;
        if (opts.purge) {
          for (const k of listRetained(store.root).filter((x) => opts.all || targets.includes(x.sandbox))) {
            rmSync(k.path, { recursive: true, force: true });
            progress(`removed kept data ${k.path}`);
          }
          // Their data is gone: the host id ranges it was owned by may go to other sandboxes.
          freeUidRanges(store.root, targets);
        }
        return 0;
      }),
    );
}

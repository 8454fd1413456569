// nemoclaw rollback: re-apply an earlier generation's blueprints (kept in the state directory).
import type { CAC } from 'cac';
import { UserError } from '../../util/errors.js';
import { desiredFromGeneration, makePlan } from '../../reconciler/reconcile.js';
import { command } from '../run-command.js';
import { lockState, openStore } from '../reconcile-ui.js';
import { runApply } from './apply.js';

interface Opts {
  to?: number | string;
  autoApprove?: boolean;
  allowDestroy?: boolean;
  wait?: boolean;
  stateDir?: string;
  diff: boolean;
  list?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('rollback', 'Re-apply an earlier generation (default: the one before the latest)')
    .option('--to <gen>', 'Generation number (see --list)')
    .option('--list', 'List the recorded generations')
    .option('--auto-approve', 'Do not ask for confirmation')
    .option('--allow-destroy', 'Allow deleting or replacing sandboxes with protect: true')
    .option('--wait', 'Wait for the lock instead of refusing')
    .option('--no-diff', 'Leave out the artifact diffs')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (opts: Opts) => {
        const store = openStore(opts.stateDir);
        const gens = store.listGenerations();
        if (opts.list) {
          for (const g of gens) {
            process.stdout.write(
              `${String(g.number).padStart(4)}  ${g.time}  ${g.user}  ${g.git_commit?.slice(0, 12) ?? '-'}  ${Object.keys(g.sandboxes).join(', ') || '(none)'}${g.rollback_of ? `  (rollback to ${g.rollback_of})` : ''}\n`,
            );
          }
          return 0;
        }
        const latest = gens.at(-1)?.number;
        const to = opts.to === undefined ? (latest ?? 0) - 1 : Number(opts.to);
        if (!Number.isInteger(to) || to < 1)
          throw new UserError(latest ? `no generation before ${latest} to roll back to` : 'no generations recorded yet', [], 1);
        await lockState(store, 'rollback', opts.wait === true);
        const desired = desiredFromGeneration(store, to);
        const p = await makePlan(store, desired, { allowDestroy: opts.allowDestroy, rollbackTo: to });
        return runApply(store, p, desired, {
          autoApprove: opts.autoApprove === true,
          allowDestroy: opts.allowDestroy === true,
          diffs: opts.diff,
        });
      }),
    );
}

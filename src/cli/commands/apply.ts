// nemoclaw apply: plan (or load a saved plan), confirm, apply under the lock, verify.
import type { CAC } from 'cac';
import { resolve } from 'node:path';
import { applyPlan } from '../../reconciler/apply.js';
import { describeHealth } from '../../reconciler/health.js';
import { interruptedNote, readJournal } from '../../reconciler/journal.js';
import { checkSavedPlan, desiredFromFile, desiredFromPlan, makePlan, readSavedPlan, verifySavedPlan } from '../../reconciler/reconcile.js';
import { countsLine, renderText } from '../views/plan.js';
import type { Desired, Plan } from '../../reconciler/types.js';
import type { StateStore } from '../../state/store.js';
import { command } from '../run-command.js';
import { bold, green, red, styleFor, yellow } from '../views/style.js';
import { claimSource, confirm, lockState, openStore, progress, settleOption } from '../reconcile-ui.js';

interface Opts {
  file: string;
  autoApprove?: boolean;
  wait?: boolean;
  allowDestroy?: boolean;
  stateDir?: string;
  diff: boolean;
  settle?: string | number;
  adopt?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('apply [plan]', 'Make this host run what the config says (or exactly what a saved plan says)')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--auto-approve', 'Do not ask for confirmation (required when not on a terminal)')
    .option('--wait', 'If another apply holds the lock, wait for it instead of refusing')
    .option('--allow-destroy', 'Allow deleting or replacing sandboxes with protect: true')
    .option('--no-diff', 'Leave out the artifact diffs when showing the plan')
    .option('--settle <duration>', 'How long a started sandbox must stay up to count as healthy (default 3s)')
    .option('--adopt', 'Take over a state directory that follows another source')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (planFile: string | undefined, opts: Opts) => {
        const store = openStore(opts.stateDir);
        await lockState(store, 'apply', opts.wait === true);
        let p: Plan;
        let desired: Desired;
        if (planFile) {
          p = readSavedPlan(planFile);
          verifySavedPlan(p); // a tampered plan is refused before anything else
          const fresh = await checkSavedPlan(store, p);
          desired = desiredFromPlan(p, store, fresh);
        } else {
          claimSource(store.root, { kind: 'file', path: resolve(opts.file) }, opts.adopt === true);
          desired = await desiredFromFile(opts.file, { cache: store }); // compiled; remembered for the next plan
          p = await makePlan(store, desired, { allowDestroy: opts.allowDestroy });
        }
        return runApply(store, p, desired, {
          autoApprove: opts.autoApprove === true,
          allowDestroy: opts.allowDestroy === true,
          diffs: opts.diff,
          settleMs: settleOption(opts.settle),
        });
      }),
    );
}

export async function runApply(
  store: StateStore,
  p: Plan,
  desired: Desired,
  o: { autoApprove: boolean; allowDestroy: boolean; diffs: boolean; settleMs?: number },
): Promise<number> {
  const err = process.stderr;
  const note = interruptedNote(readJournal(store.layout.journalFile));
  if (note) err.write(yellow(`note: ${note}`, err) + '\n');
  process.stdout.write(renderText(p, styleFor(process.stdout), { diffs: o.diffs }));
  if (p.changes) await confirm('Apply these changes?', o.autoApprove);
  const t0 = Date.now();
  const r = await applyPlan({ store, progress, settleMs: o.settleMs }, p, desired, { allowDestroy: o.allowDestroy, record: true });
  if (r.health.length) {
    err.write(red('Health check failed: a sandbox did not stay up after it was started:', err) + '\n');
    for (const h of r.health) err.write(red(`  - ${describeHealth(h)}`, err) + '\n');
    return 1;
  }
  if (r.problems.length) {
    err.write(red('Verification failed: the host does not match the plan:', err) + '\n');
    for (const x of r.problems) err.write(red(`  - ${x}`, err) + '\n');
    return 1;
  }
  if (r.steps > 0) {
    process.stdout.write(
      bold(green(`Apply complete in ${Date.now() - t0} ms. ${countsLine(p).replace(/^Plan: /, '')}`)) +
        (r.generation ? ` Generation ${(r.generation as { number: number }).number}.` : '') +
        '\n',
    );
  }
  return 0;
}

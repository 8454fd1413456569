// nemoclaw plan: compare the compiled config with what runs; list actions with reasons.
import type { CAC } from 'cac';
import { UserError } from '../../util/errors.js';
import { planFromFile } from '../../reconciler/reconcile.js';
import { renderJson, renderMarkdown, renderText } from '../views/plan.js';
import { styleFor } from '../views/style.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { command } from '../run-command.js';
import { openStore } from '../reconcile-ui.js';

interface Opts {
  file: string;
  out?: string;
  format: string;
  detailedExitcode?: boolean;
  refreshOnly?: boolean;
  stateDir?: string;
  allowDestroy?: boolean;
  diff: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('plan', 'Show what apply would change on this host, and why')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--out <plan.json>', 'Save the plan; `nemoclaw apply plan.json` applies exactly it')
    .option('--format <format>', 'text | json | markdown', { default: 'text' })
    .option('--detailed-exitcode', 'Exit 0 when nothing to do, 2 when there are changes, 1 on error')
    .option('--refresh-only', 'Report drift without proposing changes')
    .option('--allow-destroy', 'Plan deletes/replaces of sandboxes with protect: true as allowed')
    .option('--no-diff', 'Text format: leave out the artifact diffs')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (opts: Opts) => {
        try {
          if (!['text', 'json', 'markdown'].includes(opts.format)) throw new UserError(`--format must be text, json or markdown`, [], 1);
          const store = openStore(opts.stateDir);
          const p = await planFromFile(store, opts.file, { refreshOnly: opts.refreshOnly, allowDestroy: opts.allowDestroy });
          if (opts.out) writeFileAtomic(opts.out, renderJson(p), { mode: 0o600 });
          process.stdout.write(
            opts.format === 'json'
              ? renderJson(p)
              : opts.format === 'markdown'
                ? renderMarkdown(p)
                : renderText(p, styleFor(process.stdout), { diffs: opts.diff }),
          );
          if (opts.out && opts.format === 'text')
            process.stderr.write(`Saved the plan to ${opts.out}; apply it with: nemoclaw apply ${opts.out}\n`);
          return opts.detailedExitcode && p.changes ? 2 : 0;
        } catch (e) {
          // --detailed-exitcode reserves 2 for "changes": every error is 1.
          if (opts.detailedExitcode && e instanceof UserError && e.exitCode !== 1) throw new UserError(e.message, e.diagnostics, 1);
          if (opts.detailedExitcode && !(e instanceof UserError)) throw new UserError(`internal error: ${(e as Error).message}`, [], 1);
          throw e;
        }
      }),
    );
}

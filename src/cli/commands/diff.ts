// nemoclaw diff: what a change to nemoclaw.yaml does to each sandbox between two commits (or a
// commit and the working tree), with no host state. For pull-request reviews.
import type { CAC } from 'cac';
import { UserError } from '../../util/errors.js';
import { diffRefs } from '../../review/diff.js';
import { renderDiffJson, renderDiffMarkdown, renderDiffText } from '../views/diff.js';
import { command } from '../run-command.js';

interface Opts {
  file: string;
  base: string;
  head?: string;
  worktree?: boolean;
  format: string;
  exitCode?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('diff', 'Compare the compiled sandboxes of two commits: what each agent may newly do, and no longer do')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--base <ref>', 'Commit to compare from', { default: 'HEAD' })
    .option('--head <ref>', 'Commit to compare to (default: the working tree)')
    .option('--worktree', 'Compare to the working tree (the default when --head is not given)')
    .option('--format <format>', 'text | json | markdown', { default: 'text' })
    .option('--exit-code', 'Exit 0 when nothing changed, 2 when something did, 1 on error')
    .action(
      command(async (opts: Opts) => {
        try {
          if (!['text', 'json', 'markdown'].includes(opts.format)) throw new UserError('--format must be text, json or markdown', [], 1);
          if (opts.head !== undefined && opts.worktree) throw new UserError('--head and --worktree exclude each other', [], 1);
          const report = await diffRefs({
            file: opts.file,
            base: String(opts.base),
            head: opts.head === undefined ? null : String(opts.head),
          });
          process.stdout.write(
            opts.format === 'json'
              ? renderDiffJson(report)
              : opts.format === 'markdown'
                ? renderDiffMarkdown(report)
                : renderDiffText(report),
          );
          if (report.base.error || report.head.error) return 1;
          return opts.exitCode && report.changes ? 2 : 0;
        } catch (e) {
          // 2 means "changes" under --exit-code (and always here): every error is 1.
          if (e instanceof UserError && e.exitCode !== 1) throw new UserError(e.message, e.diagnostics, 1);
          if (!(e instanceof UserError)) throw new UserError(`internal error: ${(e as Error).message}`, [], 1);
          throw e;
        }
      }),
    );
}

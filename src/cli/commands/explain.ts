// nemoclaw explain <sandbox>: what a sandbox may read, write, execute, reach and call.
import type { CAC } from 'cac';
import { loadCompile } from '../../pipeline/pipeline.js';
import { capabilities, explainText } from '../../compiler/explain.js';
import { redactDeep } from '../../compiler/redact.js';
import { UserError } from '../../util/errors.js';
import { command } from '../run-command.js';
import { printJson } from '../views/style.js';

export function register(cli: CAC): void {
  cli
    .command('explain <sandbox>', 'Describe in plain language what a sandbox may do')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--json', 'Machine-readable output')
    .action(
      command(async (name: string, opts: { file: string; json?: boolean }) => {
        // Explain what the file says now, even before the lock is updated.
        const c = await loadCompile(opts.file, 'update');
        const s = c.output.sandboxes.find((x) => x.name === name);
        if (!s)
          throw new UserError(
            `no sandbox "${name}" in ${c.doc.file} (have: ${c.output.sandboxes.map((x) => x.name).join(', ') || 'none'})`,
            [],
            1,
          );
        const entry = c.config.sandboxes[name]!;
        const spec = {
          base: entry.process?.seccomp?.base ?? 'default',
          allow: entry.process?.seccomp?.allow ?? [],
          deny: entry.process?.seccomp?.deny ?? [],
        };
        if (opts.json) printJson(redactDeep({ sandbox: name, digest: s.digest, ...capabilities(s, spec) }));
        else process.stdout.write(explainText(s, spec));
        return 0;
      }),
    );
}

// nemoclaw validate: schema + semantic checks. Exit 0 valid, 1 invalid, 2 usage/internal error.
import type { CAC } from 'cac';
import { loadAndCheck } from '../../pipeline/pipeline.js';
import { diagnosticsJson, formatDiagnosticsText } from '../views/lint.js';
import { command } from '../run-command.js';
import { green, printJson, styleFor } from '../views/style.js';

export function register(cli: CAC): void {
  cli
    .command('validate', 'Check nemoclaw.yaml against the schema and the semantic rules')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--json', 'Machine-readable output')
    .action(
      command((opts: { file: string; json?: boolean }) => {
        const { diagnostics, doc } = loadAndCheck(opts.file);
        const valid = !diagnostics.some((d) => d.severity === 'error');
        if (opts.json) printJson({ valid, file: doc.file, ...diagnosticsJson(diagnostics) });
        else if (diagnostics.length > 0) process.stderr.write(formatDiagnosticsText(diagnostics, styleFor(process.stderr)));
        if (!opts.json && valid) process.stdout.write(green(`${doc.file}: valid`) + '\n');
        return valid ? 0 : 1;
      }),
    );
}

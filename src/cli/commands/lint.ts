// nemoclaw lint: every finding, in a format for people, machines, code scanning or workflow annotations.
import type { CAC } from 'cac';
import { loadAndCheck } from '../../pipeline/pipeline.js';
import { formatDiagnosticsJson, formatDiagnosticsText, formatGithub, formatSarif } from '../views/lint.js';
import { styleFor } from '../views/style.js';
import { UserError } from '../../util/errors.js';
import { command } from '../run-command.js';
import { packageVersion } from '../../util/package-paths.js';

const FORMATS = ['text', 'json', 'sarif', 'github'] as const;

export function register(cli: CAC): void {
  cli
    .command('lint', 'Report every finding with rule id, location and hint (for CI)')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--format <format>', 'text | json | sarif | github', { default: 'text' })
    .option('--fail-on <severity>', 'Exit 1 on findings of this severity or worse: error | warning', { default: 'error' })
    .option('--json', 'Same as --format json')
    .action(
      command((opts: { file: string; format: string; failOn: string; json?: boolean }) => {
        const format = opts.json ? 'json' : opts.format;
        if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format must be one of ${FORMATS.join(', ')}`, [], 2);
        if (opts.failOn !== 'error' && opts.failOn !== 'warning') throw new UserError('--fail-on must be error or warning', [], 2);
        const { diagnostics } = loadAndCheck(opts.file);
        const out =
          format === 'json'
            ? formatDiagnosticsJson(diagnostics)
            : format === 'sarif'
              ? formatSarif(diagnostics, packageVersion)
              : format === 'github'
                ? formatGithub(diagnostics)
                : formatDiagnosticsText(diagnostics, styleFor(process.stdout));
        process.stdout.write(out);
        const failing = diagnostics.some((d) => d.severity === 'error' || opts.failOn === 'warning');
        return failing ? 1 : 0;
      }),
    );
}

// nemoclaw inference usage: model calls per sandbox, provider and model, from the audit log.
import type { CAC } from 'cac';
import { UserError } from '../../util/errors.js';
import { readAudit } from '../../audit/log.js';
import { asInferenceRecord } from '../../router/audit-record.js';
import { summarizeUsage, type UsageRow } from '../../router/usage-report.js';
import { resolveStateDir, stateLayout } from '../../state/paths.js';
import { parseSince } from '../../util/duration.js';
import { command } from '../run-command.js';
import { dim } from '../views/style.js';

interface UsageOptions {
  stateDir?: string;
  sandbox?: string;
  since?: string;
  json?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('inference [action]', 'Inference router: `inference usage` sums model calls per sandbox, provider and model')
    .option('--state-dir <dir>', 'State directory')
    .option('--sandbox <name>', 'Only this sandbox')
    .option('--since <time>', 'Only calls since an ISO time or a duration ago (e.g. 15m, 24h)')
    .option('--json', 'JSON')
    .action(
      command((action: string | undefined, opts: UsageOptions) => {
        if (action !== 'usage') throw new UserError(`nemoclaw inference ${action ?? ''}: the only action is usage`, [], 2);
        let since: number | undefined;
        if (opts.since !== undefined) {
          since = parseSince(String(opts.since));
          if (since === undefined) throw new UserError('--since takes an ISO time or a duration such as 24h', [], 2);
        }
        const dir = stateLayout(resolveStateDir(opts.stateDir)).gatewayDir;
        const records = readAudit(dir, { sandbox: opts.sandbox, since })
          .map(asInferenceRecord)
          .filter((r) => r !== undefined);
        const rows = summarizeUsage(records);
        if (opts.json) process.stdout.write(JSON.stringify({ format_version: 1, since: since ?? null, usage: rows }, null, 2) + '\n');
        else if (rows.length === 0) process.stderr.write(dim('no model calls recorded', process.stderr) + '\n');
        else process.stdout.write(table(rows));
        return 0;
      }),
    );
}

function table(rows: UsageRow[]): string {
  const head = ['SANDBOX', 'PROVIDER', 'MODEL', 'CALLS', 'ERRORS', 'REFUSED', 'TOKENS IN', 'TOKENS OUT', 'LATENCY P50', 'TTFT P50'];
  const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);
  const body = rows.map((r) => [
    r.sandbox,
    r.provider,
    r.model,
    String(r.requests),
    String(r.errors),
    String(r.refused),
    String(r.tokens_in),
    String(r.tokens_out),
    ms(r.latency_ms_p50),
    ms(r.ttft_ms_p50),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return (
    [head, ...body]
      .map((cols) =>
        cols
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

// nemoclaw audit: read the gateway's audit log.
import type { CAC } from 'cac';
import { join } from 'node:path';
import { UserError } from '../../util/errors.js';
import { readAudit } from '../../audit/log.js';
import type { AuditRecord } from '../../audit/record.js';
import { parseSince } from '../../util/duration.js';
import { resolveStateDir, stateLayout } from '../../state/paths.js';
import { command } from '../run-command.js';
import { dim, green, red } from '../views/style.js';

export function register(cli: CAC): void {
  cli
    .command('audit', 'Show the egress audit log (connections, denials, approvals)')
    .option('--state-dir <dir>', 'State directory')
    .option('--sandbox <name>', 'Only this sandbox')
    .option('--since <time>', 'Only records since an ISO time or a duration ago (e.g. 15m, 2h)')
    .option('--denied', 'Only denials')
    .option('--json', 'JSON lines, as stored')
    .action(
      command((opts: { stateDir?: string; sandbox?: string; since?: string; denied?: boolean; json?: boolean }) => {
        let since: number | undefined;
        if (opts.since !== undefined) {
          since = parseSince(String(opts.since));
          if (since === undefined) throw new UserError('--since takes an ISO time or a duration such as 15m', [], 2);
        }
        const dir = stateLayout(resolveStateDir(opts.stateDir)).gatewayDir;
        const records = readAudit(dir, { sandbox: opts.sandbox, since, denied: opts.denied });
        for (const r of records) process.stdout.write(opts.json ? JSON.stringify(r) + '\n' : formatRecord(r) + '\n');
        if (!opts.json && records.length === 0)
          process.stderr.write(dim(`no audit records in ${join(dir, 'audit.jsonl')}`, process.stderr) + '\n');
        return 0;
      }),
    );
}

function formatRecord(r: AuditRecord): string {
  const time = new Date(r.time).toISOString();
  const action = r.action === 'denied' ? red('DENY ') : r.action === 'allowed' ? green('ALLOW') : 'INFO ';
  const dst = 'dst' in r && r.dst ? `${r.dst.hostname}:${r.dst.port}${r.dst.ip ? ` (${r.dst.ip})` : ''}` : '';
  const http = 'http' in r && r.http ? ` ${r.http.method} ${r.http.path}${r.http.status ? ` → ${r.http.status}` : ''}` : '';
  const why = r.activity === 'deny' ? ` ${r.reason}${r.approval_id ? ` [${r.approval_id}]` : ''}` : 'rule' in r ? ` rule=${r.rule}` : '';
  const bytes = 'bytes_out' in r ? dim(` out=${r.bytes_out} in=${r.bytes_in} ${r.duration_ms}ms`) : '';
  const who = r.activity === 'approval' ? ` by ${r.actor.user}` : '';
  // API activity (approvals, registrations, start/stop) is told by what happened, refusals included.
  const info =
    r.class_uid === 6003 ? ` ${r.activity}${r.detail ? `: ${r.detail}` : ''}${r.activity === 'approval' ? ` [${r.approval_id}]` : ''}` : '';
  // Aggregated denials and budget summaries: how many, over what span.
  const repeats =
    'count' in r && r.count !== undefined
      ? dim(` ×${r.count} ${new Date(r.first_seen ?? r.time).toISOString()}..${new Date(r.last_seen ?? r.time).toISOString()}`)
      : '';
  return `${time} ${action} ${'sandbox' in r && r.sandbox ? r.sandbox : '-'} ${dst}${http}${why}${info}${who}${bytes}${repeats}`;
}

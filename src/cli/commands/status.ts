// nemoclaw status: per sandbox, desired vs running blueprint, up/down, restarts, enforcement, drift.
import type { CAC } from 'cac';
import { redactDeep } from '../../compiler/redact.js';
import { formatSummary } from '../../init-protocol/report.js';
import { driftOf } from '../../reconciler/plan.js';
import { interruptedNote, readJournal } from '../../reconciler/journal.js';
import { desiredFromFile, observeAll } from '../../reconciler/reconcile.js';
import type { Desired, Drift } from '../../reconciler/types.js';
import { command } from '../run-command.js';
import { bold, dim, green, printJson, red, yellow } from '../views/style.js';
import { openStore } from '../reconcile-ui.js';
import { gatewayStatus } from '../../daemon/client.js';
import type { AuditHealth } from '../../audit/log.js';
import { auditLine } from './gateway.js';

interface Opts {
  json?: boolean;
  file?: string;
  stateDir?: string;
}

export interface SandboxStatusRow {
  name: string;
  applied_digest: string | null;
  desired_digest: string | null;
  running_digest: string | null;
  state: string;
  pid: number | null;
  restarts: number;
  enforcement: string | null;
  policy_version: string | null;
  log: string;
  drift: Drift[];
}

export function register(cli: CAC): void {
  cli
    .command('status', 'What runs, what should run, and any drift between them')
    .option('--json', 'Machine-readable output')
    .option('-f, --file <file>', 'Also compare with this config file')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (opts: Opts) => {
        const store = openStore(opts.stateDir);
        const inv = store.readInventory();
        const desired: Desired | null = opts.file ? await desiredFromFile(opts.file) : null;
        const { observed, current } = await observeAll(store, inv, desired);
        const names = [
          ...new Set([...Object.keys(inv.sandboxes), ...Object.keys(observed.sandboxes), ...(desired?.sandboxes.map((s) => s.name) ?? [])]),
        ].sort();
        const rows: SandboxStatusRow[] = names
          .map((name) => {
            const e = inv.sandboxes[name];
            const o = observed.sandboxes[name];
            const d = desired?.sandboxes.find((s) => s.name === name);
            const drift: Drift[] = e
              ? driftOf(e, o, current[name] ?? null)
              : [{ kind: 'unmanaged', detail: 'runs but is not in the inventory' }];
            if (desired && !d) drift.push({ kind: 'digest_mismatch', detail: `not in ${desired.configPath}` });
            if (d && e && d.digest !== e.blueprint_digest)
              drift.push({
                kind: 'digest_mismatch',
                detail: `${desired!.configPath} compiles to a different blueprint than the one applied (run plan)`,
              });
            if (d && !e) drift.push({ kind: 'process_gone', detail: `in ${desired!.configPath} but never applied` });
            return {
              name,
              applied_digest: e?.blueprint_digest ?? null,
              desired_digest: d?.digest ?? e?.blueprint_digest ?? null,
              running_digest: o?.process.digest ?? null,
              state: o?.process.state ?? 'absent',
              pid: o?.process.pid ?? null,
              restarts: o?.process.restarts ?? 0,
              enforcement: o?.process.report ? formatSummary(o.process.report) : null,
              policy_version: o?.policy_version ?? null,
              log: store.layout.logFile(name),
              drift,
            };
          })
          .map(redactDeep); // drift details quote runtime errors
        const note = interruptedNote(readJournal(store.layout.journalFile));
        // Whether the gateway can write its audit log (when it cannot, it opens no new flow).
        let audit: AuditHealth | null = null;
        if (observed.gateway.running)
          audit = await gatewayStatus(store.layout.root).then(
            (s) => s.audit,
            () => null,
          );
        if (opts.json) {
          printJson({
            format_version: 1,
            gateway: { ...observed.gateway, audit },
            interrupted: note,
            unknown: observed.unknown,
            sandboxes: rows,
          });
          return observed.unknown.length ? 1 : 0;
        }
        const out = process.stdout;
        out.write(
          `gateway: ${observed.gateway.running ? green(`running (pid ${observed.gateway.pid})`) : yellow('not running')}` +
            (observed.gateway.test_hooks.length ? red(`  TEST HOOKS: ${observed.gateway.test_hooks.join(', ')}`) : '') +
            '\n',
        );
        if (audit) out.write(auditLine(audit) + '\n');
        if (note) out.write(yellow(`note: ${note}`) + '\n');
        // Rows below may be incomplete: whatever could not be observed is not shown as "down".
        for (const u of observed.unknown) out.write(red(`unknown: ${u}`) + '\n');
        if (rows.length === 0) out.write(dim('no sandboxes\n'));
        for (const r of rows) {
          const up =
            r.state === 'running'
              ? green(`up (pid ${r.pid})`)
              : r.state === 'backoff'
                ? yellow('restarting')
                : red(r.state === 'absent' ? 'down' : r.state);
          out.write(`\n${bold(r.name)}  ${up}  restarts ${r.restarts}\n`);
          out.write(`  desired  ${r.desired_digest ?? '-'}\n  running  ${r.running_digest ?? '-'}\n`);
          out.write(`  policy   ${r.policy_version ?? '-'}\n`);
          if (r.enforcement) out.write(`  enforced ${r.enforcement}\n`);
          for (const d of r.drift) out.write(yellow(`  drift: ${d.detail}`) + '\n');
          if (r.drift.length === 0) out.write(green('  no drift') + '\n');
        }
        return observed.unknown.length ? 1 : 0;
      }),
    );
}

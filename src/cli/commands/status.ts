// nemoclaw status: per sandbox, desired vs running blueprint, up/down, restarts, enforcement, drift.
import type { CAC } from 'cac';
import { publishedText } from '../../compiler/explain.js';
import { redactDeep } from '../../compiler/redact.js';
import { formatSummary, notEnforced } from '../../init-protocol/report.js';
import { driftOf } from '../../reconciler/plan.js';
import { interruptedNote, readJournal } from '../../reconciler/journal.js';
import { desiredFromFile, observeAll } from '../../reconciler/reconcile.js';
import type { Desired, Drift } from '../../reconciler/types.js';
import { command } from '../run-command.js';
import { bold, dim, green, printJson, red, yellow } from '../views/style.js';
import { openStore } from '../reconcile-ui.js';
import { INITIAL_STATUS, readReconcileStatus, readSource, redactUrl, type ReconcileStatus, type Source } from '../../state/source.js';
import { formatAge, keptData, type KeptData } from '../../reconciler/retention.js';
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
  /** Why the agent last stopped (e.g. "killed: memory limit 512 MiB reached"), or null. */
  last_exit: string | null;
  enforcement: string | null;
  /** Mechanisms the policy asks for that this sandbox runs without (best_effort on a host lacking them). */
  not_enforced: string[];
  policy_version: string | null;
  /** Host addresses published into the sandbox by its applied blueprint ("127.0.0.1:18789 → sandbox port 18789"). */
  published: string[];
  log: string;
  drift: Drift[];
}

/** What the host follows and how the last reconcile went (the `source` section). */
export type SourceSection = { kind: 'git' | 'file'; url: string | null; ref: string | null; path: string } & Omit<
  ReconcileStatus,
  'format_version' | 'failures' | 'condition'
> & { condition: ReconcileStatus['condition'] | null; retention_ms: number | null };

/** A file source is applied by hand: nothing of the loop's record applies. */
const { format_version: _v, failures: _f, condition: _c, ...NOT_RECONCILED } = INITIAL_STATUS;

function sourceSection(root: string): SourceSection | null {
  const src: Source | null = readSource(root);
  if (!src) return null;
  if (src.kind === 'file')
    return { kind: 'file', url: null, ref: null, path: src.path, ...NOT_RECONCILED, condition: null, retention_ms: null };
  const st = readReconcileStatus(root);
  return {
    kind: 'git',
    url: redactUrl(src.url),
    ref: src.ref,
    path: src.path,
    fetched_commit: st?.fetched_commit ?? null,
    applied_commit: st?.applied_commit ?? null,
    verified_by: src.verify ? (st?.verified_by ?? null) : 'unverified',
    suspended: st?.suspended ?? null,
    last_attempt: st?.last_attempt ?? null,
    next_attempt: st?.next_attempt ?? null,
    generation: st?.generation ?? null,
    last_duration_ms: st?.last_duration_ms ?? null,
    retention_ms: src.retention_ms ?? null,
    removed_kept_data: st?.removed_kept_data ?? [],
    condition: st?.condition ?? null,
  };
}

function writeSourceText(out: NodeJS.WriteStream, s: SourceSection | null, retained: KeptData[]): void {
  if (s?.kind === 'file') out.write(`source: ${s.path}\n`);
  if (s?.kind === 'git') {
    const c = s.condition;
    const ready = !c
      ? dim('not reconciled yet')
      : c.status === 'True'
        ? green(`Ready (${c.reason})`)
        : c.status === 'False'
          ? red(`not Ready (${c.reason})`)
          : yellow(`Ready unknown (${c.reason})`);
    out.write(`source: ${s.url} ref ${s.ref} ${s.path}  ${ready}\n`);
    out.write(`  fetched  ${s.fetched_commit ?? '-'}\n  applied  ${s.applied_commit ?? '-'}\n`);
    out.write(`  verified ${s.verified_by === 'unverified' ? red('unverified (--no-verify)') : (s.verified_by ?? '-')}\n`);
    if (s.suspended)
      out.write(yellow(`  suspended since ${s.suspended.since}${s.suspended.reason ? `: ${s.suspended.reason}` : ''}`) + '\n');
    out.write(
      `  last     ${s.last_attempt ?? '-'}${s.last_duration_ms != null ? ` (${s.last_duration_ms} ms)` : ''}${s.next_attempt ? `  next ${s.next_attempt}` : ''}\n`,
    );
    if (c) out.write(`  ${c.message.split('\n').join('\n  ')}\n`);
    if (s.retention_ms !== null) out.write(`  retention of deleted sandboxes' data: ${formatAge(s.retention_ms)}\n`);
    for (const r of s.removed_kept_data ?? [])
      out.write(dim(`  removed kept data of ${r.sandbox} (deleted ${r.deleted_at}) at ${r.removed_at}`) + '\n');
  }
  for (const r of retained) {
    const until = r.expires_at ? `removed after ${r.expires_at}` : 'kept until destroy --purge';
    out.write(
      dim(
        `kept data of deleted sandbox ${r.sandbox} (deleted ${r.deleted_at}, age ${formatAge(r.age_ms)}, ${until}, ${r.bytes} bytes): ${r.path}`,
      ) + '\n',
    );
  }
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
        const rows: SandboxStatusRow[] = names.map((name) => {
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
            last_exit: o?.process.last_error ?? o?.process.last_exit ?? null,
            enforcement: o?.process.report ? formatSummary(o.process.report) : null,
            not_enforced: o?.process.report ? notEnforced(o.process.report) : [],
            policy_version: o?.policy_version ?? null,
            published: (current[name]?.artifacts.egress.ports ?? []).map(publishedText),
            log: store.layout.logFile(name),
            drift: redactDeep(drift), // details quote runtime errors
          };
        });
        const section = sourceSection(store.root);
        const kept = keptData(store.root, section?.retention_ms ?? null, new Date());
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
            source: section,
            gateway: { ...observed.gateway, audit },
            interrupted: note,
            unknown: observed.unknown,
            sandboxes: rows,
            retained: kept,
          });
          return observed.unknown.length ? 1 : 0;
        }
        const out = process.stdout;
        writeSourceText(out, section, kept);
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
          if (r.last_exit) out.write(`  last     ${/memory limit/.test(r.last_exit) ? red(r.last_exit) : r.last_exit}\n`);
          if (r.enforcement) out.write(`  enforced ${r.enforcement}\n`);
          for (const n of r.not_enforced) out.write(red(`  NOT ENFORCED (best_effort): ${n}`) + '\n');
          for (const p of r.published) out.write(`  port     ${p}\n`);
          for (const d of r.drift) out.write(yellow(`  drift: ${d.detail}`) + '\n');
          if (r.drift.length === 0) out.write(green('  no drift') + '\n');
        }
        return observed.unknown.length ? 1 : 0;
      }),
    );
}

// nemoclaw approvals: list pending egress approvals, approve (live with a TTL, persisted to
// nemoclaw.yaml and optionally committed, or on a GitOps host proposed as a branch), or deny them.
import type { CAC } from 'cac';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { decideApproval, listApprovals } from '../../daemon/client.js';
import { parseDuration } from '../../util/duration.js';
import { commitApproval, persistApproval } from '../../config/add-rule.js';
import { proposeApproval, type Proposal } from '../../config/propose-rule.js';
import { resolveStateDir } from '../../state/paths.js';
import { describeSource, readSource, redactUrl } from '../../state/source.js';
import { command } from '../run-command.js';
import { bold, dim, printJson } from '../views/style.js';

interface Opts {
  stateDir?: string;
  ttl?: string;
  persist?: boolean;
  commit?: boolean;
  propose?: boolean;
  file: string;
  reason?: string;
  json?: boolean;
  all?: boolean;
}

export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

export function register(cli: CAC): void {
  cli
    .command('approvals [action] [id]', 'Egress approvals: list (default), approve ID, deny ID')
    .option('--state-dir <dir>', 'State directory')
    .option('--ttl <duration>', 'approve: grant live for this long (e.g. 1h), then lapse by itself')
    .option('--persist', 'approve: add the rule to nemoclaw.yaml (minimal edit, comments kept)')
    .option('--commit', 'approve --persist: git commit the change, naming you and the reason')
    .option('--propose', 'approve on a host that follows a repository: push a branch with the rule to it for review')
    .option('-f, --file <file>', 'Config file for --persist', { default: 'nemoclaw.yaml' })
    .option('--reason <text>', 'Why (recorded in the audit log and the commit)')
    .option('--all', 'list: include decided and expired approvals')
    .option('--json', 'Machine-readable output')
    .action(
      command(async (action: string | undefined, id: string | undefined, opts: Opts) => {
        const stateDir = resolveStateDir(opts.stateDir);
        const actor = osUser();
        switch (action ?? 'list') {
          case 'list': {
            const all = await listApprovals(stateDir);
            const shown = opts.all ? all : all.filter((a) => a.status === 'pending' || a.status === 'approved');
            if (opts.json) {
              printJson({ approvals: shown });
              return 0;
            }
            if (shown.length === 0) {
              process.stdout.write(dim('no pending approvals') + '\n');
              return 0;
            }
            for (const a of shown) {
              const exp =
                a.status === 'approved' ? (a.expires_at ? ` until ${new Date(a.expires_at).toISOString()}` : ' until next reload') : '';
              process.stdout.write(
                `${bold(a.id)}  ${a.status}${exp}  ${a.sandbox} → ${a.host}:${a.port}  hits ${a.hits}  last ${new Date(a.last_seen).toISOString()}\n`,
              );
            }
            return 0;
          }
          case 'approve': {
            if (!id) throw new UserError('approvals approve needs an ID (see nemoclaw approvals)', [], 2);
            const ttlMs = opts.ttl === undefined ? null : parseDuration(String(opts.ttl));
            if (ttlMs === undefined) throw new UserError('--ttl takes a duration such as 30m or 1h', [], 2);
            if (ttlMs === null && !opts.persist && !opts.propose)
              throw new UserError(
                'approve needs --ttl DURATION (live grant), --persist (add to nemoclaw.yaml) or --propose (a branch for review)',
                [],
                2,
              );
            if (opts.commit && !opts.persist) throw new UserError('--commit needs --persist', [], 2);
            if (opts.persist && opts.propose) throw new UserError('give --persist or --propose, not both', [], 2);
            const source = readSource(stateDir);
            // The mirror is replaced on every tick: a rule persisted on this host would be reverted.
            if (opts.persist && source?.kind === 'git')
              throw new UserError(
                `this host follows ${describeSource(source)}: a rule added here would be reverted by the next reconcile. ` +
                  'Use --propose to push a branch with the rule for review (add --ttl 1h to allow it live until it is merged)',
                [],
                2,
              );
            if (opts.propose && source?.kind !== 'git')
              throw new UserError(
                '--propose is for a host that follows a git repository (nemoclaw reconcile --source); use --persist to edit nemoclaw.yaml here',
                [],
                2,
              );
            const a = (await listApprovals(stateDir)).find((x) => x.id === id);
            if (!a) throw new UserError(`no approval with id ${id}`);
            let commit: string | undefined;
            let ruleName: string | undefined;
            let proposal: Proposal | undefined;
            if (opts.propose && source?.kind === 'git') {
              try {
                proposal = await proposeApproval(source, a, actor, opts.reason);
              } catch (e) {
                if (e instanceof UserError) throw new UserError(redactUrl(e.message), e.diagnostics, e.exitCode);
                const why =
                  String((e as Error).message)
                    .split('\n')
                    .find((l) => l.trim()) ?? 'unknown error';
                throw new UserError(`could not propose the rule to ${describeSource(source)}: ${redactUrl(why.trim())}`);
              }
              ruleName = proposal.rule.name;
              commit = proposal.commit;
              process.stderr.write(
                `pushed branch ${proposal.branch} to ${redactUrl(source.url)}: rule ${proposal.rule.name} added to ${source.path} ` +
                  `on ${source.ref} (${proposal.base.slice(0, 12)}), for review\n`,
              );
              if (ttlMs === null) {
                // Nothing is granted until the change is merged and applied.
                if (opts.json) printJson({ approval: a, rule: ruleName, commit, branch: proposal.branch });
                else
                  process.stdout.write(
                    `proposed ${id}: ${a.sandbox} → ${a.host}:${a.port} stays pending until ${proposal.branch} is merged and applied ` +
                      '(add --ttl to allow it live meanwhile)\n',
                  );
                return 0;
              }
            }
            if (opts.persist) {
              const file = resolve(opts.file);
              const r = persistApproval(file, a);
              ruleName = r.rule.name;
              process.stderr.write(`added rule ${r.rule.name} to ${opts.file} (sandboxes.${a.sandbox}.network.egress)\n`);
              if (opts.commit) {
                try {
                  commit = await commitApproval(file, a, r.rule, actor, opts.reason);
                } catch (e) {
                  if (e instanceof UserError) throw e;
                  const why =
                    String((e as Error).message)
                      .split('\n')
                      .find((l) => l.trim()) ?? 'unknown error';
                  throw new UserError(
                    `the rule is in ${opts.file}, but git commit failed (${why.trim()}); commit it yourself, or fix git and approve again`,
                  );
                }
              }
            }
            const done = await decideApproval(stateDir, id, 'approve', {
              actor,
              reason: opts.reason,
              ttl_ms: ttlMs,
              persisted: Boolean(opts.persist),
            });
            if (opts.json) {
              printJson({ approval: done, rule: ruleName ?? null, commit: commit ?? null, branch: proposal?.branch ?? null });
              return 0;
            }
            const until = done.expires_at
              ? `until ${new Date(done.expires_at).toISOString()}`
              : 'until the next policy reload (apply picks up the persisted rule)';
            process.stdout.write(
              `approved ${id}: ${a.sandbox} → ${a.host}:${a.port} live ${until}` +
                (proposal ? `; proposed as ${proposal.branch}` : commit ? `; committed ${commit}` : '') +
                '\n',
            );
            return 0;
          }
          case 'deny': {
            if (!id) throw new UserError('approvals deny needs an ID', [], 2);
            const done = await decideApproval(stateDir, id, 'deny', { actor, reason: opts.reason });
            if (opts.json) printJson({ approval: done });
            else process.stdout.write(`denied ${id}: ${done.sandbox} → ${done.host}:${done.port}\n`);
            return 0;
          }
          default:
            throw new UserError(`unknown approvals action "${action}"; use list, approve or deny`, [], 2);
        }
      }),
    );
}

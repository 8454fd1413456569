// Plans as text (grouped, coloured on a terminal), JSON (with format_version) and markdown
// (for a pull-request comment). Pure: the caller passes the Style (styleFor(stream) or plainStyle).
import type { Paint, Style } from './style.js';
import type { Action, ActionKind, Plan } from '../../reconciler/types.js';
import { redactPlan } from '../../reconciler/redact-plan.js';

const ORDER: ActionKind[] = ['create', 'replace', 'reload', 'delete', 'noop'];
const SYMBOL: Record<ActionKind, string> = { create: '+', replace: '-/+', reload: '~', delete: '-', noop: ' ' };

export function counts(plan: Plan): Record<ActionKind, number> {
  const c = { create: 0, replace: 0, reload: 0, delete: 0, noop: 0 };
  for (const a of plan.actions) c[a.kind]++;
  return c;
}

export function countsLine(plan: Plan): string {
  const c = counts(plan);
  return `Plan: ${c.create} to create, ${c.replace} to replace, ${c.reload} to reload, ${c.delete} to delete, ${c.noop} unchanged.`;
}

function colorDiff(diff: string, { bold, green, red, cyan }: Style): string {
  return diff
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? bold(l)
        : l.startsWith('+')
          ? green(l)
          : l.startsWith('-')
            ? red(l)
            : l.startsWith('@@')
              ? cyan(l)
              : l,
    )
    .join('\n');
}

export interface TextOptions {
  diffs?: boolean;
}

export function renderText(raw: Plan, s: Style, o: TextOptions = {}): string {
  const plan = redactPlan({ ...raw, blueprints: {} }); // the text shows no blueprint: nothing of them to redact
  const { bold, dim, green, red } = s;
  const paint: Record<ActionKind, Paint> = { create: s.green, replace: s.red, reload: s.yellow, delete: s.red, noop: s.dim };
  const out: string[] = [];
  if (plan.rollback_to !== null) out.push(bold(`Rollback to generation ${plan.rollback_to}`), '');
  if (plan.refresh_only) out.push(bold('Refresh only: drift is reported, no change is proposed.'), '');
  for (const kind of ORDER) {
    const group = plan.actions.filter((a) => a.kind === kind);
    if (group.length === 0) continue;
    if (kind === 'noop' && !plan.refresh_only && group.every((a) => a.drift.length === 0)) {
      out.push(dim(`Unchanged: ${group.map((a) => a.sandbox).join(', ')}`), '');
      continue;
    }
    out.push(bold(`${kind === 'noop' ? 'unchanged' : kind}:`));
    for (const a of group) out.push(...actionText(a, paint[kind], s, o.diffs !== false), '');
  }
  out.push(bold(countsLine(plan)));
  const blocked = plan.actions.filter((a) => a.blocked);
  for (const a of blocked) out.push(red(`Blocked: ${a.blocked}`));
  if (!plan.changes) out.push(green('No changes. The host matches the configuration.'));
  return out.join('\n') + '\n';
}

function actionText(a: Action, paint: Paint, s: Style, diffs: boolean): string[] {
  const { dim, green, red, yellow } = s;
  const lines = [paint(`  ${SYMBOL[a.kind]} ${a.sandbox}`) + dim(`  (${a.runtime}${a.to_digest ? `, ${a.to_digest.slice(0, 19)}…` : ''})`)];
  for (const r of a.reasons) lines.push(`      ${r}`);
  for (const d of a.drift) if (!a.reasons.some((r) => r.includes(d.detail))) lines.push(yellow(`      drift: ${d.detail}`));
  if (a.blocked) lines.push(red(`      BLOCKED: ${a.blocked}`));
  if (a.summary.gains.length || a.summary.losses.length) {
    lines.push('      What changes:');
    for (const g of a.summary.gains) lines.push(green(`        + ${g}`));
    for (const l of a.summary.losses) lines.push(red(`        - ${l}`));
  }
  if (diffs) {
    for (const c of a.changes) {
      if (!c.diff) continue;
      lines.push(
        ...colorDiff(c.diff.trimEnd(), s)
          .split('\n')
          .map((l) => `      ${l}`),
      );
    }
  }
  return lines;
}

export function renderJson(plan: Plan): string {
  return JSON.stringify(redactPlan(plan), null, 2) + '\n';
}

export function renderMarkdown(raw: Plan): string {
  const plan = redactPlan(raw);
  const c = counts(plan);
  const out: string[] = [`### nemoclaw plan${plan.refresh_only ? ' (refresh only)' : ''}`, ''];
  out.push(
    `**${c.create}** to create, **${c.replace}** to replace, **${c.reload}** to reload, **${c.delete}** to delete, ${c.noop} unchanged.`,
    '',
  );
  if (plan.config.path)
    out.push(`Config: \`${plan.config.path}\`${plan.config.git_commit ? ` at \`${plan.config.git_commit.slice(0, 12)}\`` : ''}`, '');
  out.push('| sandbox | action | why |', '|---|---|---|');
  for (const a of plan.actions)
    out.push(`| \`${a.sandbox}\` | ${a.kind}${a.blocked ? ' ⛔ blocked' : ''} | ${a.reasons.join('; ').replace(/\|/g, '\\|')} |`);
  out.push('');
  for (const a of plan.actions.filter((x) => x.kind !== 'noop' || x.drift.length)) {
    out.push(`#### ${a.sandbox}: ${a.kind}`, '');
    if (a.blocked) out.push(`> **Blocked:** ${a.blocked}`, '');
    for (const g of a.summary.gains) out.push(`- ➕ ${g}`);
    for (const l of a.summary.losses) out.push(`- ➖ ${l}`);
    for (const d of a.drift) out.push(`- ⚠️ drift: ${d.detail}`);
    out.push('');
    const withDiff = a.changes.filter((x) => x.diff);
    if (withDiff.length) {
      out.push(
        '<details><summary>Artifact diffs</summary>',
        '',
        '```diff',
        ...withDiff.map((x) => x.diff.trimEnd()),
        '```',
        '',
        '</details>',
        '',
      );
    }
  }
  return out.join('\n') + '\n';
}

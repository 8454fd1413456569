// Plans as text (grouped, coloured on a terminal), JSON (with format_version) and markdown
// (for a pull-request comment). Pure apart from reading whether a stream wants colour.
import { bold, cyan, dim, green, red, yellow } from './style.js';
import type { Action, ActionKind, Plan } from '../../reconciler/types.js';
import { redactPlan } from '../../reconciler/redact-plan.js';

type Paint = (s: string) => string;
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

function colorDiff(diff: string, s: NodeJS.WriteStream): string {
  return diff
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? bold(l, s)
        : l.startsWith('+')
          ? green(l, s)
          : l.startsWith('-')
            ? red(l, s)
            : l.startsWith('@@')
              ? cyan(l, s)
              : l,
    )
    .join('\n');
}

export interface TextOptions {
  stream?: NodeJS.WriteStream;
  diffs?: boolean;
}

export function renderText(raw: Plan, o: TextOptions = {}): string {
  const plan = redactPlan(raw);
  const s = o.stream ?? process.stdout;
  const paint: Record<ActionKind, Paint> = {
    create: (x) => green(x, s),
    replace: (x) => red(x, s),
    reload: (x) => yellow(x, s),
    delete: (x) => red(x, s),
    noop: (x) => dim(x, s),
  };
  const out: string[] = [];
  if (plan.rollback_to !== null) out.push(bold(`Rollback to generation ${plan.rollback_to}`, s), '');
  if (plan.refresh_only) out.push(bold('Refresh only: drift is reported, no change is proposed.', s), '');
  for (const kind of ORDER) {
    const group = plan.actions.filter((a) => a.kind === kind);
    if (group.length === 0) continue;
    if (kind === 'noop' && !plan.refresh_only && group.every((a) => a.drift.length === 0)) {
      out.push(dim(`Unchanged: ${group.map((a) => a.sandbox).join(', ')}`, s), '');
      continue;
    }
    out.push(bold(`${kind === 'noop' ? 'unchanged' : kind}:`, s));
    for (const a of group) out.push(...actionText(a, paint[kind], s, o.diffs !== false), '');
  }
  out.push(bold(countsLine(plan), s));
  const blocked = plan.actions.filter((a) => a.blocked);
  for (const a of blocked) out.push(red(`Blocked: ${a.blocked}`, s));
  if (!plan.changes) out.push(green('No changes. The host matches the configuration.', s));
  return out.join('\n') + '\n';
}

function actionText(a: Action, paint: Paint, s: NodeJS.WriteStream, diffs: boolean): string[] {
  const lines = [
    paint(`  ${SYMBOL[a.kind]} ${a.sandbox}`) + dim(`  (${a.runtime}${a.to_digest ? `, ${a.to_digest.slice(0, 19)}…` : ''})`, s),
  ];
  for (const r of a.reasons) lines.push(`      ${r}`);
  for (const d of a.drift) if (!a.reasons.some((r) => r.includes(d.detail))) lines.push(yellow(`      drift: ${d.detail}`, s));
  if (a.blocked) lines.push(red(`      BLOCKED: ${a.blocked}`, s));
  if (a.summary.gains.length || a.summary.losses.length) {
    lines.push('      What changes:');
    for (const g of a.summary.gains) lines.push(green(`        + ${g}`, s));
    for (const l of a.summary.losses) lines.push(red(`        - ${l}`, s));
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

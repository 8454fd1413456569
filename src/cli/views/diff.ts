// `nemoclaw diff` as text (coloured on a terminal), JSON (with format_version) and markdown for a
// pull-request comment: one verdict line per sandbox first, details collapsed, and never more
// than GitHub's comment limit (the longest artifact diffs are left out first, and it says so).
import { fieldName } from '../../config/diagnostics.js';
import type { DiffReport, Finding, SandboxDiff } from '../../review/diff.js';
import type { FileChange } from '../../reconciler/types.js';
import { bold, cyan, dim, green, red, yellow } from './style.js';

/** GitHub refuses comments longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Items shown per list in markdown before "… and N more". */
const LIST_CAP = 10;

export function renderDiffJson(r: DiffReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const short = (c: string | null) => (c ? c.slice(0, 12) : 'working tree');
const sideName = (s: DiffReport['base']) => (s.commit ? `${s.ref === s.commit ? '' : `${s.ref} `}(${short(s.commit)})` : 'working tree');
const changed = (r: DiffReport) => r.sandboxes.filter((s) => s.status !== 'unchanged');
const findingText = (f: Finding) => `${f.severity} ${f.rule} at ${fieldName(f.pointer)} (line ${f.line}): ${f.message}`;

function headline(r: DiffReport): string[] {
  const out: string[] = [];
  if (!r.base.present) out.push(`${r.file} is new: every sandbox in it is created.`);
  if (!r.head.present) out.push(`${r.file} is removed: every sandbox in it is deleted.`);
  for (const [which, s] of [
    ['base', r.base],
    ['head', r.head],
  ] as const)
    if (s.error) out.push(`The ${which} does not compile: ${s.error}`);
  return out;
}

export function renderDiffText(r: DiffReport, stream: NodeJS.WriteStream = process.stdout, diffs = true): string {
  const out: string[] = [
    bold(`nemoclaw diff ${r.file}: ${sideName(r.base)} → ${sideName(r.head)}`, stream),
    ...headline(r).map((l) => yellow(l, stream)),
    '',
  ];
  for (const s of changed(r)) {
    const paint = s.status === 'added' ? green : s.status === 'removed' ? red : yellow;
    out.push(`${paint(`${s.status === 'added' ? '+' : s.status === 'removed' ? '-' : '~'} ${s.name}`, stream)}: ${s.verdict}`);
    for (const c of s.risk)
      out.push(`    ${c.direction === 'widens' ? red('widens', stream) : green('narrows', stream)} ${c.area}: ${c.what}`);
    for (const g of s.summary.gains) out.push(green(`    + ${g}`, stream));
    for (const l of s.summary.losses) out.push(red(`    - ${l}`, stream));
    if (diffs)
      for (const c of s.changes.filter((x) => x.diff))
        out.push(
          ...c.diff
            .trimEnd()
            .split('\n')
            .map(
              (l) =>
                `    ${l.startsWith('+') ? green(l, stream) : l.startsWith('-') ? red(l, stream) : l.startsWith('@@') ? cyan(l, stream) : l}`,
            ),
        );
    out.push('');
  }
  const same = r.sandboxes.filter((s) => s.status === 'unchanged').map((s) => s.name);
  if (same.length) out.push(dim(`Unchanged: ${same.join(', ')}`, stream));
  for (const f of r.lint.introduced) out.push(yellow(`lint, introduced: ${findingText(f)}`, stream));
  for (const f of r.lint.fixed) out.push(green(`lint, fixed: ${findingText(f)}`, stream));
  out.push(r.changes ? `${changed(r).length} sandbox(es) change.` : 'No changes.');
  return out.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[|<>]/g, (c) => ({ '|': '\\|', '<': '&lt;', '>': '&gt;' })[c]!);
/** A fence longer than any backtick run in the text, so a diff can never close it early. */
const fence = (text: string) => '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));

function artifactBlock(c: FileChange, omitted: boolean): string[] {
  const title = `<details><summary><code>${c.file}</code>: ${esc(c.fields.join(', '))}</summary>`;
  if (omitted)
    return [
      title,
      '',
      `_This diff (${c.diff.split('\n').length} lines) is left out to fit GitHub's comment limit; run \`nemoclaw diff\` locally to see it._`,
      '',
      '</details>',
      '',
    ];
  const f = fence(c.diff);
  return [title, '', `${f}diff`, c.diff.trimEnd(), f, '', '</details>', ''];
}

function sandboxSection(s: SandboxDiff, omitted: Set<FileChange>): string[] {
  const out = [`#### \`${s.name}\`: ${s.status}`, ''];
  if (s.from_digest || s.to_digest)
    out.push(`Blueprint digest: \`${s.from_digest?.slice(0, 19) ?? '—'}\` → \`${s.to_digest?.slice(0, 19) ?? '—'}\``, '');
  // A long list (a new seccomp base changes hundreds of calls) is capped per area and direction: the JSON has them all.
  const shown = new Map<string, number>();
  for (const c of s.risk) {
    const k = `${c.direction} ${c.area}`;
    const n = (shown.get(k) ?? 0) + 1;
    shown.set(k, n);
    if (n <= LIST_CAP) out.push(`- ${c.direction === 'widens' ? '🔺 **widens**' : '🔻 narrows'} ${c.area}: ${esc(c.what)}`);
  }
  for (const [k, n] of shown) if (n > LIST_CAP) out.push(`- … and ${n - LIST_CAP} more: ${k} (see \`--format json\`)`);
  if (s.risk.length) out.push('');
  if (s.summary.gains.length || s.summary.losses.length) {
    out.push('<details><summary>In the words of <code>nemoclaw plan</code></summary>', '');
    for (const g of s.summary.gains.slice(0, LIST_CAP)) out.push(`- ➕ ${esc(g)}`);
    for (const l of s.summary.losses.slice(0, LIST_CAP)) out.push(`- ➖ ${esc(l)}`);
    const more = Math.max(0, s.summary.gains.length - LIST_CAP) + Math.max(0, s.summary.losses.length - LIST_CAP);
    if (more) out.push(`- … and ${more} more (see \`--format json\`)`);
    out.push('', '</details>', '');
  }
  for (const c of s.changes.filter((x) => x.diff)) out.push(...artifactBlock(c, omitted.has(c)));
  return out;
}

function markdown(r: DiffReport, omitted: Set<FileChange>): string {
  const out = [`### nemoclaw diff: \`${r.file}\``, '', `${sideName(r.base)} → ${sideName(r.head)}`, ''];
  const moving = changed(r);
  for (const s of moving) out.push(`- **${s.name}**: ${s.verdict}`);
  for (const l of headline(r)) out.push(`- ⚠️ ${esc(l)}`);
  if (!moving.length && !headline(r).length) out.push('No sandbox changes.');
  const same = r.sandboxes.filter((s) => s.status === 'unchanged').map((s) => `\`${s.name}\``);
  if (same.length) out.push('', `Unchanged: ${same.join(', ')}`);
  if (r.lint.introduced.length || r.lint.fixed.length) {
    out.push('', `**Lint:** ${r.lint.introduced.length} finding(s) introduced, ${r.lint.fixed.length} fixed.`, '');
    for (const f of r.lint.introduced) out.push(`- ❗ introduced: ${esc(findingText(f))}`);
    for (const f of r.lint.fixed) out.push(`- ✅ fixed: ${esc(findingText(f))}`);
  }
  out.push('');
  for (const s of moving) out.push(...sandboxSection(s, omitted));
  if (omitted.size)
    out.push(
      `_${omitted.size} artifact diff(s) left out, longest first, to stay under GitHub's ${GITHUB_COMMENT_LIMIT}-character limit._`,
      '',
    );
  return out.join('\n') + '\n';
}

const size = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * Markdown no longer than `limit` (counted in UTF-8 bytes, which is never less than GitHub's
 * character count): drop the longest artifact diffs first, then cut, and say so either way.
 */
export function renderDiffMarkdown(r: DiffReport, limit = GITHUB_COMMENT_LIMIT): string {
  const omitted = new Set<FileChange>();
  const byLength = changed(r)
    .flatMap((s) => s.changes.filter((c) => c.diff))
    .sort((a, b) => b.diff.length - a.diff.length);
  let text = markdown(r, omitted);
  // Estimate what each omission saves instead of re-rendering a large report once per diff.
  let estimate = size(text);
  let next = 0;
  while (estimate > limit && next < byLength.length) {
    const c = byLength[next++]!;
    omitted.add(c);
    estimate -= size(artifactBlock(c, false).join('\n')) - size(artifactBlock(c, true).join('\n'));
    if (estimate <= limit || next === byLength.length) {
      text = markdown(r, omitted);
      estimate = size(text);
    }
  }
  if (size(text) <= limit) return text;
  const note = "\n\n_…cut here to stay under GitHub's comment limit; run `nemoclaw diff --format markdown` locally for the rest._\n";
  let cut = text.slice(0, Math.max(0, limit - size(note)));
  while (size(cut) + size(note) > limit) cut = cut.slice(0, -64);
  return cut.slice(0, cut.lastIndexOf('\n') + 1) + note;
}

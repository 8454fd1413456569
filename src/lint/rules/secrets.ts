// Credentials must never be written into nemoclaw.yaml: it is committed, compiled into artifacts
// and shown in diffs. Every key and string value anywhere in the file is checked.
import { createRequire } from 'node:module';
import { findSecrets } from '../../compiler/redact.js';
import type { Reporter } from '../report.js';

type Path = (string | number)[];

const HINT =
  'store it outside the file and reference it from a provider as credential: env:NAME or file:/absolute/path; then revoke the leaked credential';

export function lintSecrets(r: Reporter, value: unknown, path: Path = []): void {
  if (typeof value === 'string') {
    for (const f of findSecrets(value)) {
      r.report(
        'secret-in-config',
        path,
        `this value contains what looks like a credential (${f.what}, ${f.shown}); credentials must not be written in nemoclaw.yaml`,
        HINT,
      );
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => lintSecrets(r, v, [...path, i]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      for (const f of findSecrets(k)) {
        // The pointer names the parent, not the key: the key is the secret.
        r.report(
          'secret-in-config',
          path,
          `a key here contains what looks like a credential (${f.what}, ${f.shown}); credentials must not be written in nemoclaw.yaml`,
          HINT,
          { at: [...path, k], key: true },
        );
      }
      lintSecrets(r, v, [...path, k]);
    }
  }
}

/**
 * Comments are committed too. They are not data, so they are read from the YAML syntax tree:
 * a `#` inside a quoted string is not a comment, and scanning raw lines would double-report values.
 */
export function lintSecretComments(r: Reporter, source: string): void {
  // A credential in a comment is also a match in the raw text; re-reading the syntax tree (a full
  // second parse, the slowest step on a large file) is only needed when the raw text has one.
  if (!source.includes('#') || findSecrets(source).length === 0) return;
  const comments = new Map<number, string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      n.forEach(walk);
      return;
    }
    if (typeof n !== 'object' || n === null) return;
    const t = n as { type?: unknown; offset?: unknown; source?: unknown };
    if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') comments.set(t.offset, t.source);
    for (const v of Object.values(n)) walk(v);
  };
  // `yaml` only now (it is slow to load), synchronously: it ships CommonJS.
  const { Parser } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  for (const token of new Parser().parse(source)) walk(token);
  for (const [offset, text] of [...comments].sort(([a], [b]) => a - b)) {
    for (const f of findSecrets(text)) {
      r.reportAt(
        'secret-in-config',
        positionAt(source, offset + f.index),
        '',
        `a comment contains what looks like a credential (${f.what}, ${f.shown}); comments are committed like everything else`,
        HINT,
      );
    }
  }
}

function positionAt(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

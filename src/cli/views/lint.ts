// Renders diagnostics for people (text), programs (JSON), GitHub code scanning (SARIF 2.1.0)
// and GitHub Actions annotations (workflow commands).
import { sha256Hex } from '../../util/sha256.js';
import { isAbsolute, relative, sep } from 'node:path';
import { compareDiagnostics, fieldName, type Diagnostic, type Severity } from '../../config/diagnostics.js';
import type { Style } from './style.js';
import { isRuleId, RULES } from '../../lint/catalog.js';

export const DIAGNOSTICS_FORMAT_VERSION = 1;

function sorted(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : compareDiagnostics(a, b)));
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function countLine(diags: readonly Diagnostic[]): string {
  const errors = diags.filter((d) => d.severity === 'error').length;
  return `${plural(errors, 'error')}, ${plural(diags.length - errors, 'warning')}`;
}

/** `file:line:col: severity rule-id: message`, then the field and hint indented, then a count line. */
export function formatDiagnosticsText(diags: readonly Diagnostic[], { bold, cyan, dim, red, yellow }: Style): string {
  const out: string[] = [];
  for (const d of sorted(diags)) {
    const sev = (d.severity === 'error' ? red : yellow)(d.severity);
    out.push(`${bold(`${d.file}:${d.line}:${d.column}`)}: ${sev} ${dim(d.rule)}: ${d.message}`);
    out.push(`    field: ${cyan(fieldName(d.pointer))}`);
    if (d.hint) out.push(`    hint: ${d.hint}`);
  }
  out.push(countLine(diags));
  return out.join('\n') + '\n';
}

export interface DiagnosticsJson {
  format_version: typeof DIAGNOSTICS_FORMAT_VERSION;
  summary: { errors: number; warnings: number };
  diagnostics: Array<{
    rule: string;
    severity: Severity;
    file: string;
    line: number;
    column: number;
    pointer: string;
    field: string;
    message: string;
    hint: string | null;
  }>;
}

/** Stable machine-readable form: fixed key set, `hint` null when absent, sorted by position. */
export function diagnosticsJson(diags: readonly Diagnostic[]): DiagnosticsJson {
  const errors = diags.filter((d) => d.severity === 'error').length;
  return {
    format_version: DIAGNOSTICS_FORMAT_VERSION,
    summary: { errors, warnings: diags.length - errors },
    diagnostics: sorted(diags).map((d) => ({
      rule: d.rule,
      severity: d.severity,
      file: d.file,
      line: d.line,
      column: d.column,
      pointer: d.pointer,
      field: fieldName(d.pointer),
      message: d.message,
      hint: d.hint ?? null,
    })),
  };
}

export function formatDiagnosticsJson(diags: readonly Diagnostic[]): string {
  return JSON.stringify(diagnosticsJson(diags), null, 2) + '\n';
}

// ---- SARIF 2.1.0 -------------------------------------------------------------------------------

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  defaultConfiguration: { level: Severity };
  properties: { stage: string };
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: Array<{
    tool: { driver: { name: string; version: string; semanticVersion: string; rules: SarifRule[] } };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: Severity;
      message: { text: string };
      locations: Array<{
        physicalLocation: {
          artifactLocation: { uri: string };
          region: { startLine: number; startColumn: number };
        };
        logicalLocations?: Array<{ fullyQualifiedName: string; kind: string }>;
      }>;
      partialFingerprints: Record<string, string>;
    }>;
  }>;
}

/**
 * Repository-relative URI with forward slashes, as GitHub code scanning expects. Paths outside
 * `root` stay relative (with ..): an absolute file URI would not be matched to the repository anyway.
 */
export function artifactUri(file: string, root: string = process.cwd()): string {
  const rel = isAbsolute(file) ? relative(root, file) : file;
  return rel
    .split(sep)
    .join('/')
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

function pascal(id: string): string {
  return id
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export function sarifLog(diags: readonly Diagnostic[], toolVersion: string, root?: string): SarifLog {
  // Every catalogued rule is listed, so code scanning shows the full rule set; ids reported by
  // others (not in the catalogue) are appended so every result's ruleIndex resolves.
  const ids: string[] = Object.keys(RULES).sort();
  for (const d of diags) if (!ids.includes(d.rule)) ids.push(d.rule);
  const index = new Map(ids.map((id, i) => [id, i]));
  const rules: SarifRule[] = ids.map((id) => {
    const meta = isRuleId(id) ? RULES[id] : undefined;
    const level = meta?.severity ?? diags.find((d) => d.rule === id)!.severity;
    return {
      id,
      name: pascal(id),
      shortDescription: { text: meta?.summary ?? id },
      defaultConfiguration: { level },
      properties: { stage: meta?.stage ?? 'other' },
    };
  });
  const results = sorted(diags).map((d) => ({
    ruleId: d.rule,
    ruleIndex: index.get(d.rule)!,
    level: d.severity,
    message: { text: d.hint ? `${d.message} (hint: ${d.hint})` : d.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: artifactUri(d.file, root) },
          region: { startLine: Math.max(1, d.line), startColumn: Math.max(1, d.column) },
        },
        ...(d.pointer ? { logicalLocations: [{ fullyQualifiedName: fieldName(d.pointer), kind: 'member' }] } : {}),
      },
    ],
    // Keyed on rule + file + field rather than line, so an alert survives edits elsewhere in the file.
    partialFingerprints: {
      'nemoclawFinding/v1': sha256Hex(`${d.rule}\0${artifactUri(d.file, root)}\0${d.pointer}`),
    },
  }));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'nemoclaw', version: toolVersion, semanticVersion: toolVersion, rules } }, results }],
  };
}

export function formatSarif(diags: readonly Diagnostic[], toolVersion: string, root?: string): string {
  return JSON.stringify(sarifLog(diags, toolVersion, root), null, 2) + '\n';
}

// ---- GitHub Actions workflow commands ----------------------------------------------------------

/** Escaping for the message part of a workflow command (same as @actions/core escapeData). */
export function escapeGithubData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escaping for a property value: additionally `:` and `,`, which delimit properties. */
export function escapeGithubProperty(s: string): string {
  return escapeGithubData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One `::error file=F,line=L,col=C,title=RULE::message` line per diagnostic. */
export function formatGithub(diags: readonly Diagnostic[], root: string = process.cwd()): string {
  return sorted(diags)
    .map((d) => {
      // Annotations are matched to files relative to the workspace root, with forward slashes.
      const file = (isAbsolute(d.file) ? relative(root, d.file) : d.file).split(sep).join('/');
      const props = [
        `file=${escapeGithubProperty(file)}`,
        `line=${d.line}`,
        `col=${d.column}`,
        `title=${escapeGithubProperty(d.rule)}`,
      ].join(',');
      const text = `${fieldName(d.pointer)}: ${d.message}${d.hint ? `\nhint: ${d.hint}` : ''}`;
      return `::${d.severity} ${props}::${escapeGithubData(text)}\n`;
    })
    .join('');
}

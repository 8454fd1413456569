// `nemoclaw diff`: what a change to nemoclaw.yaml does to each sandbox, between two commits (or a
// commit and the working tree), with no host state: compile both sides from git objects, then
// compare the blueprints. The comparison (diffCompiled) is pure; diffRefs gathers the I/O.
import type { CompiledSandbox } from '../compiler/artifacts.js';
import type { Diagnostic } from '../config/diagnostics.js';
import { UserError } from '../util/errors.js';
import { compileSource, locateInRepo, resolveCommit, sourceAtCommit, sourceInWorktree, type GitFile } from '../pipeline/git-source.js';
import { checkSource, type ConfigSource } from '../pipeline/pipeline.js';
import { fileChanges } from '../reconciler/changes.js';
import { semanticSummary } from '../reconciler/summary.js';
import type { FileChange, SemanticSummary } from '../reconciler/types.js';
import { BLUEPRINT_FILES, type BlueprintFile } from '../state/types.js';
import { redactArtifact } from './redact.js';
import { classifyRisk, verdict, type RiskChange } from './risk.js';

export const DIFF_FORMAT_VERSION = 1;

export type SandboxStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface SandboxDiff {
  name: string;
  status: SandboxStatus;
  /** One line: "widens egress (2 hosts), narrows filesystem". */
  verdict: string;
  risk: RiskChange[];
  /** The same words `plan` uses. */
  summary: SemanticSummary;
  /** Per artifact whose bytes differ, the config fields and a unified diff (env values redacted). */
  changes: FileChange[];
  from_digest: string | null;
  to_digest: string | null;
}

export interface DiffSide {
  /** What the user named: a ref, or "worktree". */
  ref: string;
  commit: string | null;
  /** False when the config file does not exist on this side. */
  present: boolean;
  /** Set when this side exists but does not compile (invalid file, stale lock). */
  error: string | null;
}

/** A lint finding, compared between sides by rule, field and message (lines move in every edit). */
export type Finding = Pick<Diagnostic, 'rule' | 'severity' | 'pointer' | 'message' | 'line' | 'column'>;

export interface DiffReport {
  format_version: typeof DIFF_FORMAT_VERSION;
  file: string;
  base: DiffSide;
  head: DiffSide;
  sandboxes: SandboxDiff[];
  lint: { introduced: Finding[]; fixed: Finding[] };
  /** True when any sandbox is added, removed or changed. */
  changes: boolean;
}

export interface Side {
  side: DiffSide;
  sandboxes: CompiledSandbox[];
  diagnostics: readonly Diagnostic[];
}

const key = (d: Finding) => `${d.rule}\0${d.pointer}\0${d.message}`;
const finding = (d: Diagnostic): Finding => ({
  rule: d.rule,
  severity: d.severity,
  pointer: d.pointer,
  message: d.message,
  line: d.line,
  column: d.column,
});

function redacted(files: Record<BlueprintFile, string>, other?: Record<BlueprintFile, string>): Record<BlueprintFile, string> {
  return Object.fromEntries(BLUEPRINT_FILES.map((f) => [f, redactArtifact(f, files[f], other?.[f])])) as Record<BlueprintFile, string>;
}

export function diffSandbox(name: string, before: CompiledSandbox | null, after: CompiledSandbox | null): SandboxDiff {
  const status: SandboxStatus = !before ? 'added' : !after ? 'removed' : before.digest === after.digest ? 'unchanged' : 'changed';
  const risk = status === 'unchanged' ? [] : classifyRisk(before, after);
  const summary = status === 'unchanged' ? { gains: [], losses: [] } : semanticSummary(name, before, after);
  const changes =
    before && after && status === 'changed'
      ? fileChanges(redacted(before.files), redacted(after.files, before.files), BLUEPRINT_FILES)
      : [];
  const lead = status === 'added' ? 'new sandbox: ' : status === 'removed' ? 'removed: ' : '';
  return {
    name,
    status,
    verdict: status === 'removed' ? 'removed (everything it could do stops)' : lead + verdict(risk),
    risk,
    summary,
    changes,
    from_digest: before?.digest ?? null,
    to_digest: after?.digest ?? null,
  };
}

/** Compare two compiled sides. Pure. */
export function diffCompiled(file: string, base: Side, head: Side): DiffReport {
  const a = new Map(base.sandboxes.map((s) => [s.name, s]));
  const b = new Map(head.sandboxes.map((s) => [s.name, s]));
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  const sandboxes = names.map((n) => diffSandbox(n, a.get(n) ?? null, b.get(n) ?? null));
  const before = new Set(base.diagnostics.map(key));
  const after = new Set(head.diagnostics.map(key));
  return {
    format_version: DIFF_FORMAT_VERSION,
    file,
    base: base.side,
    head: head.side,
    sandboxes,
    lint: {
      introduced: head.diagnostics.filter((d) => !before.has(key(d))).map(finding),
      fixed: base.diagnostics.filter((d) => !after.has(key(d))).map(finding),
    },
    changes: sandboxes.some((s) => s.status !== 'unchanged') || base.side.present !== head.side.present,
  };
}

/** Check and compile one side; a file that does not compile is reported, not thrown, so the review still shows its findings. */
async function compileSide(ref: string, commit: string | null, src: ConfigSource | undefined): Promise<Side> {
  const side: DiffSide = { ref, commit, present: src !== undefined, error: null };
  if (!src) return { side, sandboxes: [], diagnostics: [] };
  try {
    const { checked, compiled } = await compileSource(src, commit);
    return { side, sandboxes: compiled.output.sandboxes, diagnostics: checked.diagnostics };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    let diagnostics: readonly Diagnostic[] = e.diagnostics;
    try {
      diagnostics = checkSource(src).diagnostics; // every finding, not only the errors that stopped the compile
    } catch {
      // the lock itself is unreadable: the error says so
    }
    return { side: { ...side, error: e.message }, sandboxes: [], diagnostics };
  }
}

export interface DiffOptions {
  file: string;
  base: string;
  /** A ref, or null for the working tree. */
  head: string | null;
}

/** Compile the file at `base` and at `head` (or in the working tree) and compare. */
export async function diffRefs(o: DiffOptions): Promise<DiffReport> {
  const f: GitFile = await locateInRepo(o.file);
  const baseCommit = await resolveCommit(f.root, o.base);
  const headCommit = o.head === null ? null : await resolveCommit(f.root, o.head);
  const base = await compileSide(o.base, baseCommit, await sourceAtCommit(f, baseCommit));
  const head =
    headCommit === null
      ? await compileSide('worktree', null, sourceInWorktree(f))
      : await compileSide(o.head!, headCommit, await sourceAtCommit(f, headCommit));
  if (!base.side.present && !head.side.present)
    throw new UserError(`${f.path} exists neither at ${o.base} nor at ${o.head ?? 'the working tree'}`, [], 1);
  return diffCompiled(f.path, base, head);
}

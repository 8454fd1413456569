// Semantic lint of nemoclaw.yaml, run with the JSON Schema on every part of the file that passed
// it. It lints the user's file as written: blueprint fields are not merged in, so rules that
// depend on them hold back when a sandbox names a blueprint (the compiler checks the merged result).
import { compareDiagnostics, pointerOf, type Diagnostic } from '../config/diagnostics.js';
import type { LoadedDocument } from '../config/load.js';
import type { NemoclawConfig } from '../generated/config.js';
import { objectEntries, isObject, Reporter, type LintContext } from './report.js';
import { redactSecrets } from '../compiler/redact.js';
import { lintEnv } from './rules/env.js';
import { lintFilesystem } from './rules/filesystem.js';
import { lintProviders, lintSandboxInference } from './rules/inference.js';
import { lintNetwork } from './rules/network.js';
import { lintPortClashes, lintPorts } from './rules/ports.js';
import { lintProcess } from './rules/process.js';
import { lintRuntime } from './rules/runtime.js';
import { lintSecretComments, lintSecrets } from './rules/secrets.js';
import { applySuppressions, lintSuppress } from './rules/suppress.js';

export { RULES, isRuleId, type RuleId, type RuleMeta } from './catalog.js';
export type { LintContext } from './report.js';

/**
 * Every semantic finding in the parts of the file that are well-formed. `malformed` lists the JSON
 * pointers of values that failed the schema (src/config/validate.ts checkSchema): a sandbox, an
 * inference provider or the lint section holding one is skipped, the rest is linted, so one run
 * reports the schema errors and the semantic ones together. The credential scan covers everything.
 */
export function lintConfig(doc: LoadedDocument, config: NemoclawConfig, ctx: LintContext, malformed: readonly string[] = []): Diagnostic[] {
  const r = new Reporter(doc);
  const parts = wellFormedParts(config, malformed);
  // A sandbox may name a provider that is itself malformed: it is still defined.
  const providersKnown = !malformed.some((m) => touches(m, ['inference', 'providers'], false));
  for (const [name, sb] of objectEntries(parts.sandboxes)) {
    if (!isObject(sb)) continue;
    const base = ['sandboxes', name];
    lintFilesystem(r, base, sb);
    lintNetwork(r, base, sb);
    lintPorts(r, base, sb);
    lintEnv(r, base, sb);
    lintProcess(r, base, sb, ctx);
    lintRuntime(r, base, sb, ctx);
    if (providersKnown) lintSandboxInference(r, base, sb, config);
  }
  lintProviders(r, parts);
  lintPortClashes(r, parts);
  lintSecrets(r, config);
  lintSecretComments(r, doc.source);
  const suppressed = lintSuppress(r, parts);
  return applySuppressions(r.diagnostics, suppressed).map(redactDiagnostic).sort(compareDiagnostics);
}

/** Is pointer `m` at `path`, above it, or (with `below`) inside it? */
function touches(m: string, path: readonly string[], below = true): boolean {
  const p = pointerOf(path);
  return m === p || p.startsWith(m + '/') || m === '' || (below && m.startsWith(p + '/'));
}

/** The config without the sandboxes, providers and lint section that hold a malformed value. */
function wellFormedParts(config: NemoclawConfig, malformed: readonly string[]): NemoclawConfig {
  if (malformed.length === 0) return config;
  const clean = (...path: string[]) => !malformed.some((m) => touches(m, path));
  const keep = (v: unknown, ...path: string[]) => Object.fromEntries(objectEntries(v).filter(([n]) => clean(...path, n)));
  const value: unknown = config;
  if (!isObject(value)) return { version: 1, sandboxes: {} };
  const inference = isObject(value.inference)
    ? { ...value.inference, providers: keep(value.inference.providers, 'inference', 'providers') }
    : undefined;
  // Still loosely typed: the rules read every field through guards (src/lint/report.ts).
  return {
    ...value,
    sandboxes: keep(value.sandboxes, 'sandboxes'),
    inference,
    lint: clean('lint') ? value.lint : undefined,
  } as NemoclawConfig;
}

/**
 * Replaces credential-looking text in what a diagnostic shows (message, hint, pointer), so no
 * output format can leak a secret that some rule quoted. Safe to apply to any diagnostic.
 */
export function redactDiagnostic(d: Diagnostic): Diagnostic {
  const out: Diagnostic = { ...d, message: redactSecrets(d.message), pointer: redactSecrets(d.pointer) };
  if (d.hint !== undefined) out.hint = redactSecrets(d.hint);
  return out;
}

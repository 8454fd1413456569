// Shared helpers for the lint tests: YAML goes through the real loader so positions are real.
import assert from 'node:assert/strict';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { loadDocument } from '../../src/config/load.js';
import { SYSCALLS_BY_ARCH } from '../../src/compiler/data/syscalls.js';
import type { NemoclawConfig } from '../../src/generated/config.js';
import { lintConfig, type LintContext } from '../../src/lint/rules.js';

export const PINNED = 'sha256:' + 'ab'.repeat(32);

export const CTX: LintContext = {
  knownPresets: ['github', 'pypi'],
  knownBlueprints: ['openclaw'],
  lockedImages: { 'ghcr.io/acme/agent:1.2': PINNED },
  knownSyscalls: new Set([...SYSCALLS_BY_ARCH.x86_64, ...SYSCALLS_BY_ARCH.aarch64]),
};

/** Strips the common indentation and the first newline, so YAML can be indented in a test. */
export function yaml(s: string): string {
  const lines = s
    .replace(/^\n/, '')
    .replace(/\n\s*$/, '')
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n') + '\n';
}

export function lint(source: string, ctx: LintContext = CTX, file = 'nemoclaw.yaml'): Diagnostic[] {
  const doc = loadDocument(file, source);
  assert.deepEqual(doc.diagnostics, [], 'the test YAML itself must load');
  return lintConfig(doc, doc.value as NemoclawConfig, ctx);
}

export const ofRule = (diags: Diagnostic[], rule: string): Diagnostic[] => diags.filter((d) => d.rule === rule);

/** Exactly one finding of `rule`, at `line` (and `column` when given). */
export function expectOne(diags: Diagnostic[], rule: string, line: number, column?: number): Diagnostic {
  const found = ofRule(diags, rule);
  assert.equal(found.length, 1, `expected one ${rule}, got: ${JSON.stringify(diags, null, 1)}`);
  assert.equal(found[0]!.line, line, `${rule}: line`);
  if (column !== undefined) assert.equal(found[0]!.column, column, `${rule}: column`);
  return found[0]!;
}

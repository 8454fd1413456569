// Output formats: text for people, JSON for programs, SARIF for code scanning, GitHub annotations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { RULES } from '../../src/lint/rules.js';
import {
  artifactUri,
  countLine,
  escapeGithubData,
  escapeGithubProperty,
  formatDiagnosticsJson,
  formatDiagnosticsText,
  formatGithub,
  formatSarif,
} from '../../src/cli/views/lint.js';
import { ansiStyle, plainStyle, styleFor } from '../../src/cli/views/style.js';
import { lint, yaml } from './helpers.js';

const SRC = yaml(`
  version: 1
  sandboxes:
    a:
      process: { user: root }
      filesystem: { landlock: best_effort }
      network:
        egress:
          - name: r
            endpoints: [{ host: "*.com", port: 443 }]
`);
const diags = (): Diagnostic[] => lint(SRC, undefined, 'deploy/nemoclaw.yaml');
/** 1-based column of `text` on 1-based `line` of SRC. */
const col = (line: number, text: string): number => SRC.split('\n')[line - 1]!.indexOf(text) + 1;

const fakeTty = { isTTY: true } as unknown as NodeJS.WriteStream;

function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

describe('text', () => {
  it('prints location, severity, rule, message, field and hint, sorted, with a count line', () => {
    const out = formatDiagnosticsText(diags(), plainStyle);
    const lines = out.split('\n');
    assert.equal(lines[0], `deploy/nemoclaw.yaml:4:${col(4, 'root')}: error user-root: user "root" runs the agent as root (uid 0)`);
    assert.equal(lines[1], '    field: sandboxes.a.process.user');
    assert.equal(lines[2], '    hint: use user: sandbox (uid 1000) or another non-zero uid');
    assert.ok(lines[3]!.startsWith(`deploy/nemoclaw.yaml:5:${col(5, 'best_effort')}: warning landlock-best-effort: `));
    assert.ok(lines[6]!.startsWith(`deploy/nemoclaw.yaml:9:${col(9, '"*.com"')}: error host-wildcard-too-broad: `));
    assert.equal(lines.at(-2), '2 errors, 1 warning');
    assert.equal(lines.at(-1), '');
    assert.ok(!out.includes('\x1b['));
  });

  it('counts with singular and plural', () => {
    const one = diags().filter((d) => d.rule === 'user-root');
    assert.equal(countLine(one), '1 error, 0 warnings');
    assert.equal(formatDiagnosticsText([], plainStyle), '0 errors, 0 warnings\n');
  });

  it('is painted by the style it is given: plain is the same text without escapes', () => {
    const painted = formatDiagnosticsText(diags(), ansiStyle);
    assert.ok(painted.includes('\x1b[31merror\x1b[0m'));
    assert.equal(painted.replace(/\x1b\[\d+m/g, ''), formatDiagnosticsText(diags(), plainStyle));
  });

  it('styleFor colours only on a TTY and never with NO_COLOR', () => {
    withEnv({ NO_COLOR: undefined, TERM: 'xterm' }, () => {
      assert.equal(styleFor(fakeTty), ansiStyle);
      assert.equal(styleFor({ isTTY: false } as unknown as NodeJS.WriteStream), plainStyle);
    });
    withEnv({ NO_COLOR: '1', TERM: 'xterm' }, () => {
      assert.equal(styleFor(fakeTty), plainStyle);
    });
    withEnv({ NO_COLOR: undefined, TERM: 'dumb' }, () => {
      assert.equal(styleFor(fakeTty), plainStyle);
    });
  });
});

describe('json', () => {
  it('is a stable, versioned object', () => {
    const out = JSON.parse(formatDiagnosticsJson(diags()));
    assert.equal(out.format_version, 1);
    assert.deepEqual(out.summary, { errors: 2, warnings: 1 });
    assert.deepEqual(Object.keys(out.diagnostics[0]), [
      'rule',
      'severity',
      'file',
      'line',
      'column',
      'pointer',
      'field',
      'message',
      'hint',
    ]);
    assert.deepEqual(
      out.diagnostics.map((d: { rule: string; line: number }) => [d.rule, d.line]),
      [
        ['user-root', 4],
        ['landlock-best-effort', 5],
        ['host-wildcard-too-broad', 9],
      ],
    );
    assert.equal(out.diagnostics[0].field, 'sandboxes.a.process.user');
    const noHint = JSON.parse(
      formatDiagnosticsJson([{ rule: 'schema', severity: 'error', file: 'f', line: 1, column: 1, pointer: '', message: 'm' }]),
    );
    assert.equal(noHint.diagnostics[0].hint, null);
  });
});

describe('sarif', () => {
  // The requirements GitHub code scanning enforces on upload (a subset of the SARIF 2.1.0 schema).
  function checkSarif(log: any): void {
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif.*2\.1\.0.*\.json$/);
    assert.equal(log.runs.length, 1);
    const driver = log.runs[0].tool.driver;
    assert.equal(typeof driver.name, 'string');
    assert.equal(typeof driver.version, 'string');
    const ids = new Set<string>();
    for (const rule of driver.rules) {
      assert.match(rule.id, /^[a-z0-9-]+$/);
      assert.ok(!ids.has(rule.id), `duplicate rule ${rule.id}`);
      ids.add(rule.id);
      assert.equal(typeof rule.shortDescription.text, 'string');
      assert.ok(['error', 'warning', 'note', 'none'].includes(rule.defaultConfiguration.level));
    }
    for (const res of log.runs[0].results) {
      assert.equal(driver.rules[res.ruleIndex].id, res.ruleId, 'ruleIndex points at the rule');
      assert.ok(['error', 'warning'].includes(res.level));
      assert.ok(res.message.text.length > 0);
      assert.equal(res.locations.length, 1);
      const loc = res.locations[0].physicalLocation;
      assert.ok(!loc.artifactLocation.uri.startsWith('/') && !loc.artifactLocation.uri.includes('\\'), 'relative uri, forward slashes');
      assert.ok(Number.isInteger(loc.region.startLine) && loc.region.startLine >= 1);
      assert.ok(Number.isInteger(loc.region.startColumn) && loc.region.startColumn >= 1);
      for (const v of Object.values(res.partialFingerprints ?? {})) assert.equal(typeof v, 'string');
    }
  }

  it('produces a log that meets the code-scanning requirements', () => {
    const log = JSON.parse(formatSarif(diags(), '0.1.0'));
    checkSarif(log);
    const driver = log.runs[0].tool.driver;
    assert.equal(driver.name, 'nemoclaw');
    assert.equal(driver.version, '0.1.0');
    assert.equal(driver.rules.length, Object.keys(RULES).length, 'every catalogued rule is listed');
    const res = log.runs[0].results;
    assert.deepEqual(
      res.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.region.startLine]),
      [
        ['user-root', 'error', 4],
        ['landlock-best-effort', 'warning', 5],
        ['host-wildcard-too-broad', 'error', 9],
      ],
    );
    assert.equal(res[0].locations[0].physicalLocation.artifactLocation.uri, 'deploy/nemoclaw.yaml');
    assert.equal(driver.rules[res[1].ruleIndex].defaultConfiguration.level, 'warning');
  });

  it('adds rules it does not know (reported by other steps) so every ruleIndex resolves', () => {
    const other: Diagnostic = {
      rule: 'compile-failed',
      severity: 'error',
      file: 'nemoclaw.yaml',
      line: 2,
      column: 3,
      pointer: '/x',
      message: 'm',
    };
    const log = JSON.parse(formatSarif([other], '0.1.0'));
    checkSarif(log);
    assert.equal(log.runs[0].tool.driver.rules[log.runs[0].results[0].ruleIndex].id, 'compile-failed');
  });

  it('keeps fingerprints stable when only the line moves', () => {
    const fp = (s: string) => JSON.parse(formatSarif(lint(s), '0.1.0')).runs[0].results[0].partialFingerprints;
    const base = yaml('version: 1\nsandboxes:\n  a: { process: { user: root } }\n');
    assert.deepEqual(fp(base), fp('# moved down\n\n' + base));
  });

  it('makes absolute paths relative to the root with forward slashes and encodes URI characters', () => {
    assert.equal(artifactUri('/repo/deploy/my config.yaml', '/repo'), 'deploy/my%20config.yaml');
    assert.equal(artifactUri('nemoclaw.yaml', '/repo'), 'nemoclaw.yaml');
  });
});

describe('github', () => {
  it('escapes data and properties as the runner parses them', () => {
    assert.equal(escapeGithubData('100% done\r\nnext'), '100%25 done%0D%0Anext');
    assert.equal(escapeGithubProperty('a,b:c%\n'), 'a%2Cb%3Ac%25%0A');
  });

  it('writes one workflow command per diagnostic', () => {
    const out = formatGithub(diags());
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(
      lines[0],
      `::error file=deploy/nemoclaw.yaml,line=4,col=${col(4, 'root')},title=user-root::` +
        'sandboxes.a.process.user: user "root" runs the agent as root (uid 0)%0Ahint: use user: sandbox (uid 1000) or another non-zero uid',
    );
    assert.ok(lines[1]!.startsWith(`::warning file=deploy/nemoclaw.yaml,line=5,col=${col(5, 'best_effort')},title=landlock-best-effort::`));
  });

  it('cannot be broken out of by a file name or message', () => {
    const evil: Diagnostic = {
      rule: 'schema',
      severity: 'error',
      file: 'a,line=1:b.yaml',
      line: 2,
      column: 3,
      pointer: '',
      message: 'x\n::error file=forged::100%',
      hint: 'h',
    };
    const out = formatGithub([evil]);
    assert.equal(out.split('\n').length, 2, 'one line plus the final newline');
    assert.equal(
      out,
      '::error file=a%2Cline=1%3Ab.yaml,line=2,col=3,title=schema::(document): x%0A::error file=forged::100%25%0Ahint: h\n',
    );
  });
});

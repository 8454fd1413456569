// Credential detection, and proof that no output format ever shows a detected secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findSecrets, redactSecrets } from '../../src/compiler/redact.js';
import { diagnosticsJson, formatDiagnosticsJson, formatDiagnosticsText, formatGithub, formatSarif } from '../../src/cli/views/lint.js';
import { plainStyle } from '../../src/cli/views/style.js';
import { fieldName } from '../../src/config/diagnostics.js';
import type { NemoclawConfig } from '../../src/generated/config.js';
import { lintConfig } from '../../src/lint/rules.js';
import { CTX, lint, ofRule, yaml } from './helpers.js';

// Built at run time so this file never contains a token that secret scanners would flag.
const body = (n: number, alphabet = 'aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1'): string => alphabet.repeat(4).slice(0, n);
const SAMPLES: Record<string, string> = {
  nvidia: 'nvapi-' + body(40),
  anthropic: 'sk-ant-api03-' + body(40),
  openai: 'sk-proj-' + body(40),
  github: 'ghp_' + body(36),
  githubOauth: 'gho_' + body(36),
  githubPat: 'github_pat_' + body(40),
  gitlab: 'glpat-' + body(20),
  slackBot: 'xoxb-' + '1234567890-' + body(20),
  slackUser: 'xoxp-' + '1234567890-' + body(20),
  aws: 'AKIA' + 'IOSFODNN7EXAMPLQ',
  google: 'AIza' + body(35),
  huggingface: 'hf_' + body(34),
  npm: 'npm_' + body(36),
  stripe: 'sk_' + 'live_' + body(24),
  pem: '-----BEGIN ' + 'RSA PRIVATE KEY-----\nMIIEow' + body(30) + '\n-----END RSA PRIVATE KEY-----',
  openssh: '-----BEGIN ' + 'OPENSSH PRIVATE KEY-----',
  urlPassword: 'https://agent:' + body(12) + '@db.example.com/x',
  jwt: 'eyJ' + body(20) + '.eyJ' + body(30) + '.' + body(30),
  // One of each remaining pattern: findSecrets looks only where a pattern's anchor is (redact.ts ANCHORS).
  pypi: 'pypi-' + body(60),
  sendgrid: 'SG.' + body(22) + '.' + body(40),
  awsSession: 'ASIA' + 'IOSFODNN7EXAMPLQ',
  stripeRestricted: 'rk_' + 'test_' + body(24),
  githubServer: 'ghs_' + body(36),
  slackApp: 'xoxa-' + body(20),
};

describe('credential detection', () => {
  for (const [name, secret] of Object.entries(SAMPLES)) {
    it(`finds ${name}, alone and inside text, and redacts it`, () => {
      assert.equal(findSecrets(secret).length, 1, name);
      const text = `Authorization: Bearer ${secret} (rotated)`;
      assert.equal(findSecrets(text).length, 1);
      const red = redactSecrets(text);
      assert.ok(!red.includes(secret));
      assert.match(red, /^Authorization: Bearer \[redacted [^\]]*…[^\]]*\]/);
      // A BEGIN line without its END redacts everything after it: the key body may follow.
      assert.equal(red.endsWith(' (rotated)'), name !== 'openssh');
    });
  }

  it('ignores ordinary values that merely share a prefix', () => {
    for (const s of [
      '/usr/bin/task-runner-configuration-v2',
      'disk-usage-report-2024-annual-summary',
      'sk-learn',
      'ghp_short',
      'AKIA',
      'nvapi-',
      'https://api.example.com/v1',
      'hf_transfer',
      'github_pat_',
      'npm_config_registry',
      'risk-assessment-1234567890abcdef',
    ]) {
      assert.deepEqual(findSecrets(s), [], s);
    }
  });
});

describe('secrets never reach any output', () => {
  const nv = SAMPLES.nvidia!;
  const gh = SAMPLES.github!;
  const pem = SAMPLES.pem!;
  // A secret as a value, inside a host, as an env NAME (a key), as a provider credential, in an
  // endpoint URL, and as the sandbox name itself (which ends up in every pointer of the sandbox).
  const sandboxName =
    'nvapi-' +
    body(30)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0');
  const src = yaml(`
    version: 1
    sandboxes:
      ${sandboxName}:
        process: { user: root }
        env:
          TOKEN_NOTE: "${nv}"
          ${gh}: "x"
        network:
          egress:
            - name: r
              endpoints: [{ host: "${gh}.example.com:443", port: 443 }]
    inference:
      providers:
        p:
          api: openai
          endpoint: "${SAMPLES.urlPassword}"
          model: m
          credential: "${SAMPLES.anthropic}"
          # old key: ${SAMPLES.anthropic} (comments are committed too)
        q: { api: openai, endpoint: "https://x.example/v1", model: ${JSON.stringify(pem)}, credential: "env:K" }
  `);

  const diags = lint(src);
  const outputs = {
    text: formatDiagnosticsText(diags, plainStyle),
    json: formatDiagnosticsJson(diags),
    sarif: formatSarif(diags, '0.1.0'),
    github: formatGithub(diags),
  };

  it('reports each secret, at its line', () => {
    const lines = ofRule(diags, 'secret-in-config').map((d) => d.line);
    // 3: the sandbox name (a key), 6: env value, 7: env key, 11: host, 16: endpoint, 18: credential, 19: comment, 20: pem in model
    assert.deepEqual(lines, [3, 6, 7, 11, 16, 18, 19, 20]);
    const comment = ofRule(diags, 'secret-in-config').find((d) => d.line === 19)!;
    assert.equal(comment.column, src.split('\n')[18]!.indexOf('sk-ant-') + 1);
    assert.match(comment.message, /comment/);
  });

  for (const [format, out] of Object.entries(outputs)) {
    it(`${format} output contains no part of any secret`, () => {
      // The secret part of each (after its public prefix): any 10-character run of it would be a leak.
      const cores = [nv.slice(6), gh.slice(4), sandboxName.slice(6), SAMPLES.anthropic!.slice(7), body(12), pem.split('\n')[1]!];
      for (const core of cores) {
        for (let i = 0; i + 10 <= core.length; i++)
          assert.ok(!out.includes(core.slice(i, i + 10)), `${format} leaks ${core.slice(i, i + 10)}`);
      }
      assert.ok(out.includes('nvapi-…'), 'shows the redacted prefix');
    });
  }

  it('other rules that quote a value show it redacted', () => {
    const host = diags.find((d) => d.rule === 'host-invalid')!;
    assert.match(host.message, /\[redacted ghp_…\]\.example\.com:443/);
    const root = diags.find((d) => d.rule === 'user-root')!;
    assert.match(fieldName(root.pointer), /^sandboxes\.\[redacted nvapi-…\]\.process\.user$/);
    assert.equal(diagnosticsJson(diags).summary.errors, diags.filter((d) => d.severity === 'error').length);
  });
});

describe('a document that fails the schema', () => {
  it('is still scanned for credentials everywhere', async () => {
    const { loadDocument } = await import('../../src/config/load.js');
    const { checkSchema } = await import('../../src/config/validate.js');
    const doc = loadDocument(
      'n.yaml',
      `version: 2\nsurprise:\n  key: "${SAMPLES.huggingface}"\n  quoted: "# ${SAMPLES.npm} is a value, not a comment"\n`,
    );
    const schema = checkSchema(doc);
    assert.deepEqual(schema.malformed, ['/version']);
    const d = lintConfig(doc, doc.value as NemoclawConfig, CTX, schema.malformed);
    assert.deepEqual(
      d.map((x) => [x.rule, x.line, x.pointer]),
      [
        ['secret-in-config', 3, '/surprise/key'],
        ['secret-in-config', 4, '/surprise/quoted'],
      ],
    );
    assert.ok(!JSON.stringify(d).includes(SAMPLES.huggingface!.slice(3)));
  });
});

describe('secrets: references', () => {
  it('a value that is not a reference is an error that never echoes it; env secrets are pointed at secrets:', () => {
    const value = 'hunter2-correct-horse';
    const d = lint(
      yaml(`
        version: 1
        sandboxes:
          a:
            command: [agent]
            env: { GITHUB_TOKEN: abc123 }
            secrets: { SLACK_TOKEN: ${value}, DB_PASSWORD: "file:/run/secrets/db" }
      `),
    );
    const ref = ofRule(d, 'secret-reference');
    assert.equal(ref.length, 1);
    assert.equal(ref[0]!.severity, 'error');
    assert.ok(!JSON.stringify(d).includes(value));
    assert.match(ofRule(d, 'env-secret-name')[0]!.hint!, /move it to secrets: \(GITHUB_TOKEN: env:HOST_VAR or file:\/path\)/);
  });
});

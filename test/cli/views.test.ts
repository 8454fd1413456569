// Views are pure functions of (data, style): the same plan or diagnostics give the same text,
// painted only by the Style they are handed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderText } from '../../src/cli/views/plan.js';
import { ansiStyle, plainStyle, type Style } from '../../src/cli/views/style.js';
import { plan } from '../../src/reconciler/plan.js';
import { compileSpec, desiredOf } from '../reconciler/fixtures.js';

const ESC = /\x1b\[\d+m/g;

test('plan text: painted by the style given, identical text without it', async (t) => {
  const [a] = await compileSpec(t, { a: { egress: [{ name: 'slack', host: 'slack.com', port: 443 }] } });
  const p = plan({
    desired: desiredOf([a!]),
    inventory: { format_version: 1, sandboxes: {} },
    observed: { gateway: { running: false, pid: null, test_hooks: [] }, sandboxes: {}, unknown: [] },
    current: {},
    now: 'now',
  });
  const plain = renderText(p, plainStyle);
  assert.doesNotMatch(plain, ESC);
  assert.match(plain, /^create:\n {2}\+ a {2}\(process, sha256:/m);
  const painted = renderText(p, ansiStyle);
  assert.match(painted, /\x1b\[32m {2}\+ a\x1b\[0m/, 'a create is green');
  assert.equal(painted.replace(ESC, ''), plain);
  // Any Style works, e.g. one that marks what it paints: every colour the view uses is taken from it.
  const marked: Style = {
    red: (s) => `<r>${s}`,
    green: (s) => `<g>${s}`,
    yellow: (s) => `<y>${s}`,
    cyan: (s) => `<c>${s}`,
    bold: (s) => `<b>${s}`,
    dim: (s) => `<d>${s}`,
  };
  assert.match(renderText(p, marked), /^<b>Plan: 1 to create/m);
});

// The one error model: every error the user can act on is a UserError with an exit code, and the
// CLI reports it in one place: the message, no stack trace, that exit code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompileError } from '../../src/compiler/inputs.js';
import { GatewayError } from '../../src/daemon/client.js';
import { PolicyError, parsePolicy } from '../../src/gateway/policy.js';
import { EXIT_INVALID, EXIT_USAGE, UserError } from '../../src/util/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, stderr);

test('GatewayError, PolicyError and CompileError are UserErrors of invalid input (exit 1)', () => {
  const errors: UserError[] = [new GatewayError('gateway not reachable', 0, 'ENOENT'), new CompileError('a', 'no command')];
  assert.throws(
    () => parsePolicy(Buffer.from('{')),
    (e: unknown) => e instanceof PolicyError && e instanceof UserError && e.exitCode === EXIT_INVALID,
  );
  for (const e of errors) {
    assert.ok(e instanceof UserError, e.name);
    assert.equal(e.exitCode, EXIT_INVALID);
  }
  assert.equal(errors[1]!.message, 'a: no command');
  assert.equal(new UserError('bad flag', [], EXIT_USAGE).exitCode, 2);
});

test('a gateway that is not running: the command says so, exit 1, no stack trace', (t) => {
  const state = tempDir(t);
  for (const args of [['approvals'], ['approvals', 'deny', 'x1'], ['gateway', 'unregister', '--sandbox', 'a']]) {
    const r = runCli([...args, '--state-dir', state]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^nemoclaw: gateway not reachable: ENOENT \(is it running\? nemoclaw gateway --detach\)\n$/);
    noStack(r.stderr);
  }
});

test('usage errors exit 2 through the same reporter', (t) => {
  const r = runCli(['gateway', 'reload', '--timeout', 'soon', '--state-dir', tempDir(t)]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'nemoclaw: --timeout must be a duration such as 10s\n');
});

// `nemoclaw init --yes` as a new user runs it: the OpenClaw image the package ships is really
// built (minutes on a cold cache: test/slow has a 30-minute timeout in scripts/test.mjs), the lock
// pins the digest the image store holds (the manifest digest for the embedded runtime; Docker's
// image id for docker, after init loaded it), and `explain` and a check-mode `compile` accept the
// files as written. The build cache is the one the other image tests share (sharedCacheDir), so a
// CI run builds the image once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { requireCapability } from '../helpers/capability.js';
import { dockerReachable } from '../helpers/busybox-image.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { aptAvailable, sharedCacheDir } from '../images/helpers.js';

const REF = 'nemoclaw/openclaw:2026.9.6';

function cli(args: string[], state: string): CliResult {
  return runCli(args, { env: { NEMOCLAW_STATE_DIR: state, NEMOCLAW_CACHE_DIR: sharedCacheDir() }, timeout: 25 * 60_000 });
}

interface ImageRow {
  ref: string | null;
  digest: string;
  config: string;
}

/** init --yes in a fresh directory and state; returns the lock's pin and what `image ls` shows for REF. */
function initBuilds(t: TestContext, runtime: 'process' | 'docker'): { pin: string; row: ImageRow; dir: string; state: string } {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const started = Date.now();
  const r = cli(['init', '--yes', '--dir', join(dir, 'agent'), '--runtime', runtime, '--name', 'helper'], state);
  t.diagnostic(`init --yes --runtime ${runtime}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /building the OpenClaw image from .*images\/openclaw/);
  assert.match(r.stderr, new RegExp(`built ${REF} sha256:[0-9a-f]{64}`));
  assert.match(r.stdout, /wrote .*nemoclaw\.yaml and .*nemoclaw\.lock \(valid\)/);
  assert.match(r.stdout, new RegExp(`Sandbox helper \\(${runtime} runtime, image nemoclaw/openclaw@sha256:[0-9a-f]{64}\\)`));
  const v = parse(readFileSync(join(dir, 'agent', 'nemoclaw.yaml'), 'utf8'));
  assert.equal(v.sandboxes.helper.blueprint, 'openclaw@2');
  assert.equal(v.sandboxes.helper.image, undefined);
  const lock = JSON.parse(readFileSync(join(dir, 'agent', 'nemoclaw.lock'), 'utf8'));
  assert.equal(lock.blueprints.openclaw.version, 2);
  const ls = cli(['image', 'ls', '--json'], state);
  assert.equal(ls.status, 0, ls.stderr);
  const row = (JSON.parse(ls.stdout) as ImageRow[]).find((i) => i.ref === REF);
  assert.ok(row, `image ls shows ${REF}: ${ls.stdout}`);
  return { pin: lock.images[REF], row, dir: join(dir, 'agent'), state };
}

function explainsAndCompiles(dir: string, state: string, digest: string): void {
  const file = join(dir, 'nemoclaw.yaml');
  const explain = cli(['explain', 'helper', '-f', file], state);
  assert.equal(explain.status, 0, explain.stderr);
  assert.match(explain.stdout, new RegExp(`image nemoclaw/openclaw@${digest}`));
  assert.match(explain.stdout, /aliases default → /);
  // The lock as written is current: a check-mode compile (what plan and apply do first) accepts it.
  const compile = cli(['compile', '-f', file, '--out', join(dir, 'out')], state);
  assert.equal(compile.status, 0, compile.stderr);
}

test('init --yes builds the OpenClaw image and the lock pins the manifest digest image ls shows (embedded runtime)', (t) => {
  const apt = aptAvailable();
  if (!requireCapability(t, apt.ok, apt.reason)) return;
  const { pin, row, dir, state } = initBuilds(t, 'process');
  assert.equal(pin, row.digest);
  explainsAndCompiles(dir, state, row.digest);
});

test('init --yes --runtime docker builds, loads the image into Docker, and the lock pins its image id', (t) => {
  const d = dockerReachable();
  const apt = aptAvailable();
  if (!requireCapability(t, d.ok && apt.ok, d.reason || apt.reason)) return;
  const { pin, row, dir, state } = initBuilds(t, 'docker');
  assert.equal(pin, row.config);
  const id = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', REF], { encoding: 'utf8' }).stdout.trim();
  assert.equal(id, row.config, 'Docker has the image init built, under its name');
  explainsAndCompiles(dir, state, row.config);
});

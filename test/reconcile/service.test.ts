// nemoclaw service install|uninstall|status: the systemd units pass `systemd-analyze verify`,
// the cron file's lines are well-formed and its command really runs (through flock), and
// uninstall removes exactly the files install wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const UNITS = ['nemoclaw-gateway.service', 'nemoclaw-reconcile.service', 'nemoclaw-reconcile.timer'];

test('service install writes units that systemd-analyze verify accepts; uninstall removes exactly them', (t) => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (!requireCapability(t, analyze.status === 0, 'systemd-analyze not installed (Debian package systemd)')) return;
  const dir = tempDir(t);
  const units = join(dir, 'units');
  mkdirSync(units);
  writeFileSync(join(units, 'other.service'), '[Service]\nExecStart=/bin/true\n');
  const state = join(dir, 'state');
  const r = runCli(['service', 'install', '--interval', '5m', '--unit-dir', units, '--state-dir', state]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /systemctl daemon-reload && systemctl enable --now nemoclaw-gateway\.service nemoclaw-reconcile\.timer/);
  assert.deepEqual(readdirSync(units).sort(), [...UNITS, 'other.service'].sort());

  const gw = readFileSync(join(units, 'nemoclaw-gateway.service'), 'utf8');
  assert.match(gw, /^Restart=always$/m);
  // The daemon's own Node flags and malloc setting, as `gateway --detach` starts it.
  assert.match(gw, new RegExp(`^ExecStart=\\S+ --max-semi-space-size=1 \\S+/bin/nemoclaw\\.js gateway --state-dir ${state}$`, 'm'));
  assert.match(gw, /^Environment=MALLOC_ARENA_MAX=2$/m);
  assert.doesNotMatch(gw, /ProtectHostname|ProtectControlGroups|RestrictNamespaces|MemoryDenyWriteExecute/);
  const timer = readFileSync(join(units, 'nemoclaw-reconcile.timer'), 'utf8');
  assert.match(timer, /^OnCalendar=\*-\*-\* \*:00\/5:00$/m);
  assert.match(timer, /^Persistent=true$/m);
  assert.match(timer, /^RandomizedDelaySec=60s$/m);
  assert.match(readFileSync(join(units, 'nemoclaw-reconcile.service'), 'utf8'), /^Type=oneshot$/m);

  const v = spawnSync('systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => join(units, u))], { encoding: 'utf8' });
  const ours = (v.stderr + v.stdout)
    .split('\n')
    .filter((l) => l.includes('nemoclaw-'))
    .join('\n');
  assert.equal(ours, '', `systemd-analyze verify complained:\n${v.stderr}`);
  assert.equal(v.status, 0, v.stderr);

  const st = runCli(['service', 'status', '--unit-dir', units]);
  assert.match(st.stdout, /nemoclaw-reconcile\.timer: installed/);

  const u = runCli(['service', 'uninstall', '--unit-dir', units]);
  assert.equal(u.status, 0, u.stderr);
  assert.deepEqual(readdirSync(units), ['other.service']);
});

test('service install --cron writes a well-formed cron.d file whose reconcile line runs under flock', (t) => {
  const dir = tempDir(t);
  const cron = join(dir, 'cron.d');
  mkdirSync(cron);
  const state = join(dir, 'state');
  const bad = runCli(['service', 'install', '--cron', '--interval', '7m', '--unit-dir', cron, '--state-dir', state]);
  assert.equal(bad.status, 2, 'cron cannot run every 7 minutes evenly');
  const r = runCli(['service', 'install', '--cron', '--interval', '10m', '--unit-dir', cron, '--state-dir', state]);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(join(cron, 'nemoclaw'), 'utf8');
  assert.ok(text.endsWith('\n'), 'cron ignores a last line without a newline');
  const field = /^(\*|\*\/\d+|\d+(-\d+)?(,\d+(-\d+)?)*)$/;
  const entries = text.split('\n').filter((l) => l && !l.startsWith('#') && !/^[A-Z_]+=/.test(l));
  assert.equal(entries.length, 2);
  for (const line of entries) {
    const parts = line.split(/\s+/);
    const timeFields = parts[0]!.startsWith('@') ? 1 : 5;
    if (timeFields === 5) for (const f of parts.slice(0, 5)) assert.match(f, field, `bad cron field in: ${line}`);
    else assert.equal(parts[0], '@reboot');
    assert.equal(parts[timeFields], 'root', 'cron.d lines name the user');
  }
  const tickLine = entries.find((l) => l.startsWith('*/10 * * * * root flock -n '))!;
  assert.ok(tickLine, text);
  assert.match(tickLine, / reconcile --once --state-dir \S+ >> \S+cron\.log 2>&1$/);

  // Run the command part as cron would: it takes the flock, runs reconcile (no source yet: a
  // usage error, exit 2) and appends to the log.
  mkdirSync(join(state, 'reconcile'), { recursive: true });
  const cmd = tickLine.split(/\s+/).slice(6).join(' ');
  const ran = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(ran.status, 2, ran.stderr);
  assert.match(readFileSync(join(state, 'reconcile', 'cron.log'), 'utf8'), /no source yet: give --source/);
  // While a tick holds the lock, the next one's flock -n gives up instead of piling up.
  const skip = spawnSync(
    'flock',
    ['-n', join(state, 'reconcile', 'cron.lock'), '/bin/sh', '-c', `flock -n ${join(state, 'reconcile', 'cron.lock')} true; echo $?`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(skip.stdout.trim(), '1', 'flock -n refuses while the lock is held');

  const u = runCli(['service', 'uninstall', '--cron', '--unit-dir', cron]);
  assert.equal(u.status, 0, u.stderr);
  assert.equal(existsSync(join(cron, 'nemoclaw')), false);
});

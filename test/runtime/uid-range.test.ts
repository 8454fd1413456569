// Break 4 of issue 14: as root, every sandbox runs under its own host id range, so per-uid kernel
// limits are its own. Two sandboxes side by side: different host uids (read from the host's
// /proc), one exhausting inotify instances does not affect the other, and the agent sees uid 1000.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSandbox, type RunningSandbox } from '../../src/runtime/process/start.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { allocateUidRange, findUidRange, FIRST_HOST_ID, freeUidRanges, RANGE_SIZE } from '../../src/state/uid-ranges.js';
import { requireCapability } from '../helpers/capability.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { compileYaml, requireProcessRuntime } from './process-fixture.js';

test('uid ranges: one per sandbox name, stable, never shared, freed on purge', (t) => {
  const state = tempDir(t);
  const a = allocateUidRange(state, 'a');
  const b = allocateUidRange(state, 'b');
  assert.equal(a.first, FIRST_HOST_ID);
  assert.equal(b.first, FIRST_HOST_ID + RANGE_SIZE);
  assert.deepEqual(allocateUidRange(state, 'a'), a, 'a sandbox keeps its range across starts');
  freeUidRanges(state, ['a']);
  assert.equal(findUidRange(state, 'a'), null);
  assert.deepEqual(findUidRange(state, 'b'), b, 'freeing one leaves the others');
  assert.equal(allocateUidRange(state, 'c').first, FIRST_HOST_ID, 'a freed range is reused only after purge');
  assert.equal(readFileSync(join(state, 'uid-ranges', '0'), 'utf8'), 'c');
});

test('uid ranges: found through the index by name; a state directory from before it, stale links and a purge', (t) => {
  const state = tempDir(t);
  const dir = join(state, 'uid-ranges');
  mkdirSync(dir);
  writeFileSync(join(dir, '0'), 'old');
  writeFileSync(join(dir, '1'), 'other');
  assert.deepEqual(findUidRange(state, 'old'), { index: 0, first: FIRST_HOST_ID }, 'records without the index are found');
  assert.equal(readlinkSync(join(dir, 'by-name', 'other')), '1', 'and indexed');
  assert.ok(existsSync(join(dir, 'by-name', '.complete')));

  symlinkSync('5', join(dir, 'by-name', 'ghost')); // a crash between the link and the record
  symlinkSync('1', join(dir, 'by-name', 'thief')); // a link to a record of another sandbox
  assert.equal(findUidRange(state, 'ghost'), null);
  assert.equal(findUidRange(state, 'thief'), null);
  assert.equal(allocateUidRange(state, 'ghost').index, 2, 'the lowest free range; the stale link replaced');
  assert.equal(allocateUidRange(state, 'thief').index, 3);
  assert.equal(readFileSync(join(dir, '1'), 'utf8'), 'other', 'the record of the other sandbox is untouched');

  const many = Array.from({ length: 40 }, (_, i) => `s${i}`).map((n) => [n, allocateUidRange(state, n).index] as const);
  assert.equal(new Set(many.map(([, i]) => i)).size, many.length, 'never shared');
  for (const [n, i] of many) assert.equal(findUidRange(state, n)?.index, i);
  freeUidRanges(state, ['s3', 'old']);
  assert.equal(findUidRange(state, 's3'), null);
  assert.ok(!existsSync(join(dir, 'by-name', 's3')));
  assert.equal(allocateUidRange(state, 'new').index, 0, 'freed ranges are reused, lowest first');
});

/** Host pids of every process under PID (children of children...). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) out.push(k, ...descendants(k));
  }
  return out;
}

function firstLine(sb: RunningSandbox): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    sb.child!.stdout?.setEncoding('utf8');
    sb.child!.stdout?.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.split('\n')[0] ?? '');
    });
    sb.child!.on('exit', () => reject(new Error(`exited before a line: ${buf}`)));
  });
}

test('as root, two sandboxes have their own host uids and their own inotify limit; the agent sees 1000', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  if (!requireCapability(t, process.getuid?.() === 0, 'per-sandbox host id ranges are used when nemoclaw runs as root')) return;
  const cc = spawnSync('cc', ['--version']);
  if (!requireCapability(t, cc.status === 0, 'a C compiler (cc) is needed to build the test program')) return;
  const dir = tempDir(t);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { mode: 0o755 });
  const prog = join(bin, 'inotify');
  const build = spawnSync('cc', ['-O1', '-static', '-o', prog, join(repoRoot, 'test/runtime/uid-range.inotify.c')], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  const max = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'));
  const yaml = `version: 1
sandboxes:
${['a', 'b']
  .map(
    (n) => `  ${n}:
    runtime: process
    command: [${prog}, one]
    workdir: /sandbox
    filesystem:
      read_only: [${bin}]
      read_write: [/tmp]
    process:
      limits: { pids: 16, nofile: ${max + 64} }
`,
  )
  .join('')}`;
  const a = await compileYaml(dir, yaml, 'a');
  const b = await compileYaml(dir, yaml, 'b');
  const state = join(dir, 'state');
  // Data from before ranges existed: host uid 1000. It is handed over to the range on start.
  const old = sandboxPaths(state, 'b').rwDir('/tmp');
  mkdirSync(old, { recursive: true });
  writeFileSync(join(old, 'earlier'), 'x');
  spawnSync('chown', ['-R', '1000:1000', old]);

  const hog = await startSandbox({ artifacts: a.artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'inherit'], command: [prog, 'hog'] });
  t.after(() => hog.stop(100));
  const [, taken, errno] = (await firstLine(hog)).split(' ');
  assert.equal(Number(errno), 24, 'EMFILE');
  assert.equal(Number(taken), max, 'the hog got every instance its uid may have (the fd limit is higher)');

  const other = await startSandbox({ artifacts: b.artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await firstLine(other);
  assert.equal((await other.wait()).code, 0);
  assert.equal(line, 'one 0 uid 1000 file 0', 'the other sandbox still gets an inotify instance; its agent is uid 1000 inside');

  const hostUid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const agent = descendants(hog.pid).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'inotify');
  assert.ok(agent, 'the hog agent is running');
  const uidA = hostUid(agent);
  assert.equal(uidA, hog.report.host_uid);
  assert.equal(hog.report.uid, 1000);
  const uidB = other.report.host_uid ?? -1;
  assert.ok(uidA >= FIRST_HOST_ID && uidB >= FIRST_HOST_ID, `${uidA} ${uidB}`);
  assert.equal(Math.abs(uidA - uidB), RANGE_SIZE, 'different ranges');
  // The data lives in b's own disk image (limits.disk) when the host can; read its owners there.
  const image = sandboxPaths(state, 'b').diskImage;
  const owner = (f: string) =>
    existsSync(image)
      ? Number(/User:\s+(\d+)/.exec(spawnSync('debugfs', ['-R', `stat /rw/tmp/${f}`, image], { encoding: 'utf8' }).stdout)?.[1])
      : lstatSync(join(old, f)).uid;
  for (const f of ['owned', 'earlier']) assert.equal(owner(f), uidB, `${f} is owned by b's host uid`);
});

// bench/apply-scale: apply at scale on a real host (embedded runtime, root). In one run:
//   - create 10 sandboxes (CLI apply, settle 0), then destroy --all;
//   - create 100 the same way, then destroy --all of the 100.
// Targets (issue 15): create 100 ≤ 4× create 10; destroy --all of 100 ≤ 1.5 s.
// Needs root and the embedded runtime; cleans up.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stopGateway } from '../src/daemon/client.js';
import { probeHost } from '../src/runtime/process/host.js';
import { packageRoot } from '../src/util/package-paths.js';

const bin = join(packageRoot, 'bin', 'nemoclaw.js');

function yaml(n: number): string {
  const out = ['version: 1', 'sandboxes:'];
  for (let i = 0; i < n; i++) {
    out.push(
      `  s${i}:`,
      '    command: [/bin/sh, -c, "while true; do sleep 5; done"]',
      '    filesystem: { read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }',
      '    process: { limits: { pids: 16, nofile: 64 } }',
      `    network: { egress: [ { name: local, endpoints: [ { host: localhost, port: 9, protocol: http } ] } ] }`,
    );
  }
  return out.join('\n') + '\n';
}

/** Wall time of one CLI call; a failure is noted on the row (its time still counts), not hidden. */
function cli(args: string[]): { ms: number; note: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', NEMOCLAW_SETTLE: '0' } });
  const ms = performance.now() - t0;
  const last = r.stderr.trim().split('\n').slice(-2).join(' / ');
  return { ms, note: r.status === 0 ? '' : `  [exit ${r.status}: ${last.slice(0, 160)}]` };
}
const row = (label: string, r: { ms: number; note: string }, tail = '') =>
  console.log(`${label.padEnd(30)}${r.ms.toFixed(0).padStart(6)} ms${tail}${r.note}`);

async function main(): Promise<void> {
  const h = await probeHost();
  if (!h.kernel || h.kernel.landlock_abi < 4 || !h.libseccomp.ok || process.getuid?.() !== 0) {
    console.log(`skipped: needs root and the embedded runtime (${h.probeError ?? 'kernel lacks Landlock/seccomp'})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-scale-'));
  const state = join(dir, 'state');
  try {
    const round = (n: number) => {
      const file = join(dir, 'nemoclaw.yaml'); // one source: the state directory follows it
      writeFileSync(file, yaml(n));
      const c = cli(['compile', '-f', file, '--update-lock', '--out', join(dir, `out${n}`)]);
      if (c.note) throw new Error(`compile failed${c.note}`);
      // The settle wait is a fixed delay, not work: off (through the environment, which every
      // version read; `--settle 0` was refused before issue 15).
      const create = cli(['apply', '-f', file, '--auto-approve', '--state-dir', state]);
      const destroy = cli(['destroy', '--all', '--auto-approve', '--state-dir', state]);
      return { create, destroy };
    };
    round(2); // warm: the gateway starts, the page cache fills
    const ten = round(10);
    const hundred = round(100);
    row('create 10 (CLI apply):', ten.create);
    row('create 100 (CLI apply):', hundred.create, `   → 100/10 ${(hundred.create.ms / ten.create.ms).toFixed(1)}x (target ≤ 4x)`);
    row('destroy --all of 10:', ten.destroy);
    row('destroy --all of 100:', hundred.destroy, '   (target ≤ 1500 ms)');
  } finally {
    spawnSync(process.execPath, [bin, 'uninstall', '--yes', '--state-dir', state]);
    await stopGateway(state).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// bench/startup: CLI start-up where people feel it. Each command is timed in interleaved pairs
// with its baseline, `node -e 0` (Node's own start-up), so load on the machine hits both alike;
// the figure is the ratio of medians. Targets (issue 15): --version ≤ 1.15×, validate and lint of
// the quickstart ≤ 1.4× `node -e 0`; `run <sandbox> -- /bin/true` with the gateway running ≤ 2×
// (that row needs root and the embedded runtime).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureGateway, stopGateway } from '../src/daemon/client.js';
import { probeHost } from '../src/runtime/process/host.js';
import { examplesDir, packageRoot } from '../src/util/package-paths.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const bin = join(packageRoot, 'bin', 'nemoclaw.js');
const quickstart = join(examplesDir, 'quickstart', 'nemoclaw.yaml');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const cases: [string, string[], number][] = [
  ['nemoclaw --version', [bin, '--version'], 1.15],
  ['nemoclaw validate (quickstart)', [bin, 'validate', '-f', quickstart], 1.4],
  ['nemoclaw lint (quickstart)', [bin, 'lint', '-f', quickstart], 1.4],
];

// `run`: a sandbox of the quickstart's shape, its lock written, the gateway started beforehand.
const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-startup-'));
const state = join(dir, 'state');
const host = await probeHost();
const canRun = !!host.kernel && host.kernel.landlock_abi >= 4 && host.libseccomp.ok && process.getuid?.() === 0;
if (canRun) {
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'sandboxes:',
      '  bench:',
      '    command: [/bin/true]',
      '    filesystem: { read_only: [/usr, /bin, /lib, /lib64, /etc], read_write: [/tmp] }',
      '    network: { egress: [ { name: example, endpoints: [ { host: example.com, port: 443 } ] } ] }',
      '',
    ].join('\n'),
  );
  wall([bin, 'compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]);
  await ensureGateway(state);
  cases.push(['nemoclaw run bench -- /bin/true', [bin, 'run', 'bench', '-f', file, '--state-dir', state, '--', '/bin/true'], 2]);
} else console.log('run row skipped: needs root and the embedded runtime');

try {
  for (const [name, args, target] of cases) {
    const base: number[] = [];
    const cmd: number[] = [];
    wall(args); // warm the page cache
    for (let i = 0; i < ROUNDS; i++) {
      base.push(wall(['-e', '0']));
      cmd.push(wall(args));
    }
    const ratio = median(cmd) / median(base);
    console.log(
      `${name.padEnd(32)} ${median(cmd).toFixed(0).padStart(4)} ms   node -e 0: ${median(base).toFixed(0).padStart(3)} ms   ` +
        `ratio ${ratio.toFixed(2)}x (target ≤ ${target}x)`,
    );
  }
} finally {
  if (canRun) await stopGateway(state).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

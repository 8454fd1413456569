// bench/plan: the reconciler on a real host. 50 running process sandboxes, then
//   - a no-op plan: in process (observe + pure plan, given the compiled blueprints), the compile
//     it needs, and the `nemoclaw plan` CLI wall time; baseline in the same run: `nemoclaw --version`
//     (CLI start-up alone);
//   - a pure egress change applied end to end (reload) vs a read_write change (replace), CLI wall.
// Targets: no-op plan ≤ 1.5× `nemoclaw --version` (issue 15), measured as interleaved pairs; reload < 1 s. Needs root and the embedded runtime; cleans up.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stopGateway } from '../src/daemon/client.js';
import { desiredFromFile, makePlan } from '../src/reconciler/reconcile.js';
import { StateStore } from '../src/state/store.js';
import { probeHost } from '../src/runtime/process/host.js';
import { packageRoot } from '../src/util/package-paths.js';

const N = 50;
const bin = join(packageRoot, 'bin', 'nemoclaw.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function yaml(egressPort: number, extraRw: boolean): string {
  const out = ['version: 1', 'sandboxes:'];
  for (let i = 0; i < N; i++) {
    out.push(
      `  s${i}:`,
      '    command: [/bin/sh, -c, "while true; do sleep 5; done"]',
      `    filesystem: { read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp${extraRw && i === 0 ? ', /data' : ''}] }`,
      '    process: { limits: { pids: 16, nofile: 64 } }',
      `    network: { egress: [ { name: local, endpoints: [ { host: localhost, port: ${i === 0 ? egressPort : 9}, protocol: http } ] } ] }`,
    );
  }
  return out.join('\n') + '\n';
}

function cli(args: string[]): { ms: number; status: number | null; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { ms: performance.now() - t0, status: r.status, stderr: r.stderr };
}

async function main(): Promise<void> {
  const h = await probeHost();
  if (!h.kernel || h.kernel.landlock_abi < 4 || !h.libseccomp.ok || process.getuid?.() !== 0) {
    console.log(`skipped: needs root and the embedded runtime (${h.probeError ?? 'kernel lacks Landlock/seccomp'})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-plan-'));
  const file = join(dir, 'nemoclaw.yaml');
  const state = join(dir, 'state');
  const write = (y: string) => {
    writeFileSync(file, y);
    const r = cli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]);
    if (r.status !== 0) throw new Error(r.stderr);
  };
  try {
    write(yaml(9, false));
    const create = cli(['apply', '-f', file, '--auto-approve', '--state-dir', state]);
    if (create.status !== 0) throw new Error(`apply failed: ${create.stderr}`);
    console.log(`create ${N} sandboxes (CLI apply):       ${create.ms.toFixed(0)} ms`);

    const store = new StateStore(state);
    const compileMs: number[] = [];
    const planMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t0 = performance.now();
      const desired = await desiredFromFile(file);
      compileMs.push(performance.now() - t0);
      t0 = performance.now();
      const p = await makePlan(store, desired);
      planMs.push(performance.now() - t0);
      if (p.changes) throw new Error('expected a no-op plan');
    }
    // Interleaved pairs, so that the machine's load moves both alike; the first plan (which
    // remembers its compile, see desired-cache.ts) and a settle second are not counted.
    const planOnce = () => {
      const r = cli(['plan', '-f', file, '--detailed-exitcode', '--state-dir', state]);
      if (r.status !== 0) throw new Error(`no-op plan exited ${r.status}: ${r.stderr}`);
      return r.ms;
    };
    planOnce();
    await new Promise((r) => setTimeout(r, 1000));
    const version: number[] = [];
    const planCli: number[] = [];
    for (let i = 0; i < 11; i++) {
      version.push(cli(['--version']).ms);
      planCli.push(planOnce());
    }
    const base = median(version);
    console.log(`no-op plan, ${N} running: observe + plan (in process)  ${median(planMs).toFixed(1)} ms`);
    console.log(`no-op plan, ${N} running: compile the config (in process) ${median(compileMs).toFixed(1)} ms`);
    console.log(`no-op plan, ${N} running: nemoclaw plan (CLI wall, median of 11)  ${median(planCli).toFixed(0)} ms`);
    console.log(
      `baseline: nemoclaw --version (CLI start-up, interleaved)   ${base.toFixed(0)} ms   → plan/baseline ${(median(planCli) / base).toFixed(2)}x (target ≤ 1.5x)`,
    );

    write(yaml(10, false));
    const reload = cli(['apply', '-f', file, '--auto-approve', '--state-dir', state]);
    if (reload.status !== 0) throw new Error(reload.stderr);
    write(yaml(10, true));
    const replace = cli(['apply', '-f', file, '--auto-approve', '--state-dir', state]);
    if (replace.status !== 0) throw new Error(replace.stderr);
    const steps = (s: string) =>
      s
        .split('\n')
        .filter((l) => /^\[/.test(l))
        .join('; ');
    console.log(`egress change applied (reload, CLI wall):  ${reload.ms.toFixed(0)} ms   (target < 1 s)  [${steps(reload.stderr)}]`);
    console.log(
      `read_write change applied (replace, CLI):  ${replace.ms.toFixed(0)} ms   → replace/reload ${(replace.ms / reload.ms).toFixed(1)}x  [${steps(replace.stderr)}]`,
    );
  } finally {
    cli(['uninstall', '--yes', '--state-dir', state]);
    await stopGateway(state).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// bench/reconcile: the GitOps loop on a real host with 50 running process sandboxes, following a
// local bare repository of SSH-signed commits.
//   - a tick with no new commit and nothing to do (`reconcile --once`: fetch, verify, checkout,
//     compile, observe, plan), CLI wall, beside `nemoclaw plan` on the same config and
//     `nemoclaw --version` (CLI start-up), all in this run;
//   - a signed one-rule egress change: from `git push` done to the tick that reloaded the policy
//     (the gateway acknowledged it) returning.
// Targets: no-op tick < 500 ms; push → reload acknowledged < 1.5 s plus the fetch.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stopGateway } from '../src/daemon/client.js';
import { probeHost } from '../src/runtime/process/host.js';
import { packageRoot } from '../src/util/package-paths.js';

const N = 50;
const bin = join(packageRoot, 'bin', 'nemoclaw.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' };

function yaml(port: number): string {
  const out = ['version: 1', 'sandboxes:'];
  for (let i = 0; i < N; i++) {
    out.push(
      `  s${i}:`,
      '    command: [/bin/sh, -c, "while true; do sleep 5; done"]',
      '    filesystem: { read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }',
      '    process: { limits: { pids: 16, nofile: 64 } }',
      `    network: { egress: [ { name: local, endpoints: [ { host: localhost, port: ${i === 0 ? port : 9}, protocol: http } ] } ] }`,
    );
  }
  return out.join('\n') + '\n';
}

function cli(args: string[]): { ms: number; status: number | null; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { ms: performance.now() - t0, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function main(): Promise<void> {
  const h = await probeHost();
  if (!h.kernel || h.kernel.landlock_abi < 4 || !h.libseccomp.ok || process.getuid?.() !== 0) {
    console.log(`skipped: needs root and the embedded runtime (${h.probeError ?? 'kernel lacks Landlock/seccomp'})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-reconcile-'));
  const state = join(dir, 'state');
  const remote = join(dir, 'remote.git');
  const work = join(dir, 'work');
  const key = join(dir, 'key');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: gitEnv, encoding: 'utf8' });
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
    const signers = join(dir, 'allowed_signers');
    writeFileSync(signers, `bench@x ${readFileSync(`${key}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
    mkdirSync(work);
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', work]);
    git('config', 'gpg.format', 'ssh');
    git('config', 'user.signingkey', key);
    const commit = (y: string) => {
      writeFileSync(join(work, 'nemoclaw.yaml'), y);
      const c = cli(['compile', '-f', join(work, 'nemoclaw.yaml'), '--update-lock', '--out', join(dir, 'out')]);
      if (c.status !== 0) throw new Error(c.stderr);
      git('add', 'nemoclaw.yaml', 'nemoclaw.lock');
      git('commit', '--quiet', '-S', '-m', 'change');
      git('push', '--quiet', remote, 'HEAD:main');
    };

    commit(yaml(9));
    const first = cli(['reconcile', '--once', '--source', remote, '--allowed-signers', signers, '--state-dir', state]);
    if (first.status !== 0) throw new Error(`first tick failed: ${first.stdout}${first.stderr}`);
    console.log(`first tick: create ${N} sandboxes (incl. settle):  ${first.ms.toFixed(0)} ms`);

    // Interleaved triples, so that the machine's load moves all three alike.
    const version: number[] = [];
    const inProcess: number[] = [];
    const tick: number[] = [];
    const plan: number[] = [];
    for (let i = 0; i < 7; i++) {
      version.push(cli(['--version']).ms);
      const r = cli(['reconcile', '--once', '--state-dir', state]);
      if (r.status !== 0 || !/nothing to do/.test(r.stdout)) throw new Error(`no-op tick: ${r.stdout}${r.stderr}`);
      tick.push(r.ms);
      // The tick's own wall time (without CLI start-up), as status.json records it.
      const d = (JSON.parse(readFileSync(join(state, 'reconcile', 'status.json'), 'utf8')) as { last_duration_ms?: number })
        .last_duration_ms;
      if (typeof d === 'number') inProcess.push(d);
      const p = cli(['plan', '-f', join(work, 'nemoclaw.yaml'), '--detailed-exitcode', '--state-dir', state]);
      if (p.status !== 0) throw new Error(`no-op plan exited ${p.status}: ${p.stderr}`);
      plan.push(p.ms);
    }
    const base = median(version);
    console.log(`no-op tick, ${N} running: reconcile --once (CLI wall)  ${median(tick).toFixed(0)} ms   (target < 500 ms)`);
    if (inProcess.length) console.log(`  of which the tick itself (status.json last_duration_ms)  ${median(inProcess).toFixed(0)} ms`);
    console.log(
      `baseline: nemoclaw plan, same config (CLI wall)        ${median(plan).toFixed(0)} ms   → tick/plan ${(median(tick) / median(plan)).toFixed(2)}x`,
    );
    console.log(
      `baseline: nemoclaw --version (CLI start-up)            ${base.toFixed(0)} ms   → tick/start-up ${(median(tick) / base).toFixed(2)}x`,
    );

    commit(yaml(10));
    const reload = cli(['reconcile', '--once', '--state-dir', state]);
    if (reload.status !== 0 || !/reload s0/.test(reload.stdout)) throw new Error(`reload tick: ${reload.stdout}${reload.stderr}`);
    console.log(`signed one-rule change, push → reload acknowledged:   ${reload.ms.toFixed(0)} ms   (target < 1.5 s + fetch)`);
  } finally {
    cli(['uninstall', '--yes', '--state-dir', state]);
    await stopGateway(state).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

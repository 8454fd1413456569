// Start-up cost of the embedded runtime. In one run, the median wall time of:
//   (a) bare /bin/true                                   (baseline: what spawning costs at all)
//   (b) nemoclaw-init running /bin/true under a full policy (namespaces, pivot_root, relay,
//       cgroups, Landlock, seccomp: exactly what `run` hands it)
//   (c) bwrap --unshare-all --ro-bind / / /bin/true      (reference sandbox)
//   (d) nemoclaw run … -- /bin/true                      (end to end: node, compile, start)
// Target: (b) − (a) ≤ (c) − (a). Usage: node dist/bench/start.js [iterations]
import { spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadCompile } from '../src/pipeline/pipeline.js';
import { initBinary, packageRoot } from '../src/util/package-paths.js';
import { createCgroups } from '../src/runtime/process/cgroup.js';
import { probeHost } from '../src/runtime/process/host.js';
import { sandboxPaths } from '../src/state/sandbox-layout.js';
import { buildInitSpec } from '../src/init-protocol/spec.js';
import { compileSeccompBpf } from '../src/runtime/seccomp-bpf.js';
import { prepareDisk } from '../src/runtime/process/disk.js';
import { preflight } from '../src/runtime/process/preflight.js';
import { allocateUidRange } from '../src/state/uid-ranges.js';

const N = Number(process.argv[2] ?? 40);
const root = packageRoot;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function time(label: string, n: number, run: () => number | null): number {
  const ms: number[] = [];
  run(); // warm-up: page cache, dynamic loader
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const status = run();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (status !== 0) throw new Error(`${label}: exit status ${status}`);
  }
  const m = median(ms);
  console.log(`${label.padEnd(48)} median ${m.toFixed(2).padStart(8)} ms  (n=${n})`);
  return m;
}

const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-'));
try {
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(
    file,
    `version: 1
sandboxes:
  bench:
    runtime: process
    command: [/bin/true]
    workdir: /sandbox
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64, /etc]
      read_write: [/tmp]
    network:
      egress:
        - name: example
          endpoints: [{ host: example.com, port: 443 }]
`,
  );
  const compiled = (await loadCompile(file, 'update')).output.sandboxes[0]!;
  const host = await probeHost();
  const state = join(dir, 'state');
  const paths = sandboxPaths(state, 'bench');
  const { sandbox, landlock, seccomp } = compiled.artifacts;
  // As `run` does: as root, the sandbox's own host id range and its own disk image (limits.disk).
  const asRoot = process.getuid?.() === 0;
  const idmap = asRoot ? allocateUidRange(state, 'bench').first : null;
  const owner = idmap === null ? sandbox.user : { uid: idmap + sandbox.user.uid, gid: idmap + sandbox.user.gid };
  const ownDisk = preflight({ sandbox, landlock }, host).ownDisk;
  const rwDirs: Record<string, string> = {};
  spawnSync('mkdir', ['-p', paths.rootMount, dirname(paths.gatewaySocket), paths.diskMount]);
  if (ownDisk) await prepareDisk(paths.diskImage, sandbox.limits.disk_bytes, join(paths.dir, 'rw'), owner);
  for (const m of sandbox.mounts)
    if (m.mode === 'rw') {
      if (ownDisk) rwDirs[m.target] = paths.diskRwDir(m.target);
      else {
        const rw = (rwDirs[m.target] = paths.rwDir(m.target));
        spawnSync('mkdir', ['-p', rw]);
        if (asRoot) spawnSync('chown', [`${owner.uid}:${owner.gid}`, rw]);
      }
    }
  const cg = createCgroups('bench', sandbox.limits, host.cgroups);
  const specFile = join(dir, 'spec');
  const bpfFile = join(dir, 'bpf');
  writeFileSync(
    specFile,
    buildInitSpec({
      sandbox,
      landlock,
      rootDir: paths.rootMount,
      rwDirs,
      idmap,
      disk: ownDisk ? { image: paths.diskImage, mount: paths.diskMount } : null,
      gatewaySocket: paths.gatewaySocket,
      cgroups: { pids: cg.pids, memory: cg.memory },
    }),
  );
  writeFileSync(bpfFile, compileSeccompBpf(seccomp).bpf);
  const lock = spawnSync(
    process.execPath,
    [join(root, 'bin/nemoclaw.js'), 'compile', '-f', file, '--update-lock', '--out', join(dir, 'out')],
    { encoding: 'utf8' },
  );
  if (lock.status !== 0) throw new Error(`compile --update-lock failed: ${lock.stderr}`);

  const a = time('(a) /bin/true', N, () => spawnSync('/bin/true').status);
  const b = time('(b) nemoclaw-init, full policy, /bin/true', N, () => {
    const fds = [openSync(specFile, 'r'), openSync(bpfFile, 'r'), openSync('/dev/null', 'w')];
    const r = spawnSync(initBinary, [], { stdio: ['ignore', 'ignore', 'inherit', ...fds] as StdioOptions, env: {} });
    fds.forEach(closeSync);
    return r.status;
  });
  const hasBwrap = existsSync('/usr/bin/bwrap');
  const c = hasBwrap
    ? time(
        '(c) bwrap --unshare-all --ro-bind / / /bin/true',
        N,
        () => spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', '/bin/true']).status,
      )
    : NaN;
  const d = time(
    '(d) nemoclaw run bench -- /bin/true',
    Math.max(5, Math.floor(N / 4)),
    () =>
      spawnSync(process.execPath, [join(root, 'bin/nemoclaw.js'), 'run', 'bench', '-f', file, '--state-dir', state, '--', '/bin/true'], {
        stdio: 'ignore',
      }).status,
  );
  await cg.remove();

  console.log('');
  console.log(`init overhead (b)-(a):      ${(b - a).toFixed(2)} ms`);
  if (hasBwrap) {
    console.log(`bwrap overhead (c)-(a):     ${(c - a).toFixed(2)} ms`);
    console.log(`ratio (b-a)/(c-a):          ${((b - a) / (c - a)).toFixed(2)}  (target <= 1: ${b - a <= c - a ? 'met' : 'NOT met'})`);
  } else console.log('bwrap not installed: (c) skipped');
  console.log(`end to end (d)/(b):         ${(d / b).toFixed(1)}x  (node start-up + compile + preflight)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

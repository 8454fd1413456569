// Integration tests of the embedded runtime on the real kernel: exit codes, stopping, the
// enforcement report, the relay to the gateway, persistence, and failing closed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/util/errors.js';
import { probeHost } from '../../src/runtime/process/host.js';
import { FIRST_HOST_ID } from '../../src/state/uid-ranges.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { startSandbox, type RunningSandbox } from '../../src/runtime/process/start.js';
import { nemoclawBin, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { BASE_YAML, compileYaml, requireProcessRuntime } from './process-fixture.js';

function collect(sb: RunningSandbox): { out: () => string; err: () => string } {
  let out = '',
    err = '';
  sb.child!.stdout?.on('data', (d) => {
    out += d;
  });
  sb.child!.stderr?.on('data', (d) => {
    err += d;
  });
  return { out: () => out, err: () => err };
}

/** Host pids descending from PID (walks /proc). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('run: exit code, stdout and the summary line through the CLI', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  await compileYaml(dir, BASE_YAML('exitcode'), 'exitcode');
  const file = join(dir, 'nemoclaw.yaml');
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  const r = runCli(['run', 'exitcode', '-f', file, '--state-dir', join(dir, 'state'), '--', '/bin/sh', '-c', 'echo out-$((6*7)); exit 42']);
  assert.equal(r.status, 42, r.stderr);
  assert.equal(r.stdout, 'out-42\n');
  assert.match(r.stderr, /^exitcode: Landlock ABI \d+ \+ seccomp \(\d+ rules\) \+ (userns\/)?netns\/pidns\/mntns; pids<=64/m);
  assert.match(r.stderr, /network: none/);
  const d = runCli(['run', 'exitcode', '-f', file, '--state-dir', join(dir, 'state')]);
  assert.equal(d.status, 0, d.stderr);
  const missing = runCli(['run', 'nope', '-f', file, '--state-dir', join(dir, 'state')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no sandbox "nope" .*sandboxes: exitcode/);
});

test('run: SIGTERM to nemoclaw stops the whole sandbox; no process survives', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  await compileYaml(dir, BASE_YAML('term'), 'term');
  const file = join(dir, 'nemoclaw.yaml');
  assert.equal(runCli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]).status, 0);
  const cli = spawn(
    process.execPath,
    [
      nemoclawBin,
      'run',
      'term',
      '-f',
      file,
      '--state-dir',
      join(dir, 'state'),
      '--',
      '/bin/sh',
      '-c',
      'trap "" TERM; sleep 1000 & sleep 1000 & echo started; wait',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  cli.stdout.on('data', (d) => {
    out += d;
  });
  await until(() => out.includes('started'));
  const pids = descendants(cli.pid as number);
  assert.ok(pids.length >= 4, `expected init, pid 1, the shell and two sleeps, got ${pids}`);
  const code = new Promise<number | null>((r) => cli.on('exit', (c) => r(c)));
  cli.kill('SIGTERM');
  // The shell ignores SIGTERM: the runtime escalates to SIGKILL after its grace period.
  assert.equal(await code, 137);
  await until(() => pids.every((p) => !alive(p)));
});

test('startSandbox: the report states what the kernel enforces, and the kernel agrees', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(
    dir,
    BASE_YAML(
      'report',
      `    network:
      egress:
        - name: example
          endpoints: [{ host: example.com, port: 443 }]
`,
    ),
    'report',
  );
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: join(dir, 'state'),
    stdio: ['ignore', 'pipe', 'pipe'],
    command: [
      '/bin/sh',
      '-c',
      'grep -E "^(NoNewPrivs|Seccomp|CapEff|CapBnd|Uid):" /proc/self/status; hostname 2>/dev/null || cat /proc/sys/kernel/hostname',
    ],
  });
  const io = collect(sb);
  const { code } = await sb.wait();
  assert.equal(code, 0, io.err());
  const host = await probeHost();
  const r = sb.report;
  assert.equal(r.ok, true);
  assert.equal(r.sandbox, 'report');
  for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts']) assert.ok(r.namespaces.includes(ns), ns);
  // Always a user namespace: unprivileged, the caller's uid only; as root, the sandbox's own id range.
  assert.ok(r.namespaces.includes('user'));
  if (host.kernel?.root) assert.ok((r.host_uid ?? 0) >= FIRST_HOST_ID && r.host_uid !== r.uid, `host uid ${r.host_uid}`);
  assert.equal(r.landlock.abi, host.kernel?.landlock_abi);
  assert.equal(r.landlock.enforced, true);
  assert.deepEqual(r.landlock.handled_net, ['bind_tcp', 'connect_tcp']);
  assert.ok(r.landlock.handled_fs.includes('execute') && r.landlock.handled_fs.includes('write_file'));
  assert.equal(r.landlock.net_rules, 1);
  assert.equal(r.landlock.path_rules, s.artifacts.landlock.path_rules.length - r.landlock.skipped_rules);
  assert.equal(`sha256:${r.seccomp.sha256}`, sb.seccomp.digest, 'the init loaded exactly the filter the host compiled');
  assert.ok(r.seccomp.instructions > 10);
  assert.deepEqual([r.uid, r.gid, r.no_new_privs, r.capabilities], [1000, 1000, true, 'none']);
  assert.deepEqual(r.network, { loopback: true, relay: true, proxy_port: 3128 });
  assert.equal(sb.gateway?.running, false);
  // Cross-check with the kernel's view of the agent.
  const status = io.out();
  assert.match(status, /^NoNewPrivs:\s+1$/m);
  assert.match(status, /^Seccomp:\s+2$/m);
  assert.match(status, /^CapEff:\s+0+$/m);
  assert.match(status, /^CapBnd:\s+0+$/m);
  assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
  assert.match(status, /^report$/m);
});

test("relay: 127.0.0.1:3128 inside reaches this sandbox's gateway socket; no gateway means no network", async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(
    dir,
    BASE_YAML(
      'relay',
      `    network:
      egress:
        - name: example
          endpoints: [{ host: example.com, port: 443 }]
`,
    ),
    'relay',
  );
  const state = join(dir, 'state');
  const sock = sandboxPaths(state, 'relay').gatewaySocket;
  mkdirSync(dirname(sock), { recursive: true });
  const cmd = ['/usr/bin/bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/3128 || exit 9; echo ping >&3; read -r line <&3; echo "got:$line"'];
  const noGw = await startSandbox({ artifacts: s.artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'pipe'], command: cmd });
  const io0 = collect(noGw);
  await noGw.wait();
  assert.equal(io0.out(), 'got:\n', 'without a gateway the connection closes: no network');

  const server = createServer((c) => c.once('data', (d) => c.end(`gateway-saw:${String(d).trim()}\n`)));
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => server.close());
  const sb = await startSandbox({ artifacts: s.artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'pipe'], command: cmd });
  const io = collect(sb);
  assert.equal((await sb.wait()).code, 0, io.err());
  assert.equal(io.out(), 'got:gateway-saw:ping\n');
  assert.equal(sb.gateway?.running, true);
});

test('relay: 16 MiB each way at once arrive byte-exact, and a half-close from inside is carried', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const nodeDir = dirname(realpathSync(process.execPath));
  const s = await compileYaml(
    dir,
    BASE_YAML(
      'bulk',
      `    network:
      egress:
        - name: example
          endpoints: [{ host: example.com, port: 443 }]
`,
    ).replace('read_only: [/usr, /bin, /lib, /lib64]', `read_only: [/usr, /bin, /lib, /lib64, ${JSON.stringify(nodeDir)}]`),
    'bulk',
  );
  const state = join(dir, 'state');
  const sock = sandboxPaths(state, 'bulk').gatewaySocket;
  mkdirSync(dirname(sock), { recursive: true });
  // Stands in for the gateway: echoes everything, and ends after the sandbox's FIN.
  const server = createServer({ allowHalfOpen: true }, (c) => c.pipe(c));
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => server.close());
  // Inside: write 16 MiB in odd-sized pieces while reading the echo, then end(); print both digests.
  const script = `
    const { createHash } = require('node:crypto');
    const s = require('node:net').connect(3128, '127.0.0.1');
    const sent = createHash('sha256'), got = createHash('sha256');
    let n = 0, seed = Buffer.from('nemoclaw');
    s.on('data', (c) => { got.update(c); n += c.length; });
    s.on('end', () => console.log(sent.digest('hex'), got.digest('hex'), n));
    setTimeout(() => { console.error('no EOF within 60 s: the half-close was not carried'); process.exit(3); }, 60_000).unref();
    (async () => {
      for (let total = 0; total < 16 * 2 ** 20;) {
        seed = createHash('sha256').update(seed).digest();
        const piece = Buffer.alloc(40_000 + (total % 30_011), seed);
        sent.update(piece);
        total += piece.length;
        if (!s.write(piece)) await new Promise((r) => s.once('drain', r));
      }
      s.end();
    })();`;
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', 'pipe', 'pipe'],
    command: [process.execPath, '-e', script],
  });
  const io = collect(sb);
  assert.equal((await sb.wait()).code, 0, io.err());
  const [sent, got, n] = io.out().trim().split(' ');
  assert.ok(Number(n) >= 16 * 2 ** 20, `echoed ${n} bytes`);
  assert.equal(got, sent, 'what came back through the relay is what went out');
});

test('rw paths persist across restarts of the sandbox', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, BASE_YAML('persist'), 'persist');
  const state = join(dir, 'state');
  const one = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: 'ignore',
    command: ['/bin/sh', '-c', 'echo kept > /sandbox/f'],
  });
  assert.equal((await one.wait()).code, 0);
  const two = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', 'pipe', 'pipe'],
    command: ['/bin/cat', '/sandbox/f'],
  });
  const io = collect(two);
  await two.wait();
  assert.equal(io.out(), 'kept\n');
  const paths = sandboxPaths(state, 'persist');
  if (two.report.disk === 'own_filesystem') {
    // On the sandbox's own file system (limits.disk): read it from the image, which the host never mounts.
    const r = spawnSync('debugfs', ['-R', 'cat /rw/sandbox/f', paths.diskImage], { encoding: 'utf8' });
    assert.equal(r.stdout, 'kept\n', r.stderr);
    assert.equal(existsSync(paths.rwDir('/sandbox')), false);
  } else assert.equal(readFileSync(join(paths.rwDir('/sandbox'), 'f'), 'utf8'), 'kept\n');
});

test('fail closed: a Landlock floor of 8 is refused before anything starts, and by the init itself', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, BASE_YAML('floor'), 'floor');
  const landlock = { ...s.artifacts.landlock, abi_floor: 8 };
  const marker = '/sandbox/agent-ran';
  const artifacts = { ...s.artifacts, landlock };
  const state = join(dir, 'state');
  await assert.rejects(
    startSandbox({ artifacts, stateDir: state, stdio: 'ignore', command: ['/bin/touch', marker] }),
    (e: unknown) => e instanceof UserError && /landlock: the config requires Landlock ABI >= 8/.test(e.message),
  );
  assert.equal(existsSync(sandboxPaths(state, 'floor').dir), false, 'preflight refused before creating anything');
  // Lie to the preflight: the init must still refuse on its own, before the agent runs.
  const host = await probeHost();
  const liar = { ...host, kernel: { ...host.kernel!, landlock_abi: 8 } };
  await assert.rejects(
    startSandbox({ artifacts, stateDir: state, stdio: 'ignore', command: ['/bin/touch', marker], host: liar }),
    (e: unknown) =>
      e instanceof UserError &&
      e.exitCode === 125 &&
      /refused to start: landlock: kernel offers Landlock ABI \d, the policy requires at least 8/.test(e.message),
  );
  assert.equal(existsSync(join(sandboxPaths(state, 'floor').rwDir('/sandbox'), 'agent-ran')), false, 'the agent never ran');
});

test('offThread: started from a worker thread (as the daemon does), the same report, output, exit and stop; a refusal is one', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, BASE_YAML('worker'), 'worker');
  const state = join(dir, 'state');
  const log = join(dir, 'out.log');
  const fd = openSync(log, 'a');
  t.after(() => closeSync(fd));
  // A fast exit: the exit may be seen before the report is read, which must still count.
  const quick = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', fd, fd],
    command: ['/bin/sh', '-c', 'echo hello'],
    offThread: true,
  });
  assert.equal(quick.child, undefined);
  assert.equal(quick.report.ok, true);
  assert.equal(quick.report.sandbox, 'worker');
  assert.equal((await quick.wait()).code, 0);
  assert.equal(readFileSync(log, 'utf8'), 'hello\n');

  const long = await startSandbox({
    artifacts: s.artifacts,
    stateDir: state,
    stdio: ['ignore', fd, fd],
    command: ['/bin/sh', '-c', 'trap "" TERM; echo trapped; sleep 30'],
    offThread: true,
  });
  assert.ok(alive(long.pid));
  await until(() => readFileSync(log, 'utf8').includes('trapped')); // SIGTERM is ignored from here on
  const st = await long.stop(200); // SIGTERM ignored: SIGKILL after the grace period
  assert.equal(st.code, 137);
  assert.ok(!alive(long.pid));

  await assert.rejects(
    startSandbox({ artifacts: s.artifacts, stateDir: state, stdio: ['ignore', fd, fd], command: ['/no/such/program'], offThread: true }),
    /not found|refused to start/,
  );
  await assert.rejects(
    startSandbox({ artifacts: s.artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'pipe'], offThread: true }),
    /cannot be a pipe/,
  );
});

// Escape suite: test/escape/probe.c runs INSIDE a sandbox and tries to get out. Every attempt
// must fail with the specific errno listed here (the layer that stops it is noted), and every
// category has a control that must succeed, so a sandbox that breaks everything cannot pass.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CompiledSandbox } from '../../src/compiler/artifacts.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { startSandbox } from '../../src/runtime/process/start.js';
import { initBinary } from '../../src/util/package-paths.js';
import { requireCapability } from '../helpers/capability.js';
import { nemoclawBin, repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { compileYaml, requireProcessRuntime } from '../runtime/process-fixture.js';

const PIDS = 32;
const isRoot = process.getuid?.() === 0;

interface Setup {
  dir: string;
  state: string;
  probe: string;
  sandbox: CompiledSandbox;
  file: string;
}

async function setup(t: TestContext, extraReadOnly: string[] = []): Promise<Setup | null> {
  if (!(await requireProcessRuntime(t))) return null;
  const cc = spawnSync('cc', ['--version']);
  if (!requireCapability(t, cc.status === 0, 'a C compiler (cc) is needed to build the probe')) return null;
  const dir = tempDir(t, 'nemoclaw-escape-');
  const bin = join(dir, 'probe');
  mkdirSync(bin, { mode: 0o755 });
  const probe = join(bin, 'probe');
  const build = spawnSync('cc', ['-O1', '-static', '-o', probe, join(repoRoot, 'test/escape/probe.c')], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  const sandbox = await compileYaml(
    dir,
    `version: 1
sandboxes:
  escape:
    runtime: process
    command: [${probe}, all]
    workdir: /sandbox
    filesystem:
      read_only: [${['/usr', '/bin', '/lib', '/lib64', bin, ...extraReadOnly].join(', ')}]
      read_write: [/tmp]
      executable: [/sandbox/bin]
    process:
      limits: { pids: ${PIDS}, nofile: 256 }
    network:
      egress:
        - name: example
          endpoints: [{ host: example.com, port: 443 }]
`,
    'escape',
  );
  const state = join(dir, 'state');
  // The workspace as a previous run would have left it: a bin/ dir made executable by the policy.
  const work = sandboxPaths(state, 'escape').rwDir('/sandbox');
  mkdirSync(join(work, 'bin'), { recursive: true });
  writeFileSync(join(work, 'moveme'), 'x');
  if (isRoot) for (const p of [work, join(work, 'bin'), join(work, 'moveme')]) chownSync(p, 1000, 1000);
  return { dir, state, probe, sandbox, file: join(dir, 'nemoclaw.yaml') };
}

async function runProbe(s: Setup, args: string[]): Promise<{ results: Map<string, string>; code: number; err: string }> {
  const sb = await startSandbox({
    artifacts: s.sandbox.artifacts,
    stateDir: s.state,
    stdio: ['ignore', 'pipe', 'pipe'],
    command: [s.probe, ...args],
  });
  let out = '',
    err = '';
  sb.child.stdout?.on('data', (d) => {
    out += d;
  });
  sb.child.stderr?.on('data', (d) => {
    err += d;
  });
  const { code } = await sb.wait();
  return { results: parse(out), code, err };
}

function parse(out: string): Map<string, string> {
  return new Map(
    out
      .split(/\r?\n/)
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

// name → [expected, layer that decides]
const EXPECTED: Record<string, [string, string]> = {
  read_shadow: ['ENOENT', 'mount ns: /etc is not in the policy, so it does not exist'],
  read_root_home: ['ENOENT', 'mount ns'],
  read_other_sandbox: ['ENOENT', 'mount ns: the state dir is not mounted'],
  list_sandbox_root: ['EACCES', 'Landlock: no rule on /'],
  read_control: ['OK', 'control'],
  create_outside: ['EROFS', 'read-only bind'],
  create_in_root: ['EROFS', 'read-only root tmpfs'],
  write_outside: ['EACCES', 'Landlock/DAC'],
  truncate_outside: ['EACCES', 'Landlock/DAC'],
  rename_outside: ['EROFS', 'read-only bind'],
  rename_out_of_rw: ['EXDEV', 'separate mounts'],
  link_outside: ['EXDEV', 'separate mounts'],
  write_dev_dir: ['EROFS', 'read-only /dev tmpfs'],
  write_control: ['OK', 'control'],
  rename_control: ['OK', 'control'],
  link_control: ['OK', 'control'],
  truncate_control: ['OK', 'control'],
  exec_rw: ['EACCES', 'Landlock execute + noexec mount'],
  exec_workdir: ['EACCES', 'Landlock: /sandbox has no execute'],
  exec_control_executable: ['OK', 'control: filesystem.executable'],
  exec_control_ro: ['OK', 'control'],
  tcp_external_port80: ['EACCES', 'Landlock connect_tcp: only the proxy port'],
  tcp_external_proxyport: ['ENETUNREACH', 'net ns: no route'],
  tcp_loopback_other_port: ['EACCES', 'Landlock connect_tcp'],
  tcp_control_bridge: ['OK', 'control: the relay'],
  udp_external: ['ENETUNREACH', 'net ns: no route'],
  dns_resolver: ['ENETUNREACH', 'net ns: DNS only through the gateway'],
  resolv_conf: ['ENOENT', 'no resolver configured'],
  raw_socket: ['EPERM', 'no CAP_NET_RAW / seccomp'],
  packet_socket: ['EPERM', 'no CAP_NET_RAW / seccomp'],
  abstract_host: ['ECONNREFUSED', 'net ns: host abstract sockets are invisible'],
  abstract_control: ['OK', 'control: own abstract socket (Landlock scope allows same domain)'],
  signal_host_pid: ['ESRCH', 'pid ns'],
  signal_init: ['EPERM', 'Landlock signal scope'],
  ptrace_init: ['EPERM', 'seccomp'],
  proc_host_pid: ['ENOENT', 'pid ns: fresh /proc'],
  proc_init_environ: ['EACCES', 'pid 1 is non-dumpable, outside the Landlock domain'],
  proc_control: ['OK', 'control'],
  signal_control: ['OK', 'control: own child'],
  mount: ['EPERM', 'seccomp / no CAP_SYS_ADMIN'],
  pivot_root: ['EPERM', 'seccomp'],
  unshare_user: ['EPERM', 'seccomp'],
  setns: ['EPERM', 'seccomp'],
  keyctl: ['EPERM', 'seccomp'],
  bpf: ['EPERM', 'seccomp'],
  io_uring_setup: ['EPERM', 'seccomp'],
  perf_event_open: ['EPERM', 'seccomp'],
  userfaultfd: ['EPERM', 'seccomp'],
  setuid0: ['EPERM', 'no CAP_SETUID'],
  proc_sys_write: ['EACCES', 'Landlock: /proc is read-only'],
  syscall_control: ['OK', 'control'],
};

test('escape: filesystem, network, process and kernel attempts fail with the specific errno; controls succeed', async (t) => {
  const s = await setup(t);
  if (!s) return;
  // A host abstract unix socket the sandbox must not reach.
  const abstract = `nemoclaw-escape-${process.pid}`;
  const server = createServer((c) => c.end('host secret\n'));
  await new Promise<void>((r) => server.listen(`\0${abstract}`, r));
  t.after(() => server.close());
  // Another sandbox's persistent file on the host.
  const other = sandboxPaths(s.state, 'other').rwDir('/tmp');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'secret'), 'other sandbox secret');
  const args = ['all', String(process.pid), join(other, 'secret'), abstract];
  if (isRoot) {
    // A setuid-root copy of the probe: nosuid mounts and no_new_privs must keep it at uid 1000.
    const suid = join(s.dir, 'probe', 'probe-suid');
    copyFileSync(s.probe, suid);
    chmodSync(suid, 0o4755);
    args.push(suid);
  }
  const { results, code, err } = await runProbe(s, args);
  assert.equal(code, 0, err);
  assert.equal(results.get('done'), 'OK', `probe did not finish:\n${err}`);
  const wrong = Object.entries(EXPECTED)
    .filter(([name, [want]]) => results.get(name) !== want)
    .map(([name, [want, layer]]) => `${name}: got ${results.get(name)}, want ${want} (${layer})`);
  assert.deepEqual(wrong, []);
  if (isRoot) assert.equal(results.get('euid'), 'VALUE 1000', 'a setuid-root binary must not gain root');
});

test('escape: a fork bomb is bounded by the pids limit and the host is unaffected', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { results, code } = await runProbe(s, ['forkbomb']);
  const count = Number(results.get('forkbomb_count')?.replace('VALUE ', ''));
  assert.equal(results.get('forkbomb'), 'EAGAIN');
  assert.ok(count > 0 && count < PIDS, `forked ${count} times with a limit of ${PIDS}`);
  assert.equal(code, 137, 'the probe kills its own group at the end');
  assert.equal(spawnSync('/bin/true').status, 0, 'the host can still fork');
});

test('escape: TIOCSTI on the terminal is refused (the agent has no controlling tty)', async (t) => {
  const s = await setup(t);
  if (!s) return;
  if (!requireCapability(t, existsSync('/usr/bin/script'), 'script(1) from util-linux is needed to give the sandbox a terminal')) return;
  assert.equal(runCli(['compile', '-f', s.file, '--update-lock', '--out', join(s.dir, 'out')]).status, 0);
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, nemoclawBin, 'run', 'escape', '-f', s.file, '--state-dir', s.state, '--', s.probe, 'tty'].map(q).join(' ');
  const r = spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const results = parse(r.stdout);
  assert.equal(results.get('tty_isatty_control'), 'OK', r.stdout);
  assert.equal(results.get('tty_tcgetattr_control'), 'OK');
  assert.match(results.get('tiocsti') ?? '', /^(EPERM|EIO)$/);
  assert.equal(results.get('open_dev_tty'), 'ENXIO');
});

// Issue 14, break 1: the escape config mounts read_only ${bin} inside read_write /tmp, so the init
// builds that mount point inside the agent's persistent /tmp. An agent that replaces a directory
// on the way with a symlink to a host path must not make root create anything on the host.
test('escape: a symlink planted in persistent data never makes root create a mount point on the host', async (t) => {
  const s = await setup(t);
  if (!s) return;
  assert.ok(s.dir.startsWith('/tmp/'), `the probe dir ${s.dir} must lie under the read_write /tmp for this test`);
  const hostPrivate = join(s.dir, 'host-private');
  mkdirSync(hostPrivate, { mode: 0o700 });
  const persistentTmp = sandboxPaths(s.state, 'escape').rwDir('/tmp');
  mkdirSync(persistentTmp, { recursive: true });
  if (isRoot) chownSync(persistentTmp, 1000, 1000);
  // What the agent leaves behind in its /tmp: /tmp/<probe dir> -> the host directory.
  symlinkSync(hostPrivate, join(persistentTmp, basename(s.dir)));
  await assert.rejects(runProbe(s, ['done']), (e: Error) => {
    assert.match(e.message, /refused to start: root: mount point .* is a symbolic link/);
    return true;
  });
  assert.deepEqual(readdirSync(hostPrivate), [], 'nothing was created in the host directory');
  // The same layout without the planted link starts normally (the allowed neighbour). As root the
  // data moved into the sandbox's own disk image (limits.disk) on the first start: unlink it there.
  const paths = sandboxPaths(s.state, 'escape');
  if (existsSync(paths.diskImage)) {
    const r = spawnSync('debugfs', ['-w', '-R', `unlink /rw/tmp/${basename(s.dir)}`, paths.diskImage], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } else rmSync(join(persistentTmp, basename(s.dir)));
  const { results, code, err } = await runProbe(s, ['done']);
  assert.equal(code, 0, err);
  assert.equal(results.get('done'), 'OK');
});

test('escape: a symlink planted where a file mount point goes is refused too; nothing is created on the host', async (t) => {
  const conf = join(tempDir(t, 'nemoclaw-conf-'), 'app.conf');
  writeFileSync(conf, 'setting\n');
  const s = await setup(t, [conf]);
  if (!s) return;
  const hostPrivate = join(s.dir, 'host-private');
  mkdirSync(hostPrivate, { mode: 0o700 });
  const planted = join(sandboxPaths(s.state, 'escape').rwDir('/tmp'), conf.slice('/tmp/'.length));
  mkdirSync(dirname(planted), { recursive: true });
  symlinkSync(join(hostPrivate, 'created'), planted);
  await assert.rejects(runProbe(s, ['done']), /refused to start: root: mount point .*app\.conf: app\.conf is a symbolic link/);
  assert.deepEqual(readdirSync(hostPrivate), [], 'no file was created in the host directory');
});

// Issue 14: /proc/self/mountinfo and /proc/<pid>/cmdline are readable inside; they named the host
// state directory (a bind's root is its path on the host file system) and the install path.
test("escape: mountinfo and the init processes' cmdline reveal no host state or install path", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { results, code, err } = await runProbe(s, ['leak']);
  assert.equal(code, 0, err);
  const mountinfo = results.get('mountinfo') ?? '';
  // The allowed neighbour: the file is readable and lists the sandbox's own mounts.
  assert.match(mountinfo, /VALUE .* \/tmp /, 'mountinfo lists /tmp');
  assert.match(mountinfo, /upperdir=rw\/tmp/, 'the read_write mount names its layer relative to the state dir');
  for (const name of ['mountinfo', 'mounts', 'cmdline_1', 'cmdline_2']) {
    const text = results.get(name) ?? '';
    assert.ok(text.startsWith('VALUE '), `${name} readable: ${text}`);
    for (const secret of [s.state, dirname(initBinary)])
      assert.ok(!text.includes(secret), `${name} shows the host path ${secret}:\n${text}`);
  }
  assert.match(results.get('cmdline_1') ?? '', /^VALUE nemoclaw-init *$/);
});

// Issue 14: "read_write is not executable". /tmp held a read_only mount point and lost noexec, so
// `ld.so /tmp/payload` ran a dropped binary; a memfd could be execveat'd. Each has a neighbour
// that must keep working: the executable sub-path, read-only binaries, memfd_create and mapping
// a memfd executable (V8 needs both).
test('escape: code dropped in writable paths or memfds cannot be executed; executable paths and memfd mapping still work', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const sb = await startSandbox({
    artifacts: s.sandbox.artifacts,
    stateDir: s.state,
    stdio: ['ignore', 'ignore', 'ignore'],
    command: ['/bin/true'],
  });
  await sb.wait();
  const { results, code, err } = await runProbe(s, ['exec']);
  assert.equal(code, 0, err);
  const want: Record<string, string> = {
    memfd_create_control: 'OK',
    memfd_mmap_exec_control: 'OK',
    ldso_tmp: 'VALUE 127',
    ldso_workdir: 'VALUE 127',
    ldso_executable_control: 'VALUE 0',
    ldso_ro_control: 'VALUE 0',
    exec_executable_control: 'VALUE 0',
  };
  if (sb.report.memfd_exec === 'blocked') {
    Object.assign(want, {
      memfd_execveat: 'EACCES',
      memfd_exec_proc: 'EACCES',
      memfd_create_exec_flag: 'EACCES',
      memfd_chmod_exec: 'EPERM',
    });
  } else {
    // Only where the kernel has no per-namespace vm.memfd_noexec (before 6.6) or without root.
    const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
    const [major = 0, minor = 0] = kernel.split('.').map(Number);
    assert.ok(!isRoot || major * 1000 + minor < 6006, `memfd exec must be blocked as root on ${kernel}`);
  }
  const wrong = Object.entries(want)
    .filter(([name, v]) => results.get(name) !== v)
    .map(([name, v]) => `${name}: got ${results.get(name)}, want ${v}`);
  assert.deepEqual(wrong, []);
});

// Issue 14, break 5: Landlock does not mediate connect() on pathname unix sockets, so a host
// socket under a read_only path was a channel around the gateway. read_only binds are idmapped
// with no owner mapped, and the kernel refuses write permission (which connect needs) there.
test("escape: a listening host unix socket under a read_only path does not answer; the agent's own socket does", async (t) => {
  const hostRun = join(tempDir(t, 'nemoclaw-hostrun-'), 'run');
  mkdirSync(hostRun, { mode: 0o755 });
  const s = await setup(t, [hostRun]);
  if (!s) return;
  const path = join(hostRun, 'service.sock');
  let answered = 0;
  const server = createServer((c) => {
    answered++;
    c.end('host service\n');
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => server.close());
  chmodSync(path, 0o666); // the worst case: a socket anyone on the host may connect to
  const sb = await startSandbox({
    artifacts: s.sandbox.artifacts,
    stateDir: s.state,
    stdio: ['ignore', 'ignore', 'ignore'],
    command: ['/bin/true'],
  });
  await sb.wait();
  if (!isRoot) {
    // Unprivileged runs cannot idmap host mounts: the report and the start warnings say so.
    assert.equal(sb.report.read_only_sockets, 'reachable');
    assert.ok(sb.warnings.some((w) => /unix sockets/.test(w)));
    return;
  }
  assert.equal(sb.report.read_only_sockets, 'unreachable');
  const { results, code, err } = await runProbe(s, ['socket', path]);
  assert.equal(code, 0, err);
  assert.equal(results.get('socket_host_visible_control'), 'OK');
  assert.equal(results.get('socket_host'), 'EACCES');
  assert.equal(results.get('socket_control'), 'OK');
  assert.equal(answered, 0, 'the host service never saw a connection');
});

// The spec builder (host → nemoclaw-init) and the preflight that fails closed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { initBinary } from '../../src/util/package-paths.js';
import type { LandlockArtifact, SandboxArtifact } from '../../src/compiler/artifacts.js';
import type { HostFacts } from '../../src/runtime/process/host.js';
import { preflight } from '../../src/runtime/process/preflight.js';
import { formatSummary, type EnforcementReport } from '../../src/init-protocol/report.js';
import { agentEnv, buildInitSpec, encodeField } from '../../src/init-protocol/spec.js';

const sandbox = (over: Partial<SandboxArtifact> = {}): SandboxArtifact => ({
  format_version: 1,
  name: 'assistant',
  runtime: 'process',
  image: null,
  command: ['openclaw', 'gateway', '--name', 'my agent'],
  workdir: '/sandbox',
  user: { uid: 1000, gid: 1001 },
  env: { TZ: 'UTC', GREETING: 'hello world\n%' },
  mounts: [
    { target: '/etc', mode: 'ro' },
    { target: '/sandbox', mode: 'rw' },
    { target: '/tmp', mode: 'rw' },
  ],
  limits: { pids: 512, memory_bytes: 2147483648, nofile: 4096, disk_bytes: 1073741824, disk_enforcement: 'best_effort' },
  network: { mode: 'gateway', proxy_port: 3128 },
  inference: null,
  protect: false,
  ...over,
});
const landlock = (over: Partial<LandlockArtifact> = {}): LandlockArtifact => ({
  format_version: 1,
  compatibility: 'hard_requirement',
  abi_floor: 4,
  handled_access_fs: ['execute', 'write_file', 'read_file', 'read_dir', 'refer', 'truncate', 'ioctl_dev'],
  handled_access_net: ['bind_tcp', 'connect_tcp'],
  scoped: ['abstract_unix_socket', 'signal'],
  path_rules: [
    { path: '/etc', access: ['execute', 'read_file', 'read_dir'] },
    { path: '/sandbox', access: ['read_file', 'read_dir', 'write_file'] },
    { path: '/sandbox/bin', access: ['execute', 'read_file', 'read_dir'] },
    { path: '/tmp', access: ['read_file', 'read_dir', 'write_file'] },
  ],
  net_rules: [{ port: 3128, access: ['connect_tcp'] }],
  ...over,
});
const input = (s = sandbox(), l = landlock()) => ({
  sandbox: s,
  landlock: l,
  rootDir: '/state/sandboxes/assistant/root',
  rwDirs: { '/sandbox': '/state/rw/sandbox', '/tmp': '/state/rw/my tmp' },
  gatewaySocket: '/state/gateway/sandboxes/assistant.sock',
  cgroups: { pids: '/sys/fs/cgroup/pids/nemoclaw/a-1' },
});
const lines = (spec: string) => spec.trimEnd().split('\n');

test('encodeField escapes exactly %, whitespace, control and non-ASCII bytes', () => {
  assert.equal(encodeField('a b\n%c\t'), 'a%20b%0A%25c%09');
  assert.equal(encodeField('é'), '%C3%A9');
  assert.equal(encodeField('/usr/bin:x=y'), '/usr/bin:x=y');
});

test('spec: header, identity, mounts in order, noexec on every writable mount; an executable sub-path is its own mount', () => {
  const l = lines(buildInitSpec(input()));
  assert.equal(l[0], 'nemoclaw-init 1');
  assert.ok(l.includes('uid 1000') && l.includes('gid 1001') && l.includes('name assistant'));
  const mounts = l.filter((x) => /^(ro|rw) /.test(x));
  assert.deepEqual(mounts, ['ro /etc', 'rw /sandbox /state/rw/sandbox noexec', 'rw /tmp /state/rw/my%20tmp noexec']);
  assert.deepEqual(
    l.filter((x) => x.startsWith('exec ')),
    ['exec /sandbox/bin'],
  );
  assert.ok(l.includes('workdir /sandbox'));
  assert.ok(l.includes('root /state/sandboxes/assistant/root'));
});

test('spec: an executable path inside a read_only mount nested in a rw mount needs no exec mount; one in the rw data does (once)', () => {
  const s = sandbox({
    mounts: [
      { target: '/sandbox', mode: 'rw' },
      { target: '/sandbox/tools', mode: 'ro' },
      { target: '/tmp', mode: 'rw' },
    ],
  });
  const rule = (path: string) => ({ path, access: ['execute' as const, 'read_file' as const] });
  const l = landlock({ path_rules: [rule('/sandbox/tools/bin'), rule('/tmp/bin'), rule('/tmp/bin/sub')] });
  const spec = lines(buildInitSpec(input(s, l)));
  assert.deepEqual(
    spec.filter((x) => x.startsWith('exec ')),
    ['exec /tmp/bin'],
  );
  assert.ok(spec.includes('rw /tmp /state/rw/my%20tmp noexec'));
});

test('spec: argv and env are encoded; env is the sandbox env plus proxy variables', () => {
  const l = lines(buildInitSpec(input()));
  assert.deepEqual(
    l.filter((x) => x.startsWith('argv ')),
    ['argv openclaw', 'argv gateway', 'argv --name', 'argv my%20agent'],
  );
  const env = l.filter((x) => x.startsWith('env ')).map((x) => decodeURIComponent(x.slice(4)));
  assert.deepEqual(env.sort(), [
    'ALL_PROXY=http://127.0.0.1:3128',
    'GREETING=hello world\n%',
    'HTTPS_PROXY=http://127.0.0.1:3128',
    'HTTP_PROXY=http://127.0.0.1:3128',
    'NODE_USE_ENV_PROXY=1',
    'NO_PROXY=localhost,127.0.0.1',
    'TZ=UTC',
    'all_proxy=http://127.0.0.1:3128',
    'http_proxy=http://127.0.0.1:3128',
    'https_proxy=http://127.0.0.1:3128',
    'no_proxy=localhost,127.0.0.1',
  ]);
});

test('spec: a command override replaces argv', () => {
  const l = lines(buildInitSpec({ ...input(), command: ['/bin/true'] }));
  assert.deepEqual(
    l.filter((x) => x.startsWith('argv ')),
    ['argv /bin/true'],
  );
});

test('spec: Landlock floor, handled rights, rules, limits, cgroups, gateway', () => {
  const l = lines(buildInitSpec(input()));
  for (const want of [
    'landlock_floor 4',
    'landlock_fs execute write_file read_file read_dir refer truncate ioctl_dev',
    'landlock_net bind_tcp connect_tcp',
    'landlock_scope abstract_unix_socket signal',
    'path_rule /sandbox/bin execute read_file read_dir',
    'net_rule 3128 connect_tcp',
    'nofile 4096',
    'pids 512',
    'cgroup pids /sys/fs/cgroup/pids/nemoclaw/a-1',
    'gateway /state/gateway/sandboxes/assistant.sock',
    'proxy_port 3128',
  ])
    assert.ok(l.includes(want), `missing "${want}" in\n${l.join('\n')}`);
  assert.ok(!l.some((x) => x.startsWith('cgroup memory')));
});

test('spec: network none means no relay and no proxy variables; no gateway socket means no relay', () => {
  const none = sandbox({ network: { mode: 'none', proxy_port: 3128 } });
  const l = lines(buildInitSpec(input(none, landlock({ net_rules: [] }))));
  assert.ok(!l.some((x) => x.startsWith('gateway ') || x.startsWith('proxy_port ') || x.includes('PROXY')));
  assert.deepEqual(agentEnv(none), none.env);
  const noSock = lines(buildInitSpec({ ...input(), gatewaySocket: null }));
  assert.ok(!noSock.some((x) => x.startsWith('gateway ')));
});

test('spec: an rw mount without a backing directory is an error', () => {
  assert.throws(() => buildInitSpec({ ...input(), rwDirs: { '/sandbox': '/x' } }), /no backing directory for rw mount \/tmp/);
});

const host = (abi: number, over: Partial<NonNullable<HostFacts['kernel']>> = {}): HostFacts => ({
  initBinary: '/x/nemoclaw-init',
  initPresent: true,
  probeError: null,
  kernelRelease: '6.1.0',
  kernel: {
    landlock_abi: abi,
    landlock_errno: abi ? 0 : 38,
    seccomp: true,
    root: false,
    userns: true,
    unprivileged_userns: true,
    mntns: true,
    pidns: true,
    netns: true,
    close_range: true,
    ...over,
  },
  cgroups: { version: 'v1', pids: true, memory: true, writable: true },
  libseccomp: { ok: true, error: null },
  disk: { loop: true, mkfs: true },
});

test('preflight: floor above the kernel ABI is refused, naming Landlock and the host fact', () => {
  const p = preflight({ sandbox: sandbox(), landlock: landlock({ abi_floor: 8 }) }, host(7));
  assert.equal(p.ok, false);
  assert.equal(p.refusals[0]!.mechanism, 'landlock');
  assert.match(p.refusals[0]!.reason, /requires Landlock ABI >= 8 .*offers Landlock ABI 7/);
  const none = preflight({ sandbox: sandbox(), landlock: landlock() }, host(0));
  assert.match(none.refusals[0]!.reason, /offers no Landlock \(errno 38\)/);
});

test('preflight: best_effort without Landlock runs, loudly', () => {
  const p = preflight({ sandbox: sandbox(), landlock: landlock({ compatibility: 'best_effort', abi_floor: 0 }) }, host(0));
  assert.equal(p.ok, true);
  assert.match(p.warnings.join('\n'), /Landlock is not available.*NOT enforced/);
  const old = preflight({ sandbox: sandbox(), landlock: landlock({ compatibility: 'best_effort', abi_floor: 0 }) }, host(3));
  assert.match(old.warnings.join('\n'), /ABI 3 cannot enforce: ioctl_dev, bind_tcp, connect_tcp, abstract_unix_socket, signal/);
});

test('preflight: missing seccomp, libseccomp, userns (unprivileged) and namespaces are refused', () => {
  const h = host(7, { seccomp: false, userns: false, netns: false });
  h.libseccomp = { ok: false, error: 'cannot load libseccomp.so.2' };
  const p = preflight({ sandbox: sandbox(), landlock: landlock() }, h);
  assert.deepEqual(p.refusals.map((r) => r.mechanism).sort(), ['libseccomp', 'network namespace', 'seccomp', 'user namespace']);
  const docker = preflight({ sandbox: sandbox({ runtime: 'docker' }), landlock: landlock() }, host(7));
  assert.equal(docker.refusals[0]!.mechanism, 'runtime');
});

test('preflight: the disk limit fails closed without root, loop devices or mkfs.ext4; best_effort starts, loudly', () => {
  const hard = (o: Partial<SandboxArtifact['limits']> = {}) =>
    sandbox({ limits: { ...sandbox().limits, disk_enforcement: 'hard_requirement', ...o } });
  const unpriv = preflight({ sandbox: hard(), landlock: landlock() }, host(7));
  assert.deepEqual(
    unpriv.refusals.map((r) => r.mechanism),
    ['disk limit'],
  );
  assert.match(unpriv.refusals[0]!.reason, /needs root .*best_effort starts without it/);
  const rootNoLoop = host(7, { root: true });
  rootNoLoop.disk = { loop: false, mkfs: false };
  const r = preflight({ sandbox: hard(), landlock: landlock() }, rootNoLoop);
  assert.match(r.refusals[0]!.reason, /needs loop devices \(\/dev\/loop-control\), mkfs\.ext4 \(e2fsprogs\)/);
  const ok = preflight({ sandbox: hard(), landlock: landlock() }, host(7, { root: true }));
  assert.deepEqual([ok.ok, ok.ownDisk], [true, true]);
  const soft = preflight({ sandbox: sandbox(), landlock: landlock() }, host(7));
  assert.deepEqual([soft.ok, soft.ownDisk], [true, false]);
  assert.match(soft.warnings.join('\n'), /disk limit .*NOT enforced/);
  // Nothing writable: nothing to limit, nothing to refuse.
  const noRw = preflight({ sandbox: { ...hard(), mounts: [{ target: '/usr', mode: 'ro' }] }, landlock: landlock() }, host(7));
  assert.deepEqual([noRw.ok, noRw.ownDisk], [true, false]);
});

test('summary: one line naming Landlock ABI, seccomp rules and namespaces; NO LANDLOCK when not enforced', () => {
  const r: EnforcementReport = {
    ok: true,
    sandbox: 'assistant',
    namespaces: ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'],
    uid: 1000,
    gid: 1000,
    landlock: {
      abi: 7,
      floor: 4,
      enforced: true,
      handled_fs: [],
      handled_net: [],
      scoped: [],
      path_rules: 3,
      net_rules: 1,
      skipped_rules: 0,
    },
    seccomp: { instructions: 400, sha256: 'ab' },
    no_new_privs: true,
    capabilities: 'none',
    dumpable: false,
    limits: { nofile: 1, core: 0, pids: 64, pids_via: 'cgroup', memory_via: 'none' },
    network: { loopback: true, relay: true, proxy_port: 3128 },
  };
  assert.equal(
    formatSummary(r, 312),
    'assistant: Landlock ABI 7 + seccomp (312 rules) + userns/netns/pidns/mntns; pids<=64 (cgroup), memory UNLIMITED',
  );
  r.landlock.enforced = false;
  assert.match(formatSummary(r, 312), /^assistant: NO LANDLOCK/);
});

test('spec: with an image root, an `image` line and no read_only host binds (read_only paths are inside the image)', () => {
  const l = lines(buildInitSpec({ ...input(sandbox({ image: `x@sha256:${'a'.repeat(64)}` })), imageRoot: '/state/images/roots/abc' }));
  assert.ok(l.includes('image /state/images/roots/abc'));
  assert.deepEqual(
    l.filter((x) => /^(ro|rw) /.test(x)),
    ['rw /sandbox /state/rw/sandbox noexec', 'rw /tmp /state/rw/my%20tmp noexec'],
  );
  assert.ok(l.includes('path_rule /etc execute read_file read_dir'), 'read_only paths stay Landlock rules');
  assert.ok(!lines(buildInitSpec(input())).some((x) => x.startsWith('image ')));
});

test('nemoclaw-init refuses a spec with both an image root and a read-only host bind', async () => {
  const spec = buildInitSpec({ ...input(), imageRoot: '/nonexistent/image' }).replace('root ', 'ro /etc\nroot ');
  const child = spawn(initBinary, [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: {} });
  let report = '';
  const [specPipe, bpfPipe, reportPipe] = [child.stdio[3] as Writable, child.stdio[4] as Writable, child.stdio[5 as number] as Readable];
  for (const p of [specPipe, bpfPipe, reportPipe]) p.on('error', () => {}); // the init exits early: EPIPE is expected
  reportPipe.on('data', (d) => (report += d));
  specPipe.end(spec);
  bpfPipe.end(Buffer.alloc(8));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 125);
  assert.match(report, /read-only host bind \/etc together with an image root/);
});

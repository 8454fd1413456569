// The compiled seccomp.json loaded by a real Docker engine (`--security-opt seccomp=FILE`):
// Docker accepts it without warnings, ordinary programs run, and what it denies fails with
// EPERM where Docker's own profile (or no profile) would let it through.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { canonicalJson } from '../../src/compiler/canonical.js';
import { compileSeccomp, type SeccompSpec } from '../../src/compiler/seccomp.js';
import { requireCapability } from '../helpers/capability.js';
import { ensureBusyboxImage, type Probe } from '../helpers/busybox-image.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

let probe: Probe = { ok: false, reason: 'not probed' };
let dir = '';

before(() => {
  probe = ensureBusyboxImage();
  dir = makeTempDir('nemoclaw-seccomp-docker-');
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function profileFile(spec: Partial<SeccompSpec> = {}): string {
  const file = join(dir, `seccomp-${n++}.json`);
  writeFileSync(file, canonicalJson(compileSeccomp({ base: 'default', deny: [], allow: [], ...spec })));
  return file;
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}
/** `seccomp` is a profile path or `unconfined`/`builtin` (Docker's own default profile). */
function run(seccomp: string, cmd: string[], extra: string[] = []): Run {
  const opt = seccomp === 'builtin' ? [] : ['--security-opt', `seccomp=${seccomp}`];
  const image = probe.ok ? probe.image : '';
  const r = spawnSync('docker', ['run', '--rm', '--network', 'none', ...opt, ...extra, image, ...cmd], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('Docker accepts the default profile without warnings and ordinary programs run', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const file = profileFile();
  const echo = run(file, ['busybox', 'echo', 'ok']);
  assert.equal(echo.stderr, '', 'no warnings from Docker');
  assert.equal(echo.status, 0);
  assert.equal(echo.stdout, 'ok\n');

  const ls = run(file, ['busybox', 'ls', '/']);
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, /^bin$/m);
  const user = run(file, ['busybox', 'id', '-u'], ['--user', '1000:1000']);
  assert.deepEqual([user.status, user.stdout, user.stderr], [0, '1000\n', '']);

  // fork+exec+pipe through the shell (clone without namespace flags), netlink route, TCP on loopback.
  const sh = run(file, ['busybox', 'sh', '-c', 'busybox echo piped | busybox cat; busybox ip addr show lo']);
  assert.equal(sh.status, 0, sh.stderr);
  assert.match(sh.stdout, /^piped$/m);
  assert.match(sh.stdout, /inet 127\.0\.0\.1\/8/);
  const tcp = run(file, [
    'busybox',
    'sh',
    '-c',
    'busybox nc -l -p 7777 -w 5 > /tmp/got & busybox sleep 0.3; echo over-tcp | busybox nc -w 2 127.0.0.1 7777; wait; busybox cat /tmp/got',
  ]);
  assert.equal(tcp.status, 0, tcp.stderr);
  assert.match(tcp.stdout, /^over-tcp$/m);
});

test('Docker accepts the strict profile and a simple program runs', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  // As a non-root user: runc switches user after the profile is loaded.
  const r = run(
    profileFile({ base: 'strict' }),
    ['busybox', 'sh', '-c', 'busybox echo strict | busybox cat; busybox ls /bin; busybox id -u'],
    ['--user', '1000:1000'],
  );
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^strict$/m);
  assert.match(r.stdout, /^busybox$/m);
  assert.match(r.stdout, /^1000$/m);
});

test('unshare (user namespace) is refused with EPERM, while unconfined it works', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const control = run('unconfined', ['busybox', 'unshare', '-U', 'true']);
  assert.equal(control.status, 0, `control run should succeed: ${control.stderr}`);
  const r = run(profileFile(), ['busybox', 'unshare', '-U', 'true']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unshare\(0x10000000\): Operation not permitted/);
  // `allow` really adds a name: the same call now goes through.
  const allowed = run(profileFile({ allow: ['unshare'] }), ['busybox', 'unshare', '-U', 'true']);
  assert.equal(allowed.status, 0, allowed.stderr);
});

test("AF_PACKET and SOCK_RAW sockets are refused where Docker's own profile allows them", (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const file = profileFile();
  // arping opens an AF_PACKET socket (Docker grants CAP_NET_RAW by default).
  const arpControl = run('builtin', ['busybox', 'arping', '-c1', '-w1', '-I', 'lo', '127.0.0.1']);
  assert.doesNotMatch(arpControl.stderr, /socket: Operation not permitted/, "control: Docker's profile allows the socket");
  const arp = run(file, ['busybox', 'arping', '-c1', '-w1', '-I', 'lo', '127.0.0.1']);
  assert.notEqual(arp.status, 0);
  assert.match(arp.stderr, /socket: Operation not permitted/);
  // busybox ping uses a raw ICMP socket.
  const pingControl = run('builtin', ['busybox', 'ping', '-c1', '-W2', '127.0.0.1']);
  assert.equal(pingControl.status, 0, `control ping: ${pingControl.stderr}`);
  const ping = run(file, ['busybox', 'ping', '-c1', '-W2', '127.0.0.1']);
  assert.notEqual(ping.status, 0);
  assert.match(ping.stderr, /permission denied/);
});

test("mount is refused even with CAP_SYS_ADMIN (Docker's own profile would allow it)", (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const cmd = ['busybox', 'mount', '-t', 'tmpfs', 'none', '/tmp'];
  const control = run('builtin', cmd, ['--cap-add', 'SYS_ADMIN']);
  assert.equal(control.status, 0, `control mount: ${control.stderr}`);
  const r = run(profileFile(), cmd, ['--cap-add', 'SYS_ADMIN']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /permission denied|Operation not permitted/);
});

test('deny removes a call from the base', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const cmd = ['busybox', 'mkdir', '/tmp/x'];
  assert.equal(run(profileFile(), cmd).status, 0);
  const r = run(profileFile({ deny: ['mkdir', 'mkdirat'] }), cmd);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Operation not permitted/);
});

test('names unknown to the host (a typo, a 32-bit-only call) do not stop Docker', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  const r = run(profileFile({ allow: ['no_such_syscall', 'chown32'] }), ['busybox', 'echo', 'ok']);
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, 'ok\n', '']);
});

test('32-bit (i386) system calls are refused: only 64-bit arches are listed', (t) => {
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason)) return;
  // Nothing to refuse where the i386 path does not exist (CI fails on skips, so pass with a note).
  if (arch() !== 'x64') {
    t.diagnostic('int 0x80 exists only on x86_64');
    return;
  }
  const binDir = join(dir, 'int80');
  mkdirSync(binDir);
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', join(binDir, 'int80'), join(repoRoot, 'test', 'fixtures', 'int80.c')], {
    encoding: 'utf8',
  });
  if (!requireCapability(t, cc.status === 0, `gcc -static failed: ${cc.error?.message ?? cc.stderr}`)) return;
  const mount = ['-v', `${binDir}:/x:ro`];
  // Control: Docker's own profile lists the i386 sub-arch, so the call runs (pid 1). A kernel
  // without i386 emulation has nothing to refuse.
  const control = run('builtin', ['/x/int80'], mount);
  if (control.status !== 0) {
    t.diagnostic(`kernel without i386 emulation (control exited ${control.status})`);
    return;
  }
  assert.match(control.stdout, /^int80 ret=1$/m);
  const r = run(profileFile(), ['/x/int80'], mount);
  assert.equal(r.status, 128 + 31, `killed by SIGSYS, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /int80 ret=/);
});

// seccomp.json → BPF with libseccomp, then the BPF really loaded into a process (the way the
// sandbox init loads it) and probed: allowed calls work, denied ones fail as the profile says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { compileSeccomp, type SeccompProfile, type SeccompSpec } from '../../src/compiler/seccomp.js';
import { compileSeccompBpf, libseccompAvailable } from '../../src/runtime/seccomp-bpf.js';
import { requireCapability } from '../helpers/capability.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const lib = libseccompAvailable();
const profile = (spec: Partial<SeccompSpec> = {}) => compileSeccomp({ base: 'default', deny: [], allow: [], ...spec });

let dir = '';
let loader = '';
let loaderError = '';
before(() => {
  dir = makeTempDir('nemoclaw-seccomp-bpf-');
  loader = join(dir, 'seccomp-load');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', loader, join(repoRoot, 'test', 'fixtures', 'seccomp-load.c')], { encoding: 'utf8' });
  if (r.status !== 0) loaderError = `gcc failed: ${r.error?.message ?? r.stderr}`;
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kernelSeccomp = existsSync('/proc/sys/kernel/seccomp/actions_avail');

function probe(p: SeccompProfile): Map<string, string> {
  const { bpf } = compileSeccompBpf(p);
  const r = spawnSync(loader, [], { input: bpf, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `loader failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `loaded ${bpf.length / 8}`);
  return new Map(lines.slice(1).map((l) => l.split(' ') as [string, string]));
}

function unfilteredProbe(): Map<string, string> {
  const r = spawnSync(loader, ['--no-filter'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `loader failed: ${r.stderr}`);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(' ') as [string, string]),
  );
}

test('libseccomp is available through koffi', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  assert.match(lib.version!, /^2\.\d+\.\d+$/);
});

test('export: sock_filter array, deterministic, changes with the profile', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const a = compileSeccompBpf(profile());
  const b = compileSeccompBpf(profile());
  assert.ok(a.bpf.length > 0);
  assert.equal(a.bpf.length % 8, 0);
  assert.ok(a.bpf.length / 8 <= 4096, 'within BPF_MAXINSNS');
  assert.ok(a.bpf.equals(b.bpf));
  assert.equal(a.digest, b.digest);
  assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
  assert.ok(a.ruleCount > 250, `ruleCount ${a.ruleCount}`);

  const denied = compileSeccompBpf(profile({ deny: ['uname'] }));
  assert.notEqual(denied.digest, a.digest);
  assert.equal(denied.ruleCount, a.ruleCount - 1);

  const strict = compileSeccompBpf(profile({ base: 'strict' }));
  assert.ok(strict.bpf.length < a.bpf.length);
  // The last instruction of a classic seccomp filter is a RET (BPF_RET|BPF_K = 0x06).
  assert.equal(a.bpf.readUInt16LE(a.bpf.length - 8), 0x06);
});

test('names unknown to this arch or to libseccomp are skipped, not errors', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const base = compileSeccompBpf(profile());
  const withUnknown = compileSeccompBpf(profile({ allow: ['no_such_syscall', 'chown32'] }));
  assert.equal(withUnknown.digest, base.digest);
});

test('malformed profiles are refused (fail closed)', (t) => {
  if (!requireCapability(t, lib.ok, lib.reason ?? '')) return;
  const p = profile();
  assert.throws(() => compileSeccompBpf({ ...p, architectures: [] }), /does not cover this host's architecture/);
  assert.throws(
    () =>
      compileSeccompBpf({
        ...p,
        syscalls: [
          {
            names: ['socket'],
            action: 'SCMP_ACT_ALLOW',
            args: [
              { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
              { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
            ],
          },
        ],
      }),
    /compared twice/,
  );
  assert.throws(
    () => compileSeccompBpf({ ...p, syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' as never }] }),
    /unsupported seccomp action/,
  );
  assert.throws(
    () =>
      compileSeccompBpf({
        ...p,
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }],
      }),
    /index 6 out of range/,
  );
  assert.throws(
    () =>
      compileSeccompBpf({
        ...p,
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }],
      }),
    /not an unsigned integer/,
  );
});

function enforcementReady(t: TestContext): boolean {
  return (
    requireCapability(t, lib.ok, lib.reason ?? '') &&
    requireCapability(t, kernelSeccomp, 'kernel without seccomp filter support') &&
    requireCapability(t, loaderError === '', loaderError)
  );
}

test('enforced: the default base allows ordinary calls and refuses the dangerous ones', (t) => {
  if (!enforcementReady(t)) return;
  const r = probe(profile());
  for (const ok of [
    'getpid',
    'getppid',
    'fork',
    'personality_query',
    'landlock_abi',
    'socket_unix',
    'socket_tcp',
    'socket_udp6',
    'socket_netlink_route',
  ]) {
    assert.equal(r.get(ok), 'ok', `${ok} should be allowed`);
  }
  for (const denied of [
    'clone_newuser',
    'unshare_user',
    'keyctl',
    'ptrace',
    'bpf',
    'io_uring_setup',
    'mount',
    'personality_no_aslr',
    'socket_netlink_audit',
    'socket_raw',
    'socket_packet',
    'socket_vsock',
    'socket_upper_bits',
  ]) {
    assert.equal(r.get(denied), 'errno:1', `${denied} should fail with EPERM`);
  }
  assert.equal(r.get('clone3'), 'errno:38', 'clone3 answers ENOSYS so libc falls back to clone');
  if (arch() === 'x64') {
    // Some kernels (IA32 emulation off) answer `int 0x80` with SIGSEGV before seccomp sees it.
    // Probe the kernel without a filter first: only where it runs i386 calls must the filter kill.
    const unfiltered = unfilteredProbe().get('int80');
    if (unfiltered === 'exit:0') assert.equal(r.get('int80'), 'signal:31', 'i386 syscalls kill the process (SIGSYS)');
    else
      assert.equal(
        r.get('int80'),
        unfiltered,
        `the kernel refuses i386 calls by itself (${unfiltered}); the filter must not let one through`,
      );
  }
});

test('enforced: allow and deny change what the kernel lets through', (t) => {
  if (!enforcementReady(t)) return;
  // The same probes as above pass once allowed, so the EPERMs above come from the filter.
  const allowed = probe(profile({ allow: ['unshare', 'keyctl', 'ptrace', 'mount', 'clone3', 'bpf'], deny: ['getppid'] }));
  assert.equal(allowed.get('unshare_user'), 'ok');
  assert.equal(allowed.get('clone3'), 'ok');
  assert.equal(allowed.get('ptrace'), 'errno:3', 'ESRCH from the kernel, not EPERM from the filter');
  assert.equal(allowed.get('mount'), 'errno:2', 'ENOENT from the kernel');
  assert.notEqual(allowed.get('keyctl'), 'errno:1');
  assert.notEqual(allowed.get('bpf'), 'errno:1');
  assert.equal(allowed.get('getppid'), 'errno:1', 'denied getppid fails with EPERM');
  assert.equal(allowed.get('getpid'), 'ok');
});

test('enforced: the strict base runs the basics and refuses what it leaves out', (t) => {
  if (!enforcementReady(t)) return;
  const r = probe(profile({ base: 'strict' }));
  for (const ok of ['getpid', 'fork', 'landlock_abi', 'socket_tcp', 'socket_unix']) assert.equal(r.get(ok), 'ok', ok);
  for (const denied of ['clone_newuser', 'unshare_user', 'keyctl', 'mount', 'socket_packet', 'socket_raw'])
    assert.equal(r.get(denied), 'errno:1', denied);
});

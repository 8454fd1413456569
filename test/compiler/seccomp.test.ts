import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSeccomp, knownSyscallNames, type SeccompProfile, type SeccompRule } from '../../src/compiler/seccomp.js';
import { DANGEROUS_SYSCALLS } from '../../src/compiler/data/dangerous-syscalls.js';
import { SYSCALLS_BY_ARCH } from '../../src/compiler/data/syscalls.js';

const base = (b: 'default' | 'strict', deny: string[] = [], allow: string[] = []) => compileSeccomp({ base: b, deny, allow });

function rulesFor(p: SeccompProfile, name: string): SeccompRule[] {
  return p.syscalls.filter((r) => r.names.includes(name));
}
/** Allowed with no argument condition. */
function allowsOutright(p: SeccompProfile, name: string): boolean {
  return rulesFor(p, name).some((r) => r.action === 'SCMP_ACT_ALLOW' && (r.args ?? []).length === 0);
}
function allNames(p: SeccompProfile): Set<string> {
  return new Set(p.syscalls.flatMap((r) => r.names));
}

test('profile header is the OCI shape Docker and runc expect', () => {
  for (const b of ['default', 'strict'] as const) {
    const p = base(b);
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']);
    for (const r of p.syscalls) {
      assert.deepEqual(r.names, [...r.names].sort(), 'names sorted');
      assert.ok(r.names.length > 0);
      const idx = (r.args ?? []).map((a) => a.index);
      assert.equal(new Set(idx).size, idx.length, `repeated arg index in ${r.names[0]}`);
      if (r.errnoRet !== undefined) assert.equal(r.action, 'SCMP_ACT_ERRNO');
    }
  }
});

test('output is deterministic and independent of input order', () => {
  const a = compileSeccomp({ base: 'default', deny: ['uname', 'mkdir'], allow: ['chroot', 'kcmp'] });
  const b = compileSeccomp({ base: 'default', deny: ['mkdir', 'uname', 'mkdir'], allow: ['kcmp', 'chroot'] });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.equal(JSON.stringify(base('strict')), JSON.stringify(base('strict')));
  const firsts = a.syscalls.map((r) => r.names[0]);
  assert.deepEqual(firsts, [...firsts].sort());
});

test('deny removes names, including argument-filtered ones; deny wins over allow', () => {
  const before = base('default');
  assert.ok(allowsOutright(before, 'uname'));
  assert.ok(rulesFor(before, 'socket').length > 0);
  const p = base('default', ['uname', 'socket'], ['uname']);
  assert.equal(rulesFor(p, 'uname').length, 0);
  assert.equal(rulesFor(p, 'socket').length, 0);
  assert.ok(allowsOutright(p, 'read'), 'the rest stays');
});

test('allow adds names; allowing a filtered name lifts its filter', () => {
  const p = base('strict', [], ['bind', 'listen', 'socket']);
  assert.ok(!allowsOutright(base('strict'), 'bind'));
  assert.ok(allowsOutright(p, 'bind'));
  assert.ok(allowsOutright(p, 'listen'));
  assert.deepEqual(
    rulesFor(p, 'socket').map((r) => r.args ?? []),
    [[]],
  );
  const c3 = base('default', [], ['clone3']);
  assert.deepEqual(
    rulesFor(c3, 'clone3').map((r) => r.action),
    ['SCMP_ACT_ALLOW'],
  );
});

test('invalid names are refused', () => {
  assert.throws(() => base('default', ['Bad-Name']), /seccomp\.deny: "Bad-Name" is not a system call name/);
  assert.throws(() => base('default', [], ['']), /seccomp\.allow/);
});

test('no dangerous syscall is in either base, not even with argument filters', () => {
  for (const b of ['default', 'strict'] as const) {
    const names = allNames(base(b));
    const found = Object.keys(DANGEROUS_SYSCALLS).filter((n) => names.has(n));
    assert.deepEqual(found, [], `${b} contains dangerous syscalls`);
  }
  // The list names the ones the brief calls out.
  for (const n of [
    'ptrace',
    'bpf',
    'mount',
    'umount2',
    'kexec_load',
    'kexec_file_load',
    'init_module',
    'finit_module',
    'delete_module',
    'unshare',
    'setns',
    'keyctl',
    'add_key',
    'request_key',
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
    'userfaultfd',
    'perf_event_open',
    'process_vm_readv',
    'process_vm_writev',
    'pivot_root',
    'open_by_handle_at',
    'swapon',
    'swapoff',
    'reboot',
    'acct',
    'move_mount',
    'open_tree',
    'fsopen',
    'fsmount',
    'fsconfig',
    'fspick',
  ]) {
    assert.ok(DANGEROUS_SYSCALLS[n], `${n} should be listed as dangerous`);
    assert.ok(DANGEROUS_SYSCALLS[n]!.length > 10);
  }
});

test('clone is allowed only without namespace flags; clone3 answers ENOSYS', () => {
  for (const b of ['default', 'strict'] as const) {
    const p = base(b);
    const clone = rulesFor(p, 'clone');
    assert.equal(clone.length, 1);
    assert.deepEqual(clone[0]!.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    const c3 = rulesFor(p, 'clone3');
    assert.deepEqual(c3, [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    assert.equal(rulesFor(p, 'unshare').length, 0);
  }
});

test('socket: UNIX, IPv4/IPv6 stream+datagram, NETLINK_ROUTE; nothing raw or exotic', () => {
  const socket = rulesFor(base('default'), 'socket');
  assert.ok(socket.every((r) => r.action === 'SCMP_ACT_ALLOW' && (r.args ?? []).length > 0));
  // Evaluate the rules the way the kernel filter does, for a few calls.
  const allowed = (domain: number, type: number, proto: number) =>
    socket.some((r) =>
      r.args!.every((a) => {
        const v = [domain, type, proto][a.index]!;
        switch (a.op) {
          case 'SCMP_CMP_EQ':
            return v === a.value;
          case 'SCMP_CMP_MASKED_EQ':
            return (v & a.value) === (a.valueTwo ?? 0);
          default:
            throw new Error(`unexpected op ${a.op}`);
        }
      }),
    );
  const SOCK_CLOEXEC = 0o2000000,
    SOCK_NONBLOCK = 0o4000;
  assert.ok(allowed(1, 1, 0), 'AF_UNIX stream');
  assert.ok(allowed(1, 2 | SOCK_CLOEXEC, 0), 'AF_UNIX dgram');
  assert.ok(allowed(2, 1 | SOCK_CLOEXEC | SOCK_NONBLOCK, 6), 'AF_INET tcp');
  assert.ok(allowed(10, 2, 17), 'AF_INET6 udp');
  assert.ok(allowed(16, 3 | SOCK_CLOEXEC, 0), 'AF_NETLINK NETLINK_ROUTE');
  assert.ok(!allowed(16, 3, 9), 'AF_NETLINK audit');
  assert.ok(!allowed(16, 3, 4), 'AF_NETLINK sock_diag');
  assert.ok(!allowed(2, 3, 1), 'AF_INET SOCK_RAW');
  assert.ok(!allowed(10, 3, 58), 'AF_INET6 SOCK_RAW');
  assert.ok(!allowed(2, 10, 0), 'SOCK_PACKET');
  assert.ok(!allowed(17, 3, 0), 'AF_PACKET');
  assert.ok(!allowed(40, 1, 0), 'AF_VSOCK');
  assert.ok(!allowed(38, 5, 0), 'AF_ALG');
  assert.ok(!allowed(2 + 2 ** 32, 1, 0), 'upper bits set');
});

test('personality only with safe values', () => {
  const vals = rulesFor(base('default'), 'personality').map((r) => {
    assert.equal(r.args!.length, 1);
    assert.equal(r.args![0]!.op, 'SCMP_CMP_EQ');
    return r.args![0]!.value;
  });
  assert.ok(vals.includes(0) && vals.includes(0xffffffff));
  assert.ok(!vals.includes(0x0040000), 'ADDR_NO_RANDOMIZE');
  assert.ok(!vals.includes(0x0400000), 'READ_IMPLIES_EXEC');
});

test('Landlock, prctl and seccomp are allowed in both bases', () => {
  for (const b of ['default', 'strict'] as const) {
    for (const n of ['landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self', 'prctl', 'seccomp', 'execve']) {
      assert.ok(allowsOutright(base(b), n), `${b}: ${n}`);
    }
  }
});

test('strict is a much smaller subset of default', () => {
  const d = allNames(base('default'));
  const s = allNames(base('strict'));
  for (const n of s) assert.ok(d.has(n), `strict has ${n}, default does not`);
  assert.ok(s.size < d.size * 0.75, `strict ${s.size} vs default ${d.size}`);
  for (const n of ['bind', 'listen', 'accept4', 'shmget', 'io_submit', 'setpriority', 'mlock', 'fork']) assert.ok(!s.has(n), n);
});

test('every base name is a known syscall; known names cover both arches', () => {
  const known = knownSyscallNames();
  for (const b of ['default', 'strict'] as const) {
    for (const n of allNames(base(b))) assert.ok(known.has(n), `${b}: unknown ${n}`);
  }
  for (const n of Object.keys(DANGEROUS_SYSCALLS)) assert.ok(known.has(n), `dangerous ${n} unknown`);
  assert.ok(known.has('open') && !SYSCALLS_BY_ARCH.aarch64.includes('open'), 'x86_64-only names are known');
  assert.ok(known.has('landlock_restrict_self') && known.has('mseal'));
  assert.ok(!known.has('chown32') && !known.has('socketcall') && !known.has('nope'), '32-bit-only and made-up names are not');
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const list = SYSCALLS_BY_ARCH[arch];
    assert.equal(new Set(list).size, list.length, `${arch} has duplicates`);
  }
});

// Turns a compiled OCI seccomp profile (seccomp.json) into the classic-BPF program the sandbox
// init loads with seccomp(SECCOMP_SET_MODE_FILTER): a raw `struct sock_filter[]` (8 bytes each).
//
// We call libseccomp (the library runc and crun use) through koffi instead of generating BPF
// ourselves: its syscall tables, per-arch translation and 64-bit argument comparisons are the
// well-reviewed part, and following runc's use of it makes the embedded runtime enforce what
// Docker enforces for the same file. Semantics follow runc: unknown names are skipped, rules
// whose action equals the default are skipped, comparisons in one rule are ANDed.
//
// Differences from runc, all failing closed: the filter holds only this host's native arch and
// every other arch (i386 via int 0x80, x32) kills the process; a rule comparing one argument
// twice, an unsupported action or a bad value is an error instead of being reinterpreted.
import { closeSync, fstatSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sha256Hex } from '../util/sha256.js';
import type { SeccompAction, SeccompOp, SeccompProfile } from '../compiler/seccomp.js';

export interface SeccompBpf {
  /** Raw `struct sock_filter[]`, length a multiple of 8. */
  bpf: Buffer;
  /** libseccomp rules added (one per syscall number and rule). */
  ruleCount: number;
  /** `sha256:` + hex sha256 of `bpf`. */
  digest: string;
}

export interface LibseccompStatus {
  ok: boolean;
  version?: string;
  reason?: string;
}

// Values from <seccomp.h> (libseccomp 2.5 ABI).
const SCMP_ACT_KILL_PROCESS = 0x80000000;
const SCMP_ACT_KILL_THREAD = 0x00000000;
const SCMP_ACT_TRAP = 0x00030000;
const SCMP_ACT_LOG = 0x7ffc0000;
const SCMP_ACT_ALLOW = 0x7fff0000;
const scmpActErrno = (errno: number) => (0x00050000 | (errno & 0xffff)) >>> 0;

const SCMP_FLTATR_ACT_BADARCH = 2;
const SCMP_FLTATR_CTL_NNP = 3;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;

const OPS: Record<SeccompOp, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
/** AUDIT_ARCH_* tokens of the arches a profile may name. */
const ARCHES: Record<string, number> = {
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_AARCH64: 0xc00000b7,
};
const EPERM = 1;
const MFD_CLOEXEC = 1;

interface Lib {
  version: string;
  init(defAction: number): unknown;
  release(ctx: unknown): void;
  archNative(): number;
  archExist(ctx: unknown, arch: number): number;
  attrSet(ctx: unknown, attr: number, value: number): number;
  resolveName(arch: number, name: string): number;
  ruleAddArray(ctx: unknown, action: number, nr: number, count: number, args: ArgCmp[] | null): number;
  exportBpf(ctx: unknown, fd: number): number;
  memfdCreate(name: string, flags: number): number;
}
interface ArgCmp {
  arg: number;
  op: number;
  datum_a: bigint;
  datum_b: bigint;
}

let loaded: { lib: Lib } | { error: string } | undefined;

function load(): { lib: Lib } | { error: string } {
  if (loaded) return loaded;
  try {
    // Loaded here, not at import: koffi costs ~10 ms, and a start whose filter is cached needs none of it.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const so = koffi.load('libseccomp.so.2');
    const libc = koffi.load('libc.so.6');
    const Version = koffi.struct('nemoclaw_scmp_version', { major: 'uint32_t', minor: 'uint32_t', micro: 'uint32_t' });
    const ArgCmpT = koffi.struct('nemoclaw_scmp_arg_cmp', { arg: 'uint32_t', op: 'int', datum_a: 'uint64_t', datum_b: 'uint64_t' });
    const versionFn = so.func('seccomp_version', koffi.pointer(Version), []);
    const v = koffi.decode(versionFn(), Version) as { major: number; minor: number; micro: number };
    const version = `${v.major}.${v.minor}.${v.micro}`;
    // KILL_PROCESS and the optimizer attribute need 2.5; older versions are refused, not degraded.
    if (v.major < 2 || (v.major === 2 && v.minor < 5)) {
      loaded = { error: `libseccomp ${version} is too old (need 2.5 or later)` };
      return loaded;
    }
    const lib: Lib = {
      version,
      init: so.func('seccomp_init', 'void *', ['uint32_t']),
      release: so.func('seccomp_release', 'void', ['void *']),
      archNative: so.func('seccomp_arch_native', 'uint32_t', []),
      archExist: so.func('seccomp_arch_exist', 'int', ['void *', 'uint32_t']),
      attrSet: so.func('seccomp_attr_set', 'int', ['void *', 'int', 'uint32_t']),
      resolveName: so.func('seccomp_syscall_resolve_name_arch', 'int', ['uint32_t', 'const char *']),
      ruleAddArray: so.func('seccomp_rule_add_array', 'int', ['void *', 'uint32_t', 'int', 'uint32_t', koffi.pointer(ArgCmpT)]),
      exportBpf: so.func('seccomp_export_bpf', 'int', ['void *', 'int']),
      memfdCreate: libc.func('memfd_create', 'int', ['const char *', 'uint32_t']),
    };
    loaded = { lib };
  } catch (e) {
    loaded = { error: `cannot load libseccomp.so.2: ${(e as Error).message}` };
  }
  return loaded;
}

/** Whether the host can compile profiles to BPF (libseccomp 2.5+ loadable through koffi). */
export function libseccompAvailable(): LibseccompStatus {
  const l = load();
  return 'lib' in l ? { ok: true, version: l.lib.version } : { ok: false, reason: l.error };
}

function actionValue(action: SeccompAction, errnoRet: number | undefined, where: string): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SCMP_ACT_ALLOW;
    case 'SCMP_ACT_ERRNO':
      return scmpActErrno(checkErrno(errnoRet ?? EPERM, where));
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SCMP_ACT_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SCMP_ACT_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SCMP_ACT_TRAP;
    case 'SCMP_ACT_LOG':
      return SCMP_ACT_LOG;
    default:
      throw new Error(`${where}: unsupported seccomp action ${JSON.stringify(action)}`);
  }
}

function checkErrno(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 4095) throw new Error(`${where}: errno ${n} out of range`);
  return n;
}

function datum(n: number | undefined, where: string): bigint {
  const v = n ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${where}: argument value ${v} is not an unsigned integer`);
  return BigInt(v);
}

function toArgCmps(args: SeccompProfile['syscalls'][number]['args'], where: string): ArgCmp[] {
  const seen = new Set<number>();
  return (args ?? []).map((a) => {
    if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new Error(`${where}: argument index ${a.index} out of range`);
    if (seen.has(a.index)) throw new Error(`${where}: argument ${a.index} compared twice in one rule`);
    seen.add(a.index);
    const op = OPS[a.op];
    if (op === undefined) throw new Error(`${where}: unsupported comparison ${JSON.stringify(a.op)}`);
    return { arg: a.index, op, datum_a: datum(a.value, where), datum_b: datum(a.valueTwo, where) };
  });
}

/**
 * Compiles `profile` for this host's architecture. Throws (fail closed) when libseccomp is
 * missing, the host's arch is not in `profile.architectures`, or any rule is malformed or
 * refused by libseccomp.
 */
/**
 * Compiled programs by profile (JSON text): the sandboxes of one config mostly share a profile,
 * and a daemon starting 100 of them compiled the same filter 100 times. The output depends only
 * on the profile, this host's arch and the loaded libseccomp, all fixed for the process.
 */
const compiled = new Map<string, SeccompBpf>();
const COMPILED_MAX = 64;

export function compileSeccompBpf(profile: SeccompProfile): SeccompBpf {
  const key = JSON.stringify(profile);
  let r = compiled.get(key);
  if (!r) {
    r = compileUncached(profile);
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, r);
  }
  return { ...r, bpf: Buffer.from(r.bpf) };
}

function compileUncached(profile: SeccompProfile): SeccompBpf {
  const l = load();
  if (!('lib' in l)) throw new Error(l.error);
  const lib = l.lib;

  const native = lib.archNative() >>> 0;
  const nativeName = Object.keys(ARCHES).find((k) => ARCHES[k] === native);
  if (!nativeName || !profile.architectures.includes(nativeName as SeccompProfile['architectures'][number])) {
    throw new Error(
      `seccomp profile does not cover this host's architecture (${nativeName ?? `0x${native.toString(16)}`}); it lists ${profile.architectures.join(', ') || 'none'}`,
    );
  }
  if (profile.defaultAction !== 'SCMP_ACT_ERRNO') throw new Error(`unsupported defaultAction ${JSON.stringify(profile.defaultAction)}`);
  const defAction = actionValue(profile.defaultAction, profile.defaultErrnoRet, 'defaultAction');

  const ctx = lib.init(defAction);
  if (!ctx) throw new Error('seccomp_init failed');
  try {
    const must = (rc: number, what: string) => {
      if (rc < 0) throw new Error(`libseccomp ${what} failed: errno ${-rc}`);
    };
    if (lib.archExist(ctx, native) !== 0) throw new Error('libseccomp filter lacks the native architecture');
    must(lib.attrSet(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), 'setting the bad-arch action');
    // The init sets no_new_privs itself; this attribute only matters for seccomp_load anyway.
    must(lib.attrSet(ctx, SCMP_FLTATR_CTL_NNP, 0), 'clearing NO_NEW_PRIVS');
    // Binary-tree dispatch: a few hundred allowed calls cost O(log n) per syscall, not O(n).
    must(lib.attrSet(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), 'setting the optimizer level');

    let ruleCount = 0;
    profile.syscalls.forEach((rule, i) => {
      const where = `syscalls[${i}]`;
      const action = actionValue(rule.action, rule.errnoRet, where);
      const args = toArgCmps(rule.args, where);
      if (action === defAction) return; // same as not listing it (libseccomp refuses such rules)
      for (const name of rule.names) {
        const nr = lib.resolveName(native, name);
        if (nr < 0) continue; // unknown on this arch (or to this libseccomp): stays denied
        must(lib.ruleAddArray(ctx, action, nr, args.length, args.length ? args : null), `adding a rule for ${name} (${where})`);
        ruleCount++;
      }
    });

    const bpf = exportToBuffer(lib, ctx);
    if (bpf.length === 0 || bpf.length % 8 !== 0) throw new Error(`libseccomp exported ${bpf.length} bytes, not a sock_filter array`);
    return { bpf, ruleCount, digest: 'sha256:' + sha256Hex(bpf) };
  } finally {
    lib.release(ctx);
  }
}

/** libseccomp 2.5 can only export to a file descriptor: use an anonymous memfd, never the disk. */
function exportToBuffer(lib: Lib, ctx: unknown): Buffer {
  const fd = lib.memfdCreate('nemoclaw-seccomp-bpf', MFD_CLOEXEC);
  if (fd < 0) throw new Error('memfd_create failed');
  try {
    const rc = lib.exportBpf(ctx, fd);
    if (rc < 0) throw new Error(`seccomp_export_bpf failed: errno ${-rc}`);
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== size) throw new Error(`short read of the exported filter (${off}/${size} bytes)`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

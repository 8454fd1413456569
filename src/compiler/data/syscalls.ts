// System call names per architecture, and the base allowlists built from them.
//
// The per-arch tables are the syscall tables of libseccomp 2.5.4 as shipped by Debian 12
// (kernel ABI up to 6.7: futex_requeue = 456), enumerated with seccomp_syscall_resolve_num_arch,
// plus the names the kernel added since (6.8–6.17), which that libseccomp cannot resolve yet
// (the BPF compiler skips them, like runc does, so they simply stay denied there).
// aarch64 uses the generic syscall table, whose names are all also x86_64 names; x86_64 adds
// the legacy calls (open, stat, fork, …) and a few x86-specific ones.

import type { SeccompRule } from '../seccomp.js';

/** Names present on both x86_64 and aarch64 (libseccomp 2.5.4 tables). */
const COMMON: readonly string[] = [
  'accept', 'accept4', 'acct', 'add_key', 'adjtimex', 'bind', 'bpf', 'brk', 'cachestat', 'capget',
  'capset', 'chdir', 'chroot', 'clock_adjtime', 'clock_getres', 'clock_gettime', 'clock_nanosleep',
  'clock_settime', 'clone', 'clone3', 'close', 'close_range', 'connect', 'copy_file_range',
  'delete_module', 'dup', 'dup3', 'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'epoll_pwait2',
  'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64',
  'fallocate', 'fanotify_init', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2',
  'fchown', 'fchownat', 'fcntl', 'fdatasync', 'fgetxattr', 'finit_module', 'flistxattr', 'flock',
  'fremovexattr', 'fsconfig', 'fsetxattr', 'fsmount', 'fsopen', 'fspick', 'fstat', 'fstatfs',
  'fsync', 'ftruncate', 'futex', 'futex_requeue', 'futex_wait', 'futex_waitv', 'futex_wake',
  'get_mempolicy', 'get_robust_list', 'getcpu', 'getcwd', 'getdents64', 'getegid', 'geteuid',
  'getgid', 'getgroups', 'getitimer', 'getpeername', 'getpgid', 'getpid', 'getppid', 'getpriority',
  'getrandom', 'getresgid', 'getresuid', 'getrlimit', 'getrusage', 'getsid', 'getsockname',
  'getsockopt', 'gettid', 'gettimeofday', 'getuid', 'getxattr', 'init_module', 'inotify_add_watch',
  'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents',
  'io_setup', 'io_submit', 'io_uring_enter', 'io_uring_register', 'io_uring_setup', 'ioctl',
  'ioprio_get', 'ioprio_set', 'kcmp', 'kexec_file_load', 'kexec_load', 'keyctl', 'kill',
  'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'lgetxattr', 'linkat',
  'listen', 'listxattr', 'llistxattr', 'lookup_dcookie', 'lremovexattr', 'lseek', 'lsetxattr',
  'madvise', 'map_shadow_stack', 'mbind', 'membarrier', 'memfd_create', 'memfd_secret',
  'migrate_pages', 'mincore', 'mkdirat', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mount',
  'mount_setattr', 'move_mount', 'move_pages', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open',
  'mq_timedreceive', 'mq_timedsend', 'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd',
  'msync', 'munlock', 'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat',
  'nfsservctl', 'open_by_handle_at', 'open_tree', 'openat', 'openat2', 'perf_event_open',
  'personality', 'pidfd_getfd', 'pidfd_open', 'pidfd_send_signal', 'pipe2', 'pivot_root',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'ppoll', 'prctl', 'pread64', 'preadv', 'preadv2',
  'prlimit64', 'process_madvise', 'process_mrelease', 'process_vm_readv', 'process_vm_writev',
  'pselect6', 'ptrace', 'pwrite64', 'pwritev', 'pwritev2', 'quotactl', 'quotactl_fd', 'read',
  'readahead', 'readlinkat', 'readv', 'reboot', 'recvfrom', 'recvmmsg', 'recvmsg',
  'remap_file_pages', 'removexattr', 'renameat', 'renameat2', 'request_key', 'restart_syscall',
  'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn',
  'rt_sigsuspend', 'rt_sigtimedwait', 'rt_tgsigqueueinfo', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_setaffinity', 'sched_setattr',
  'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'semctl', 'semget', 'semop',
  'semtimedop', 'sendfile', 'sendmmsg', 'sendmsg', 'sendto', 'set_mempolicy',
  'set_mempolicy_home_node', 'set_robust_list', 'set_tid_address', 'setdomainname', 'setfsgid',
  'setfsuid', 'setgid', 'setgroups', 'sethostname', 'setitimer', 'setns', 'setpgid', 'setpriority',
  'setregid', 'setresgid', 'setresuid', 'setreuid', 'setrlimit', 'setsid', 'setsockopt',
  'settimeofday', 'setuid', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget', 'shutdown',
  'sigaltstack', 'signalfd4', 'socket', 'socketpair', 'splice', 'statfs', 'statx', 'swapoff',
  'swapon', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'syslog', 'tee', 'tgkill',
  'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_settime',
  'timerfd_create', 'timerfd_gettime', 'timerfd_settime', 'times', 'tkill', 'truncate', 'umask',
  'umount2', 'uname', 'unlinkat', 'unshare', 'userfaultfd', 'utimensat', 'vhangup', 'vmsplice',
  'wait4', 'waitid', 'write', 'writev',
];

/** Names present on x86_64 only (legacy and x86-specific calls). */
const X86_64_ONLY: readonly string[] = [
  '_sysctl', 'access', 'afs_syscall', 'alarm', 'arch_prctl', 'chmod', 'chown', 'creat',
  'create_module', 'dup2', 'epoll_create', 'epoll_ctl_old', 'epoll_wait', 'epoll_wait_old',
  'eventfd', 'fork', 'futimesat', 'get_kernel_syms', 'get_thread_area', 'getdents', 'getpgrp',
  'getpmsg', 'inotify_init', 'ioperm', 'iopl', 'lchown', 'link', 'lstat', 'mkdir', 'mknod',
  'modify_ldt', 'open', 'pause', 'pipe', 'poll', 'putpmsg', 'query_module', 'readlink', 'rename',
  'rmdir', 'security', 'select', 'set_thread_area', 'signalfd', 'stat', 'symlink', 'sysfs', 'time',
  'tuxcall', 'unlink', 'uselib', 'ustat', 'utime', 'utimes', 'vfork', 'vserver',
];

/** Added to the kernel after libseccomp 2.5.4's tables (6.8 statmount … 6.17 file_setattr). */
const NEWER_COMMON: readonly string[] = [
  'file_getattr', 'file_setattr', 'getxattrat', 'listmount', 'listxattrat', 'lsm_get_self_attr',
  'lsm_list_modules', 'lsm_set_self_attr', 'mseal', 'open_tree_attr', 'removexattrat', 'setxattrat',
  'statmount',
];
const NEWER_X86_64_ONLY: readonly string[] = ['uretprobe'];

export type SyscallArch = 'x86_64' | 'aarch64';

/** Every known syscall name, per architecture, sorted. */
export const SYSCALLS_BY_ARCH: Readonly<Record<SyscallArch, readonly string[]>> = {
  x86_64: [...COMMON, ...X86_64_ONLY, ...NEWER_COMMON, ...NEWER_X86_64_ONLY].sort(),
  aarch64: [...COMMON, ...NEWER_COMMON].sort(),
};

// ---------------------------------------------------------------------------------------------
// Base allowlists. Names allowed unconditionally; calls allowed only with certain arguments
// (clone, socket, personality) and clone3 (answered with ENOSYS) are in CONDITIONAL_RULES.
//
// `default` is modelled on Docker's default profile for a container without extra capabilities,
// restricted to x86_64/aarch64 names, and further without: io_uring_* (a large kernel attack
// surface that also bypasses syscall filtering of the operations it carries), modify_ldt
// (x86 LDT changes, a history of kernel bugs), and everything Docker only grants with a
// capability (mount family, namespaces, modules, kexec, ptrace family, bpf, perf, keyrings, …).

export const DEFAULT_ALLOW: readonly string[] = [
  // process lifecycle, identity and scheduling
  'arch_prctl', 'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork',
  'wait4', 'waitid', 'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq',
  'get_thread_area', 'set_thread_area', 'restart_syscall', 'prctl', 'seccomp',
  'getpid', 'getppid', 'gettid', 'getpgid', 'getpgrp', 'getsid', 'setpgid', 'setsid',
  'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setfsuid', 'setfsgid',
  'setgroups', 'getpriority', 'setpriority', 'getrlimit', 'setrlimit', 'prlimit64', 'getrusage',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr',
  'sched_getparam', 'sched_setparam', 'sched_getscheduler', 'sched_setscheduler',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval',
  'ioprio_get', 'ioprio_set', 'getcpu', 'uname', 'sysinfo', 'umask',
  'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  // Landlock: the sandbox init applies it while Docker's (this) profile is already loaded
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  // signals
  'kill', 'tkill', 'tgkill', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo',
  'rt_tgsigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'sigaltstack',
  'signalfd', 'signalfd4', 'pause',
  // time (adjtimex/clock_adjtime only read without CAP_SYS_TIME)
  'adjtimex', 'clock_adjtime', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'gettimeofday',
  'nanosleep', 'time', 'times', 'alarm', 'getitimer', 'setitimer',
  'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_settime',
  'timerfd_create', 'timerfd_gettime', 'timerfd_settime',
  // memory
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
  'mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'membarrier', 'memfd_create',
  'memfd_secret', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'mseal',
  // synchronisation
  'futex', 'futex_waitv', 'futex_wait', 'futex_wake', 'futex_requeue', 'getrandom',
  // file descriptors and I/O
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2',
  'pwritev2', 'lseek', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'ioctl', 'flock',
  'pipe', 'pipe2', 'splice', 'tee', 'vmsplice', 'sendfile', 'copy_file_range', 'readahead',
  'fadvise64', 'fallocate', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range', 'cachestat',
  'eventfd', 'eventfd2', 'poll', 'ppoll', 'select', 'pselect6',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents',
  // file system (Landlock decides which paths)
  'open', 'openat', 'openat2', 'creat', 'name_to_handle_at', 'access', 'faccessat', 'faccessat2',
  'stat', 'lstat', 'fstat', 'newfstatat', 'statx', 'statfs', 'fstatfs', 'getdents', 'getdents64',
  'getcwd', 'chdir', 'fchdir', 'readlink', 'readlinkat', 'truncate', 'ftruncate',
  'mkdir', 'mkdirat', 'mknod', 'mknodat', 'rmdir', 'unlink', 'unlinkat', 'link', 'linkat',
  'symlink', 'symlinkat', 'rename', 'renameat', 'renameat2',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'fchown', 'fchownat', 'lchown',
  'utime', 'utimes', 'utimensat', 'futimesat', 'file_getattr', 'file_setattr',
  'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'setxattr', 'lsetxattr', 'fsetxattr',
  'setxattrat', 'listxattr', 'llistxattr', 'flistxattr', 'listxattrat', 'removexattr',
  'lremovexattr', 'fremovexattr', 'removexattrat',
  // sockets (creation is filtered by family in CONDITIONAL_RULES)
  'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'shutdown', 'getsockname',
  'getpeername', 'getsockopt', 'setsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg',
  'sendmmsg', 'recvmmsg',
  // System V IPC and POSIX message queues (isolated by the IPC namespace)
  'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl',
  'shmget', 'shmat', 'shmdt', 'shmctl', 'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive',
  'mq_notify', 'mq_getsetattr',
];

// `strict`: for simple programs (scripts, CLIs, a single-process agent talking to its proxy).
// Process basics (no fork/vfork: threads and children go through the filtered clone), memory,
// signals, time, futexes, plain file I/O and file-system reads and writes within Landlock's
// rules, polling, and client sockets (socket is filtered like in `default`: UNIX, TCP/UDP over
// IPv4/IPv6, NETLINK_ROUTE). Left out compared to `default`: server sockets (bind, listen,
// accept), SysV IPC and message queues, AIO, inotify/fanotify, xattrs, ownership (but fchown)
// and mode changes, hard/sym links, mknod, mlock, scheduler and priority changes, timers other
// than sleeping, splice/tee, memfd_secret, pkeys, pidfds. It keeps set*id/setgroups and fchown:
// Docker's runc loads the profile before it switches to the container's user.
export const STRICT_ALLOW: readonly string[] = [
  // process
  'arch_prctl', 'capget', 'capset', 'execve', 'exit', 'exit_group', 'wait4', 'waitid',
  'set_tid_address', 'set_robust_list', 'rseq', 'restart_syscall', 'prctl', 'seccomp',
  'getpid', 'getppid', 'gettid', 'getpgrp', 'getpgid', 'getsid', 'setsid', 'setpgid',
  'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  // runc loads the profile before it switches to the container's user and fixes stdio owners
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups', 'fchown',
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'sched_yield', 'sched_getaffinity',
  'getcpu', 'uname', 'sysinfo', 'umask',
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  // signals and time
  'kill', 'tgkill', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigreturn',
  'rt_sigsuspend', 'rt_sigtimedwait', 'sigaltstack',
  'clock_getres', 'clock_gettime', 'clock_nanosleep', 'gettimeofday', 'nanosleep', 'time',
  // memory and synchronisation
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'membarrier', 'memfd_create',
  'futex', 'futex_waitv', 'getrandom',
  // I/O
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'lseek',
  'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'ioctl', 'flock', 'pipe', 'pipe2',
  'sendfile', 'copy_file_range', 'fadvise64', 'fallocate', 'fsync', 'fdatasync',
  'eventfd2', 'poll', 'ppoll', 'select', 'pselect6', 'epoll_create1', 'epoll_ctl', 'epoll_wait',
  'epoll_pwait', 'epoll_pwait2',
  // file system
  'open', 'openat', 'openat2', 'creat', 'access', 'faccessat', 'faccessat2',
  'stat', 'lstat', 'fstat', 'newfstatat', 'statx', 'statfs', 'fstatfs', 'getdents64',
  'getcwd', 'chdir', 'fchdir', 'readlink', 'readlinkat', 'truncate', 'ftruncate',
  'mkdir', 'mkdirat', 'rmdir', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2',
  'utimensat',
  // client sockets
  'connect', 'shutdown', 'getsockname', 'getpeername', 'getsockopt', 'setsockopt', 'sendto',
  'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg',
];

// ---------------------------------------------------------------------------------------------
// Argument-filtered rules, shared by both bases. Within one rule the comparisons are ANDed and
// each compares a different argument (runc ORs repeated indexes, so we never emit them); rules
// for the same name are ORed. Only allowlisting comparisons (EQ, MASKED_EQ == 0) are used:
// a NE check on an `int` argument could be bypassed through the unused upper register bits.

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
/** The type argument also carries SOCK_NONBLOCK/SOCK_CLOEXEC; the kernel's SOCK_TYPE_MASK. */
const SOCK_TYPE_MASK = 0xf;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const ENOSYS = 38;
/** PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query only).
 *  Not ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and the like, which weaken the process. */
const SAFE_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

export const CONDITIONAL_RULES: readonly SeccompRule[] = [
  // clone: flags are argument 0 on x86_64 and aarch64 (only s390 swaps the first two).
  { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
  // clone3 takes its flags in a struct that seccomp cannot read: answer ENOSYS so libc falls
  // back to clone, whose flags we can check.
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
  ...SAFE_PERSONALITIES.map((p): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }] })),
  // socket families: UNIX any type; IPv4/IPv6 stream and datagram only (no SOCK_RAW, no
  // SOCK_PACKET); netlink only NETLINK_ROUTE (any type: netlink's SOCK_RAW is unprivileged and
  // is what libc's getaddrinfo uses). AF_PACKET, AF_VSOCK, AF_ALG and the rest fail with EPERM.
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_UNIX, op: 'SCMP_CMP_EQ' }] },
  ...[AF_INET, AF_INET6].flatMap((family) => [SOCK_STREAM, SOCK_DGRAM].map((type): SeccompRule => ({
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [
      { index: 0, value: family, op: 'SCMP_CMP_EQ' },
      { index: 1, value: SOCK_TYPE_MASK, valueTwo: type, op: 'SCMP_CMP_MASKED_EQ' },
    ],
  }))),
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_NETLINK, op: 'SCMP_CMP_EQ' }, { index: 2, value: NETLINK_ROUTE, op: 'SCMP_CMP_EQ' }] },
];

/*
 * nemoclaw-init: Landlock, the agent's file system, TCP port and IPC scope rules.
 *
 * The UAPI comes from <linux/landlock.h> when the toolchain has it, with fallbacks for older
 * headers, as the kernel's samples/landlock/sandboxer.c does: the syscall numbers, and our own
 * copies of the structs whose later fields (handled_access_net: ABI 4, scoped: ABI 6) an old
 * header lacks. The kernel ABI is what the running kernel reports, never what the header says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

#if defined(__has_include) && __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#endif

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* Rule types are an enum in the header, so they cannot be tested with #ifdef: use the values. */
#define RULE_PATH_BENEATH 1
#define RULE_NET_PORT 2

#ifdef LANDLOCK_SCOPE_SIGNAL /* ABI 6 header: the struct has every field we set */
typedef struct landlock_ruleset_attr ruleset_attr;
#else
typedef struct { uint64_t handled_access_fs, handled_access_net, scoped; } ruleset_attr;
#endif
#ifdef LANDLOCK_ACCESS_FS_EXECUTE
typedef struct landlock_path_beneath_attr path_attr;
#else
typedef struct { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed)) path_attr;
#endif
#ifdef LANDLOCK_ACCESS_NET_BIND_TCP
typedef struct landlock_net_port_attr net_attr;
#else
typedef struct { uint64_t allowed_access; uint64_t port; } net_attr;
#endif

/* Bit i of each mask is entry i, which is also the kernel's bit; the ABI is the one that introduced the right. */
const struct right FS_RIGHTS[] = {
  {"execute",1},{"write_file",1},{"read_file",1},{"read_dir",1},{"remove_dir",1},{"remove_file",1},
  {"make_char",1},{"make_dir",1},{"make_reg",1},{"make_sock",1},{"make_fifo",1},{"make_block",1},
  {"make_sym",1},{"refer",2},{"truncate",3},{"ioctl_dev",5},{NULL,0}};
const struct right NET_RIGHTS[] = {{"bind_tcp",4},{"connect_tcp",4},{NULL,0}};
const struct right SCOPES[] = {{"abstract_unix_socket",6},{"signal",6},{NULL,0}};
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
_Static_assert(LANDLOCK_ACCESS_FS_IOCTL_DEV == 1ULL << 15 && LANDLOCK_ACCESS_FS_TRUNCATE == 1ULL << 14, "FS_RIGHTS order");
#endif
#ifdef LANDLOCK_SCOPE_SIGNAL
_Static_assert(LANDLOCK_SCOPE_SIGNAL == 1ULL << 1 && LANDLOCK_ACCESS_NET_CONNECT_TCP == 1ULL << 1, "SCOPES/NET_RIGHTS order");
#endif
/* Rights the kernel accepts on a rule for a non-directory: execute, write_file, read_file, truncate, ioctl_dev. */
#define FS_FILE_RIGHTS ((1ULL<<0)|(1ULL<<1)|(1ULL<<2)|(1ULL<<14)|(1ULL<<15))

/* The kernel's Landlock ABI version; 0 when Landlock is absent or disabled. */
int landlock_abi(void) {
  int abi = (int)syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : abi;
}

static uint64_t abi_mask(const struct right *t, int abi) {
  uint64_t m = 0;
  for (int i = 0; t[i].name; i++) if (t[i].abi <= abi) m |= 1ULL << i;
  return m;
}

void apply_landlock(void) {
  step = "landlock";
  done.abi = landlock_abi();
  if (done.abi < spec.floor)
    die("kernel offers Landlock ABI %d, the policy requires at least %ld", done.abi, spec.floor);
  if (done.abi == 0) return; /* best effort with floor 0: reported as not enforced */
  /* Compatibility: handle only what this ABI knows; rules are masked to the handled set. */
  ruleset_attr attr = { .handled_access_fs = spec.ll_fs & abi_mask(FS_RIGHTS, done.abi),
                        .handled_access_net = spec.ll_net & abi_mask(NET_RIGHTS, done.abi),
                        .scoped = spec.ll_scope & abi_mask(SCOPES, done.abi) };
  done.fs = attr.handled_access_fs; done.net = attr.handled_access_net; done.scope = attr.scoped;
  int rs = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
  CHECK(rs, "create ruleset: %s", strerror(errno));
  for (int i = 0; i < spec.n_prules; i++) {
    struct stat st;
    int fd = open(spec.prules[i].path, O_PATH | O_CLOEXEC);
    /* A rule for a path absent from the sandbox only grants less: skip it, and report it. */
    if (fd < 0 && errno == ENOENT) { done.ll_skipped++; continue; }
    CHECK(fd, "open %s: %s", spec.prules[i].path, strerror(errno));
    CHECK(fstat(fd, &st), "stat %s: %s", spec.prules[i].path, strerror(errno));
    path_attr pa = { .allowed_access = spec.prules[i].access & done.fs, .parent_fd = fd };
    if (!S_ISDIR(st.st_mode)) pa.allowed_access &= FS_FILE_RIGHTS;
    if (pa.allowed_access) {
      CHECK(syscall(__NR_landlock_add_rule, rs, RULE_PATH_BENEATH, &pa, 0), "rule %s: %s", spec.prules[i].path, strerror(errno));
      done.ll_paths++;
    }
    close(fd);
  }
  for (int i = 0; i < spec.n_nrules && done.net; i++) {
    net_attr na = { .allowed_access = spec.nrules[i].access & done.net, .port = spec.nrules[i].port };
    if (!na.allowed_access) continue;
    CHECK(syscall(__NR_landlock_add_rule, rs, RULE_NET_PORT, &na, 0), "rule port %llu: %s", (unsigned long long)na.port, strerror(errno));
    done.ll_nets++;
  }
  CHECK(syscall(__NR_landlock_restrict_self, rs, 0), "restrict self: %s", strerror(errno));
  close(rs);
  done.ll_enforced = 1;
}

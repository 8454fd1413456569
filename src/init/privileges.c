/* nemoclaw-init: privilege drop, shared by pid 1, the relay and the agent; the agent's limits and identity. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

static void clear_bounding_set(void) {
  /* Only capabilities still in the set are dropped: dropping needs CAP_SETPCAP, which a container
     started with every capability dropped no longer has (and then has nothing left to drop). */
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      die("drop bounding cap %d: %s", cap, strerror(errno));
}

static void clear_capabilities(void) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = {{0}};
  CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities: %s", strerror(errno));
  CHECK(syscall(SYS_capset, &h, d), "capset: %s", strerror(errno));
}

void drop_helper_privileges(void) {
  step = "privileges";
  clear_bounding_set();
  clear_capabilities();
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
  CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable: %s", strerror(errno));
}

void close_inherited_fds(void) {
  step = "close_fds";
  /* Keep stdio and the report fd (close-on-exec) only. */
  CHECK(syscall(SYS_close_range, 3, REPORT_FD - 1, 0), "close_range: %s", strerror(errno));
  CHECK(syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0), "close_range: %s", strerror(errno));
}

void set_rlimits(void) {
  step = "rlimits";
  struct rlimit nofile = { (rlim_t)spec.nofile, (rlim_t)spec.nofile }, zero = {0, 0};
  struct rlimit nproc = { (rlim_t)spec.pids, (rlim_t)spec.pids };
  CHECK(setrlimit(RLIMIT_NOFILE, &nofile), "RLIMIT_NOFILE %ld: %s", spec.nofile, strerror(errno));
  CHECK(setrlimit(RLIMIT_CORE, &zero), "RLIMIT_CORE: %s", strerror(errno));
  if (!spec.pids_cg && !container_mode) CHECK(setrlimit(RLIMIT_NPROC, &nproc), "RLIMIT_NPROC %ld: %s", spec.pids, strerror(errno));
}

/* The bounding set is cleared first because doing so needs CAP_SETPCAP, which the id switch may drop. */
void switch_identity(void) {
  step = "identity";
  clear_bounding_set();
  if (container_mode && spec.idmap < 0) {
    /* Docker started us as the sandbox user; check it, and that no supplementary group came along. */
    gid_t groups[64];
    int n = getgroups(64, groups);
    CHECK(n, "getgroups: %s", strerror(errno));
    for (int i = 0; i < n; i++)
      if (groups[i] != (gid_t)spec.gid) die("unexpected supplementary group %u", (unsigned)groups[i]);
    if (getuid() != (uid_t)spec.uid || geteuid() != (uid_t)spec.uid || getgid() != (gid_t)spec.gid || getegid() != (gid_t)spec.gid)
      die("container runs as uid %u gid %u, the policy says %ld/%ld", (unsigned)getuid(), (unsigned)getgid(), spec.uid, spec.gid);
    return;
  }
  /* Outside the agent's own user namespace (pid 1) the sandbox's ids are its host range's. A
     container started as root (idmap) takes them here too, like the embedded runtime as root. */
  long shift = spec.idmap >= 0 && !done.agent_userns ? spec.idmap : 0;
  uid_t uid = (uid_t)(spec.uid + shift);
  gid_t gid = (gid_t)(spec.gid + shift);
  if (!done.userns) CHECK(setgroups(0, NULL), "setgroups: %s", strerror(errno));
  CHECK(setresgid(gid, gid, gid), "setresgid %u: %s", (unsigned)gid, strerror(errno));
  CHECK(setresuid(uid, uid, uid), "setresuid %u: %s", (unsigned)uid, strerror(errno));
  if (getuid() != uid || geteuid() != uid || getgid() != gid) die("identity did not change");
}

void drop_capabilities(void) {
  step = "capabilities";
  clear_capabilities();
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  CHECK(syscall(SYS_capget, &h, d), "capget: %s", strerror(errno));
  for (int i = 0; i < 2; i++)
    if (d[i].effective || d[i].permitted || d[i].inheritable) die("capabilities remain after capset");
  for (int cap = 0; cap < 64; cap++) {
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) die("capability %d remains", cap);
  }
}

void set_no_new_privs(void) {
  step = "no_new_privs";
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "%s", strerror(errno));
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) die("not set after prctl");
  CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable: %s", strerror(errno));
}

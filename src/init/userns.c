/*
 * nemoclaw-init: the agent's own user namespace over the sandbox's host id range (root only).
 *
 * nemoclaw allocates every sandbox 65536 host ids nobody else uses (src/state/uid-ranges.ts) and
 * passes the first as `idmap BASE`. The agent, still host root, takes host ids BASE+uid/BASE+gid
 * and only then unshares a user namespace, so the namespace's owner is BASE+uid: the kernel
 * charges per-user limits (inotify instances and watches, user namespaces, RLIMIT_NPROC, ...) at
 * every level to a uid of this sandbox alone, never to root or to a uid another sandbox or a host
 * user has. pid 1, still root in the initial namespace, writes the maps (0-65535 -> BASE...), so
 * the agent sees itself as spec.uid while the host sees BASE+uid. pid 1 then takes BASE+uid too.
 *
 * Docker (container mode, started as root): the same steps, in a container that is root with only
 * CAP_SETUID, CAP_SETGID and CAP_SETPCAP (Docker's filter allows unshare/setns only with
 * CLONE_NEWUSER). Writing a map needs CAP_SYS_ADMIN in the agent's namespace, which pid 1 lacks
 * but the namespace's owner has: pid 1 writes the maps with euid BASE+uid (real and saved uid
 * stay 0, so its permitted set stays, and CAP_SETUID/CAP_SETGID are raised again for the parent
 * namespace) and fsuid 0 (no CAP_DAC_OVERRIDE: the map files must be its own, root's, which they
 * are because the agent makes itself non-dumpable first, whatever fs.suid_dumpable says), then
 * takes euid 0 back. Joining (join.c) finds the namespace through the agent's process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

/* fds[0..1]: agent -> pid 1 ("unshared"), fds[2..3]: pid 1 -> agent ("mapped"). */
void idmap_pipe(int fds[4]) {
  fds[0] = fds[1] = fds[2] = fds[3] = -1;
  if (spec.idmap < 0) return;
  step = "idmap userns";
  CHECK(pipe2(fds, O_CLOEXEC), "pipe: %s", strerror(errno));
  CHECK(pipe2(fds + 2, O_CLOEXEC), "pipe: %s", strerror(errno));
}

static void wait_byte(int fd, const char *what) {
  char c = 0;
  ssize_t r;
  while ((r = read(fd, &c, 1)) < 0 && errno == EINTR) {}
  if (r != 1 || c != 1) die("%s", what);
}

/* In the agent, before its fds are closed: host ids BASE+uid/gid, then a user namespace owned by them. */
void enter_agent_userns(int fds[4]) {
  if (spec.idmap < 0) return;
  step = "idmap userns";
  close(fds[0]);
  close(fds[3]);
  CHECK(setgroups(0, NULL), "setgroups: %s", strerror(errno));
  CHECK(setresgid((gid_t)(spec.idmap + spec.gid), (gid_t)(spec.idmap + spec.gid), (gid_t)(spec.idmap + spec.gid)), "setresgid: %s", strerror(errno));
  CHECK(setresuid((uid_t)(spec.idmap + spec.uid), (uid_t)(spec.idmap + spec.uid), (uid_t)(spec.idmap + spec.uid)), "setresuid: %s", strerror(errno));
  CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable: %s", strerror(errno));
  CHECK(unshare(CLONE_NEWUSER), "unshare user namespace: %s", strerror(errno));
  char one = 1;
  if (write(fds[1], &one, 1) != 1) die("signal pid 1: %s", strerror(errno));
  close(fds[1]);
  wait_byte(fds[2], "pid 1 did not map the user namespace");
  close(fds[2]);
  done.agent_userns = 1;
}

static void write_map(pid_t pid, const char *file) {
  char path[64], map[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  snprintf(map, sizeof map, "0 %ld 65536\n", spec.idmap);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) die("write %s: %s", path, strerror(errno));
  close(fd);
}

/* Container mode: act as the owner of the agent's namespace (see the top of this file). */
static void as_namespace_owner(int on) {
  if (!on) {
    CHECK(setresuid((uid_t)-1, 0, (uid_t)-1), "back to euid 0: %s", strerror(errno)); /* restores the effective set */
    return;
  }
  uid_t owner = (uid_t)(spec.idmap + spec.uid);
  CHECK(setresuid((uid_t)-1, owner, (uid_t)-1), "euid %u: %s", (unsigned)owner, strerror(errno));
  setfsuid(0);
  if ((uid_t)setfsuid((uid_t)-1) != 0) die("fsuid 0: %s", strerror(errno));
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  CHECK(syscall(SYS_capget, &h, d), "capget: %s", strerror(errno));
  for (int i = 0; i < 2; i++) d[i].effective = d[i].permitted;
  CHECK(syscall(SYS_capset, &h, d), "capset: %s", strerror(errno));
}

/* In pid 1 (root in the initial user namespace), right after forking the agent. */
void map_agent_userns(pid_t agent, int fds[4]) {
  if (spec.idmap < 0) return;
  step = "idmap userns";
  close(fds[1]);
  close(fds[2]);
  wait_byte(fds[0], "the agent did not create its user namespace");
  close(fds[0]);
  if (container_mode) as_namespace_owner(1);
  write_map(agent, "uid_map");
  write_map(agent, "gid_map");
  if (container_mode) as_namespace_owner(0);
  char one = 1;
  if (write(fds[3], &one, 1) != 1) die("signal the agent: %s", strerror(errno));
  close(fds[3]);
}

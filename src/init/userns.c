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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
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

/* In pid 1 (root in the initial user namespace), right after forking the agent. */
void map_agent_userns(pid_t agent, int fds[4]) {
  if (spec.idmap < 0) return;
  step = "idmap userns";
  close(fds[1]);
  close(fds[2]);
  wait_byte(fds[0], "the agent did not create its user namespace");
  close(fds[0]);
  write_map(agent, "uid_map");
  write_map(agent, "gid_map");
  char one = 1;
  if (write(fds[3], &one, 1) != 1) die("signal the agent: %s", strerror(errno));
  close(fds[3]);
}

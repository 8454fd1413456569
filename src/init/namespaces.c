/* nemoclaw-init: cgroups and namespaces (before the pid namespace's first fork), and the loopback. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "init.h"

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die("write %s: %s", path, strerror(errno));
  close(fd);
}

void join_cgroups(void) {
  step = "cgroups";
  char path[4096], pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  const char *dirs[2] = { spec.pids_cg, spec.mem_cg };
  for (int i = 0; i < 2; i++) {
    if (!dirs[i]) continue;
    snprintf(path, sizeof path, "%s/cgroup.procs", dirs[i]);
    write_file(path, pid);
  }
  done.pids_via = spec.pids_cg ? "cgroup" : "rlimit_nproc";
}

void create_namespaces(void) {
  step = "namespaces";
  uid_t outer_uid = geteuid();
  gid_t outer_gid = getegid();
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  done.userns = outer_uid != 0;
  if (done.userns) flags |= CLONE_NEWUSER;
  CHECK(unshare(flags), "unshare: %s%s", strerror(errno),
        done.userns && errno == EPERM ? " (unprivileged user namespaces are not allowed on this host)" : "");
  if (done.userns) {
    /* Map only the agent's ids onto ours: nothing else exists inside, and we keep full
       capabilities in the new namespace until the capability step drops them. */
    char map[64];
    snprintf(map, sizeof map, "%ld %u 1\n", spec.uid, outer_uid);
    write_file("/proc/self/uid_map", map);
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%ld %u 1\n", spec.gid, outer_gid);
    write_file("/proc/self/gid_map", map);
  }
}

void bring_up_loopback(void) {
  step = "loopback";
  struct ifreq ifr = {0};
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(s, "socket: %s", strerror(errno));
  strcpy(ifr.ifr_name, "lo");
  CHECK(ioctl(s, SIOCGIFFLAGS, &ifr), "get lo flags: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  CHECK(ioctl(s, SIOCSIFFLAGS, &ifr), "bring lo up: %s", strerror(errno));
  close(s);
}

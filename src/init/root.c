/* nemoclaw-init: the sandbox root, built in pid 1: a tmpfs, the policy's binds, /proc, /dev, pivot_root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

static void mkdirs(char *path, mode_t mode) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, mode) < 0 && errno != EEXIST) die("mkdir %s: %s", path, strerror(errno));
    *p = '/';
  }
  if (mkdir(path, mode) < 0 && errno != EEXIST) die("mkdir %s: %s", path, strerror(errno));
}

/* A mount point in the new root matching the kind of SOURCE: a directory or an empty file. */
static void make_mountpoint(const char *source, const char *dest) {
  struct stat st;
  char tmp[4096];
  CHECK(stat(source, &st), "%s: %s", source, strerror(errno));
  snprintf(tmp, sizeof tmp, "%s", dest);
  if (S_ISDIR(st.st_mode)) { mkdirs(tmp, 0755); return; }
  char *slash = strrchr(tmp, '/');
  *slash = 0;
  mkdirs(tmp, 0755);
  int fd = open(dest, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  CHECK(fd, "create %s: %s", dest, strerror(errno));
  close(fd);
}

/* Bind SOURCE at DEST, then remount with FLAGS plus whatever the source mount already locks
   (a user namespace may not clear nodev/noexec/... inherited from the host). */
static void bind_mount(const char *source, const char *dest, unsigned long flags) {
  struct statvfs sv;
  make_mountpoint(source, dest);
  CHECK(mount(source, dest, NULL, MS_BIND, NULL), "bind %s: %s", source, strerror(errno));
  CHECK(statvfs(source, &sv), "statvfs %s: %s", source, strerror(errno));
  unsigned long keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
                       (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (sv.f_flag & ST_RDONLY ? MS_RDONLY : 0) |
                       (sv.f_flag & ST_NOATIME ? MS_NOATIME : 0) | (sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
                       (sv.f_flag & ST_RELATIME ? MS_RELATIME : 0);
  CHECK(mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags | keep, NULL), "remount %s: %s", dest, strerror(errno));
}

void build_root(void) {
  step = "root";
  char dest[4096];
  const char *r = spec.root;
  /* Nothing we mount may propagate back to the host. */
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private: %s", strerror(errno));
  CHECK(mount("tmpfs", r, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m"), "tmpfs on %s: %s", r, strerror(errno));
  /* Non-recursive binds: host submounts under a path are not carried in (fail closed). */
  for (int i = 0; i < spec.n_mounts; i++) {
    struct mnt *m = &spec.mounts[i];
    snprintf(dest, sizeof dest, "%s%s", r, m->target);
    bind_mount(m->source, dest, MS_NOSUID | MS_NODEV | (m->rw ? 0 : MS_RDONLY) | (m->exec ? 0 : MS_NOEXEC));
  }
  snprintf(dest, sizeof dest, "%s/proc", r);
  mkdirs(dest, 0555);
  CHECK(mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc: %s", strerror(errno));
  snprintf(dest, sizeof dest, "%s/dev", r);
  mkdirs(dest, 0755);
  CHECK(mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"), "tmpfs /dev: %s", strerror(errno));
  static const char *devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    char src[64];
    snprintf(src, sizeof src, "/dev/%s", devs[i]);
    snprintf(dest, sizeof dest, "%s/dev/%s", r, devs[i]);
    make_mountpoint(src, dest);
    CHECK(mount(src, dest, NULL, MS_BIND, NULL), "bind %s: %s", src, strerror(errno));
  }
  static const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    snprintf(dest, sizeof dest, "%s/dev/%s", r, links[i][1]);
    CHECK(symlink(links[i][0], dest), "symlink %s: %s", dest, strerror(errno));
  }
  snprintf(dest, sizeof dest, "%s/dev", r);
  CHECK(mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL), "remount /dev: %s", strerror(errno));
}

void pivot_into_root(void) {
  step = "pivot_root";
  CHECK(chdir(spec.root), "chdir %s: %s", spec.root, strerror(errno));
  /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no path out. */
  CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
  CHECK(umount2(".", MNT_DETACH), "detach old root: %s", strerror(errno));
  CHECK(chdir("/"), "chdir /: %s", strerror(errno));
  CHECK(mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "remount / read-only: %s", strerror(errno));
}

/* nemoclaw-init: the sandbox root, built in pid 1: a tmpfs (or an image overlay), the policy's binds, /proc, /dev (with its own devpts), pivot_root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
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

/* The mount API and openat2, by number: glibc's <sys/mount.h> and <linux/mount.h> clash, and
   older headers lack them. The numbers are the same on every architecture (Linux 5.2-5.12). */
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#define TREE_CLONE 1                 /* OPEN_TREE_CLONE */
#define MOVE_F_EMPTY_PATH 0x04       /* MOVE_MOUNT_F_EMPTY_PATH */
#define MOVE_T_EMPTY_PATH 0x40       /* MOVE_MOUNT_T_EMPTY_PATH */
#define FSCONFIG_FLAG 0               /* FSCONFIG_SET_FLAG */
#define FSCONFIG_STRING 1             /* FSCONFIG_SET_STRING */
#define FSCONFIG_CREATE 6             /* FSCONFIG_CMD_CREATE */
#define ATTR_RDONLY 0x01
#define ATTR_NOSUID 0x02
#define ATTR_NODEV 0x04
#define ATTR_NOEXEC 0x08
#define ATTR_IDMAP 0x00100000
#define NO_SYMLINKS 0x04             /* RESOLVE_NO_SYMLINKS (also refuses magic links) */
#define BENEATH 0x08                 /* RESOLVE_BENEATH */
struct mount_attr_v0 { uint64_t attr_set, attr_clr, propagation, userns_fd; };
struct open_how_v0 { uint64_t flags, mode, resolve; };

/*
 * read_only binds are idmapped so that no on-disk owner is mapped: files read as owned by nobody,
 * and the kernel refuses every MAY_WRITE permission check on them (inode_permission:
 * HAS_UNMAPPED_ID), which includes connect() on a pathname unix socket. Landlock does not mediate
 * that connect (its ABI 6 scope covers abstract sockets only), and a read-only mount does not
 * either (EROFS is for files, directories and links), so without this a host socket under a
 * read_only path (/run/dbus/..., a docker API, X11) would be a channel around the gateway. Reads
 * and exec use the "other" permission bits, as for any user that owns nothing there.
 * Needs root in the initial user namespace (an idmapped mount of a host file system) and a file
 * system that supports idmapped mounts (ext4, xfs, btrfs, tmpfs, overlayfs...; Linux 5.12+).
 */
static int idmap_fd = -1;

/* A user namespace mapping only IDMAP_UNUSED on disk (an id no file should have) to nobody. */
#define IDMAP_MAP "4294967293 65534 1\n"

void prepare_idmap(void) {
  step = "idmap";
  if (geteuid() != 0) return; /* unprivileged: host mounts cannot be idmapped; reported */
  int sync[2];
  CHECK(pipe2(sync, O_CLOEXEC), "pipe: %s", strerror(errno));
  pid_t pid = fork();
  CHECK(pid, "fork: %s", strerror(errno));
  if (pid == 0) {
    char c = unshare(CLONE_NEWUSER) == 0;
    write(sync[1], &c, 1);
    pause();
    _exit(0);
  }
  close(sync[1]);
  char ok = 0, path[64];
  if (read(sync[0], &ok, 1) == 1 && ok) {
    const char *files[] = {"uid_map", "gid_map"};
    int written = 0;
    for (int i = 0; i < 2; i++) {
      snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0 && write(fd, IDMAP_MAP, strlen(IDMAP_MAP)) == (ssize_t)strlen(IDMAP_MAP)) written++;
      if (fd >= 0) close(fd);
    }
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    if (written == 2) idmap_fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  close(sync[0]);
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

/* NAME (one path component) in DIR, never through a symlink and never above DIR. */
static int open_beneath(int dir, const char *name, int flags, mode_t mode) {
  struct open_how_v0 how = { (uint64_t)(flags | O_CLOEXEC), mode, NO_SYMLINKS | BENEATH };
  return (int)syscall(__NR_openat2, dir, name, &how, sizeof how);
}

__attribute__((noreturn)) static void refuse_mountpoint(const char *target, const char *at) {
  if (errno == ELOOP)
    die("mount point %s: %s is a symbolic link; mount points are never followed through links "
        "(was it planted in a writable path? remove it from the sandbox's persistent data)", target, at);
  die("mount point %s: %s: %s", target, at, strerror(errno));
}

/*
 * The mount point for TARGET inside the new root ROOT_FD, created as needed, as an O_PATH fd.
 * Mount points can lie inside an earlier read_write bind, i.e. in the agent's persistent data,
 * where the agent may have planted symlinks: every component is opened with openat2
 * (RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH) and created with mkdirat/O_CREAT relative to its
 * parent's fd, so root never creates anything outside the sandbox's own directories.
 */
static int mountpoint(int root_fd, const char *target, int is_dir) {
  char path[4096], *save = NULL;
  snprintf(path, sizeof path, "%s", target);
  int fd = dup(root_fd);
  CHECK(fd, "dup: %s", strerror(errno));
  char *name = strtok_r(path, "/", &save);
  while (name) {
    char *next = strtok_r(NULL, "/", &save);
    int n;
    if (next || is_dir) {
      n = open_beneath(fd, name, O_PATH | O_DIRECTORY, 0);
      if (n < 0 && errno == ENOENT) {
        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST) refuse_mountpoint(target, name);
        n = open_beneath(fd, name, O_PATH | O_DIRECTORY, 0);
      }
    } else {
      /* A file mount point: an empty regular file (O_NONBLOCK: a planted FIFO must not hang us). */
      n = open_beneath(fd, name, O_RDONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0644);
      struct stat st;
      if (n >= 0 && (fstat(n, &st) < 0 || !S_ISREG(st.st_mode))) die("mount point %s: %s exists and is not a regular file", target, name);
    }
    if (n < 0) refuse_mountpoint(target, name);
    close(fd);
    fd = n;
    name = next;
  }
  return fd;
}

/*
 * Bind SOURCE at TARGET in the new root with the new mount API: clone the source tree, set the
 * attributes on the detached clone (mount_setattr only adds restrictions: whatever the host mount
 * locks, e.g. nodev in a user namespace, stays), then attach it to the mount point's fd.
 * Non-recursive: host submounts under a path are not carried in (fail closed).
 */
static void bind_at(int root_fd, const char *source, const char *target, uint64_t attrs) {
  int tree = (int)syscall(__NR_open_tree, AT_FDCWD, source, TREE_CLONE | O_CLOEXEC);
  CHECK(tree, "bind %s: open_tree: %s%s", source, strerror(errno), errno == ENOSYS ? " (Linux 5.12 or later is needed)" : "");
  struct stat st;
  CHECK(fstat(tree, &st), "stat %s: %s", source, strerror(errno));
  struct mount_attr_v0 attr = { .attr_set = attrs };
  if ((attrs & ATTR_RDONLY) && idmap_fd >= 0) {
    struct mount_attr_v0 idmap = { .attr_set = ATTR_IDMAP, .userns_fd = (uint64_t)idmap_fd };
    if (syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &idmap, sizeof idmap) == 0) done.ro_idmapped++;
    else if (errno != EINVAL && errno != EOPNOTSUPP) die("bind %s: idmap: %s", source, strerror(errno));
    /* EINVAL: this file system cannot be idmapped; counted, so the report says sockets are reachable */
  }
  if (attrs & ATTR_RDONLY) done.ro_binds++;
  CHECK(syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr), "bind %s: mount_setattr: %s", source, strerror(errno));
  int at = mountpoint(root_fd, target, S_ISDIR(st.st_mode));
  CHECK(syscall(__NR_move_mount, tree, "", at, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "bind %s at %s: %s", source, target, strerror(errno));
  close(at);
  close(tree);
}

/*
 * A read_write path: an overlay whose upper layer is HOSTDIR (the sandbox's persistent data, so
 * every write lands there as with a bind) over an empty lower layer. Not a bind, because a bind's
 * root shows in /proc/self/mountinfo as its path from the file system's root, i.e. the host
 * state directory. The overlay's layers are named relative to our cwd (the sandbox's state dir),
 * and mountinfo shows exactly those strings: "upperdir=rw/tmp", never a host path.
 * HOSTDIR = G/P/N: cwd G, upper P/N, work dir P.work/N, lower P.empty (both made here, beside P).
 */
static void overlay_at(int root_fd, const char *hostdir, const char *target, uint64_t attrs) {
  char g[4096], upper[4096], work[4096], lower[4096];
  snprintf(g, sizeof g, "%s", hostdir);
  char *n = strrchr(g, '/');
  if (!n || n == g) die("rw directory %s is not absolute and two levels deep", hostdir);
  *n++ = 0;
  char *p = strrchr(g, '/');
  if (!p) die("rw directory %s is not absolute and two levels deep", hostdir);
  *p++ = 0;
  snprintf(upper, sizeof upper, "%s/%s", p, n);
  snprintf(work, sizeof work, "%s.work", p);
  snprintf(lower, sizeof lower, "%s.empty", p);
  int gd = open(*g ? g : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(gd, "open %s: %s", g, strerror(errno));
  if ((mkdirat(gd, lower, 0755) < 0 && errno != EEXIST) || (mkdirat(gd, work, 0700) < 0 && errno != EEXIST))
    die("overlay directories beside %s: %s", hostdir, strerror(errno));
  /* On the sandbox's own disk the upper directory is made here, the agent's (host ids of its range). */
  if (mkdirat(gd, p, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
  if (mkdirat(gd, upper, 0700) == 0) {
    long shift = spec.idmap >= 0 ? spec.idmap : 0;
    CHECK(fchownat(gd, upper, (uid_t)(spec.uid + shift), (gid_t)(spec.gid + shift), AT_SYMLINK_NOFOLLOW), "chown %s: %s", upper, strerror(errno));
  } else if (errno != EEXIST) die("mkdir %s: %s", upper, strerror(errno));
  /* The overlay's root takes the upper directory's mode: shared temporary directories are sticky
     1777 as on any Linux (same rule as rwDirMode in src/state/sandbox-layout.ts). */
  if (!strcmp(target, "/tmp") || !strcmp(target, "/var/tmp"))
    CHECK(fchmodat(gd, upper, 01777, 0), "chmod %s: %s", upper, strerror(errno));
  snprintf(work, sizeof work, "%s.work/%s", p, n);
  if (mkdirat(gd, work, 0700) < 0 && errno != EEXIST) die("mkdir %s: %s", work, strerror(errno));
  CHECK(fchdir(gd), "chdir %s: %s", g, strerror(errno));
  close(gd);
  int fs = (int)syscall(__NR_fsopen, "overlay", 1 /* FSOPEN_CLOEXEC */);
  CHECK(fs, "overlay for %s: fsopen: %s", target, strerror(errno));
  const char *opts[][2] = {{"lowerdir", lower}, {"upperdir", upper}, {"workdir", work}};
  for (int i = 0; i < 3; i++)
    CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_STRING, opts[i][0], opts[i][1], 0), "overlay for %s: %s=%s: %s", target, opts[i][0], opts[i][1], strerror(errno));
  /* In a user namespace overlay keeps its metadata in user.overlay.* (trusted.* needs host root). */
  if (done.userns) CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_FLAG, "userxattr", NULL, 0), "overlay userxattr: %s", strerror(errno));
  CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_CREATE, NULL, NULL, 0), "overlay for %s on %s: %s", target, hostdir, strerror(errno));
  int mnt = (int)syscall(__NR_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, attrs);
  CHECK(mnt, "overlay for %s: fsmount: %s", target, strerror(errno));
  close(fs);
  CHECK(chdir("/"), "chdir /: %s", strerror(errno));
  int at = mountpoint(root_fd, target, 1);
  CHECK(syscall(__NR_move_mount, mnt, "", at, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "mount %s: %s", target, strerror(errno));
  close(at);
  close(mnt);
}

/*
 * A devpts instance of its own (every devpts mount is a new one since Linux 4.7; `newinstance`
 * says so for older readers), attached at the directory TARGET_FD, nosuid and noexec: it holds
 * only the ptys opened through its own ptmx, never the host's. ptmxmode 0666: any process there
 * may open one; mode 0620: a pty belongs to its opener, or to UID/GID when they are >= 0 (ids
 * of the mounter's user namespace); max: one sandbox cannot use up the kernel's ptys
 * (kernel.pty.max is shared by every instance). Returns the mount's fd: ptmx is "ptmx" in it.
 */
int mount_devpts(int target_fd, long uid, long gid) {
  int fs = (int)syscall(__NR_fsopen, "devpts", 1 /* FSOPEN_CLOEXEC */);
  CHECK(fs, "devpts: fsopen: %s", strerror(errno));
  char u[24], g[24];
  snprintf(u, sizeof u, "%ld", uid);
  snprintf(g, sizeof g, "%ld", gid);
  const char *opts[][2] = {{"ptmxmode", "0666"}, {"mode", "0620"}, {"max", PTY_MAX}, {"uid", u}, {"gid", g}};
  CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_FLAG, "newinstance", NULL, 0), "devpts newinstance: %s", strerror(errno));
  for (int i = 0; i < (uid >= 0 ? 5 : 3); i++)
    CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_STRING, opts[i][0], opts[i][1], 0), "devpts %s=%s: %s", opts[i][0], opts[i][1], strerror(errno));
  CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_CREATE, NULL, NULL, 0), "devpts: %s", strerror(errno));
  int mnt = (int)syscall(__NR_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, ATTR_NOSUID | ATTR_NOEXEC);
  CHECK(mnt, "devpts: fsmount: %s", strerror(errno));
  close(fs);
  CHECK(syscall(__NR_move_mount, mnt, "", target_fd, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "mount devpts on /dev/pts: %s", strerror(errno));
  return mnt;
}

/* PATH beneath a noexec read_write mount, granted execute by the policy: its own mount, without
   noexec, so that granting it never lifts noexec from the rest of the writable path. */
static void exec_submount(int root_fd, const char *path) {
  int at = mountpoint(root_fd, path, 1);
  int tree = (int)syscall(__NR_open_tree, at, "", TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
  CHECK(tree, "exec mount %s: open_tree: %s", path, strerror(errno));
  struct mount_attr_v0 attr = { .attr_set = ATTR_NOSUID | ATTR_NODEV, .attr_clr = ATTR_NOEXEC };
  CHECK(syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr), "exec mount %s: %s", path, strerror(errno));
  CHECK(syscall(__NR_move_mount, tree, "", at, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "exec mount %s: %s", path, strerror(errno));
  close(tree);
  close(at);
}

/*
 * No execve() of a memfd: vm.memfd_noexec=2 in the sandbox's pid namespace (Linux 6.3+, per pid
 * namespace, inherited and never lowered by children) refuses memfd_create(MFD_EXEC) and makes
 * every other memfd MFD_NOEXEC_SEAL: no exec bit, and none can be added. memfd_create and
 * mmap(PROT_EXEC) of a memfd still work (V8 needs both). 6.3-6.5 also refused memfd_create
 * without MFD_NOEXEC_SEAL at 2, which breaks programs, so it is set from 6.6 on only.
 */
static void block_memfd_exec(const char *proc) {
  struct utsname u;
  int major = 0, minor = 0;
  if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2 || major * 1000 + minor < 6006) return;
  char path[4200];
  snprintf(path, sizeof path, "%s/sys/vm/memfd_noexec", proc);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && write(fd, "2", 1) == 1) done.memfd_noexec = 1;
  else if (!done.userns) die("set vm.memfd_noexec=2 in the sandbox: %s", strerror(errno));
  /* In a user namespace the sysctl is root's: the report says memfd exec is not blocked. */
  if (fd >= 0) close(fd);
}

/*
 * An image as the root: an overlay whose lower layer is the unpacked image (read-only, shared by
 * every sandbox of that digest) and whose upper layer is the tmpfs on R, which only ever holds
 * the mount points made below (the root is remounted read-only after pivot_root). The image is
 * first bound at R/lower (not idmapped: its files are root's, as the image says) and the layers
 * are named relative to R, so mountinfo shows "lowerdir=lower,upperdir=upper", never a host path.
 */
static void image_root(const char *r) {
  int tmp = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(tmp, "open %s: %s", r, strerror(errno));
  const char *dirs[] = {"lower", "upper", "work"};
  for (int i = 0; i < 3; i++) CHECK(mkdirat(tmp, dirs[i], 0755), "mkdir %s/%s: %s", r, dirs[i], strerror(errno));
  int tree = (int)syscall(__NR_open_tree, AT_FDCWD, spec.image, TREE_CLONE | O_CLOEXEC);
  CHECK(tree, "image %s: open_tree: %s", spec.image, strerror(errno));
  struct mount_attr_v0 attr = { .attr_set = ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV };
  CHECK(syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr), "image %s: mount_setattr: %s", spec.image, strerror(errno));
  int at = open_beneath(tmp, "lower", O_PATH | O_DIRECTORY, 0);
  CHECK(at, "open %s/lower: %s", r, strerror(errno));
  CHECK(syscall(__NR_move_mount, tree, "", at, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "image %s: move_mount: %s", spec.image, strerror(errno));
  close(at);
  close(tree);
  CHECK(fchdir(tmp), "chdir %s: %s", r, strerror(errno));
  int fs = (int)syscall(__NR_fsopen, "overlay", 1 /* FSOPEN_CLOEXEC */);
  CHECK(fs, "image overlay: fsopen: %s", strerror(errno));
  const char *opts[][2] = {{"lowerdir", "lower"}, {"upperdir", "upper"}, {"workdir", "work"}};
  for (int i = 0; i < 3; i++)
    CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_STRING, opts[i][0], opts[i][1], 0), "image overlay: %s: %s", opts[i][0], strerror(errno));
  if (done.userns) CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_FLAG, "userxattr", NULL, 0), "image overlay userxattr: %s", strerror(errno));
  CHECK(syscall(__NR_fsconfig, fs, FSCONFIG_CREATE, NULL, NULL, 0), "image overlay on %s: %s", spec.image, strerror(errno));
  int mnt = (int)syscall(__NR_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, ATTR_NOSUID | ATTR_NODEV);
  CHECK(mnt, "image overlay: fsmount: %s", strerror(errno));
  close(fs);
  CHECK(chdir("/"), "chdir /: %s", strerror(errno));
  CHECK(syscall(__NR_move_mount, mnt, "", tmp, "", MOVE_F_EMPTY_PATH | MOVE_T_EMPTY_PATH), "image overlay on %s: %s", r, strerror(errno));
  close(mnt);
  close(tmp);
}

void build_root(void) {
  step = "root";
  char dest[4096];
  const char *r = spec.root;
  /* Nothing we mount may propagate back to the host. */
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private: %s", strerror(errno));
  CHECK(mount("tmpfs", r, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m"), "tmpfs on %s: %s", r, strerror(errno));
  if (spec.image) image_root(r);
  int root_fd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(root_fd, "open %s: %s", r, strerror(errno));
  /* In spec order, which is sorted by target: a parent is mounted before what lies under it. */
  for (int i = 0; i < spec.n_mounts; i++) {
    struct mnt *m = &spec.mounts[i];
    uint64_t attrs = ATTR_NOSUID | ATTR_NODEV | (m->rw ? 0 : ATTR_RDONLY) | (m->exec ? 0 : ATTR_NOEXEC);
    if (m->rw) overlay_at(root_fd, m->source, m->target, attrs);
    else bind_at(root_fd, m->source, m->target, attrs);
  }
  for (int i = 0; i < spec.n_exec; i++) exec_submount(root_fd, spec.exec[i]);
  close(root_fd);
  if (idmap_fd >= 0) close(idmap_fd);
  snprintf(dest, sizeof dest, "%s/proc", r);
  mkdirs(dest, 0555);
  CHECK(mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc: %s", strerror(errno));
  block_memfd_exec(dest);
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
  /* The sandbox's own ptys (mount_devpts): /dev/pts and /dev/ptmx, as on any Linux. A tty
     `nemoclaw connect` opens is in another instance, in the session's own mount namespace (join.c). */
  snprintf(dest, sizeof dest, "%s/dev/pts", r);
  mkdirs(dest, 0755);
  int pts_dir = open(dest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  CHECK(pts_dir, "open %s: %s", dest, strerror(errno));
  close(mount_devpts(pts_dir, -1, -1));
  close(pts_dir);
  static const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                   {"pts/ptmx", "ptmx"}};
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

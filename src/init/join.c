/*
 * nemoclaw-init: `nemoclaw connect`, a command inside a RUNNING sandbox, never with more than its agent.
 *
 *   nemoclaw-init --join PID 3<spec 4<seccomp.bpf        (embedded runtime; PID: the outer init)
 *   nemoclaw-init --container-exec SPECFILE [BPFFILE]     (docker exec into the container)
 *
 * --join: the outer init (the supervisor's child) lives in every namespace of the sandbox but the
 * pid one, whose children are in it (/proc/PID/ns/pid_for_children). It stays dumpable, unlike
 * pid 1 and the relay, so its owner may open those files. We open them all first (after setns
 * into the mount namespace, /proc is the sandbox's), check PID really runs this init (same exe),
 * join its cgroups, enter user (first: it grants the capabilities the others need), cgroup, ipc,
 * uts, net, mnt (root and cwd become the sandbox's root) and pid, then fork: the child is in the
 * sandbox's pid namespace and takes the agent's last steps from the same spec and BPF the agent
 * got: rlimits, identity, no capabilities, no_new_privs, Landlock, seccomp, exec.
 *
 * --container-exec: Docker already put us in the container's namespaces and cgroups, as the
 * sandbox uid, with its capabilities dropped and its seccomp.json loaded; we apply the rest as
 * in container mode (rlimits, identity check, capabilities, no_new_privs, Landlock, seccomp check).
 * A container started as root (spec `idmap`): docker exec -u 0:0, then the agent's host ids, its
 * user namespace, and the agent's own filter (BPFFILE) on top of Docker's, as the agent has.
 *
 * A terminal: when stdin is a tty, --join gives the session a mount namespace of its own (a copy
 * of the sandbox's) with a devpts instance of its own over /dev/pts, opens a pty there, makes it
 * the command's controlling terminal and relays between it and ours in raw mode. So the command's
 * tty is a /dev/pts/N of the sandbox (`tty`, ttyname, job control work), no host pty is ever in
 * the sandbox, and the agent, whose /dev/pts is another instance, can neither see nor open it.
 * The relay keeps no capability. docker exec -t allocates in the container's devpts for
 * --container-exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "init.h"

static int pty_master = -1;
static volatile sig_atomic_t winch = 1;
static volatile pid_t child_pid = 0;

static void on_winch(int sig) { (void)sig; winch = 1; }
static void forward(int sig) { if (child_pid > 0) kill(child_pid, sig); }

/* The agent's last steps (run_agent in nemoclaw-init.c), then exec the connect command. */
__attribute__((noreturn)) static void exec_confined(void) {
  step = "workdir";
  CHECK(chdir(spec.workdir), "chdir %s: %s", spec.workdir, strerror(errno));
  set_rlimits();
  switch_identity();
  drop_capabilities();
  set_no_new_privs();
  apply_landlock();
  load_seccomp();
  extern char **environ;
  environ = spec.env;
  execvp(spec.argv[0], spec.argv);
  dprintf(2, "nemoclaw-init: exec %s: %s\n", spec.argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/* Copies what is readable from `from` to `to`; returns 0 at EOF or error. */
static int pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return 0;
    off += w;
  }
  return 1;
}

/* Our terminal <-> the pty, raw, until the command's side closes; returns its exit code. */
static int relay_terminal(pid_t pid) {
  struct termios saved, raw;
  int have_tty = tcgetattr(0, &saved) == 0;
  /* TCSADRAIN, not TCSAFLUSH: what the user typed while connect started is kept (as ssh does). */
  if (have_tty) { raw = saved; cfmakeraw(&raw); tcsetattr(0, TCSADRAIN, &raw); }
  struct sigaction sa = { .sa_handler = on_winch };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, NULL);
  int in_open = 1;
  for (;;) {
    if (winch) {
      struct winsize ws;
      winch = 0;
      if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(pty_master, TIOCSWINSZ, &ws);
    }
    struct pollfd p[2] = { { in_open ? 0 : -1, POLLIN, 0 }, { pty_master, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[1].revents && !pump(pty_master, 1)) break; /* EIO: every holder of the pty's other end is gone */
    if (p[0].revents && !pump(0, pty_master)) in_open = 0;
  }
  if (have_tty) tcsetattr(0, TCSAFLUSH, &saved);
  int status;
  while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) return FAIL;
  return exit_code(status);
}

/* In the sandbox's mount namespace, with the rights of its owner (before the agent's user
   namespace): the session's own mount namespace and devpts, and a pty in it. Nothing mounted here
   reaches the sandbox's namespace (private); the instance goes away with the session. */
static int open_session_pty(int *slave) {
  step = "pty";
  CHECK(unshare(CLONE_NEWNS), "a mount namespace for the session: %s", strerror(errno));
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make the session's mounts private: %s", strerror(errno));
  int dir = open("/dev/pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) die("the sandbox has no /dev/pts (%s): restart it to connect with a terminal", strerror(errno));
  /* The session's ptys are its user's, as a login's are (ids of the mount namespace's owner). */
  long shift = spec.idmap >= 0 ? spec.idmap : 0;
  int pts = mount_devpts(dir, spec.uid + shift, spec.gid + shift);
  close(dir);
  int master = openat(pts, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  CHECK(master, "open a pseudo-terminal: %s", strerror(errno));
  close(pts);
  int unlock = 0;
  CHECK(ioctl(master, TIOCSPTLCK, &unlock), "unlock the pseudo-terminal: %s", strerror(errno));
  /* The other end through the master (no lookup by name): Linux 4.13+. */
  *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  CHECK(*slave, "open the pseudo-terminal's other end: %s", strerror(errno));
  return master;
}

static int open_ns(pid_t pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(fd, "open %s: %s", path, strerror(errno));
  return fd;
}

/* Is `fd` a different namespace from ours of the same kind? setns into our own user namespace fails. */
static int differs(int fd, const char *name) {
  struct stat a, b;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/ns/%s", name);
  return fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* Host pids of PID's children (/proc/PID/task/PID/children), at most `max`. */
static int children_of(pid_t pid, pid_t *out, int max) {
  char path[96], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  int k = 0;
  for (char *p = buf, *end; k < max; p = end) {
    long v = strtol(p, &end, 10);
    if (end == p) break;
    out[k++] = (pid_t)v;
  }
  return k;
}

/* The user namespace of a child of PID 1 (a sandbox's pid 1) other than ours, or -1. The relays
   are pid 1's children too, in our namespace; with no capabilities a non-dumpable process of
   another uid cannot be opened at all, which only skips it. */
static int child_userns_fd(pid_t pid1) {
  pid_t agents[64];
  int na = children_of(pid1, agents, 64);
  for (int j = 0; j < na; j++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)agents[j]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (differs(fd, "user")) return fd;
    close(fd);
  }
  return -1;
}

/* The agent's user namespace: a grandchild of the outer init (outer → pid 1 → agent) in a user
   namespace other than ours. Refused when there is none (the agent is gone). */
static int agent_userns_fd(pid_t outer) {
  pid_t inner[16];
  int ni = children_of(outer, inner, 16);
  for (int i = 0; i < ni; i++) {
    int fd = child_userns_fd(inner[i]);
    if (fd >= 0) return fd;
  }
  die("sandbox process %d: its agent's user namespace was not found (is the agent running?)", (int)outer);
}

/* PID must run the very init binary we are: a stale or reused pid is refused, not joined. */
static void check_target(pid_t pid) {
  char a[4096], b[4096], path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  ssize_t n = readlink(path, a, sizeof a - 1), m = readlink("/proc/self/exe", b, sizeof b - 1);
  if (n < 0) die("sandbox process %d: %s", (int)pid, strerror(errno));
  if (m < 0 || n != m || memcmp(a, b, (size_t)n)) die("process %d is not this sandbox's init", (int)pid);
}

__attribute__((noreturn)) void join_main(pid_t target) {
  step = "join";
  parse_spec();
  read_bpf();
  check_target(target);
  static const char *const kinds[] = { "user", "cgroup", "ipc", "uts", "net", "mnt", "pid_for_children" };
  static const int flags[] = { CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID };
  int fds[7];
  for (int i = 0; i < 7; i++) fds[i] = open_ns(target, kinds[i]);
  /* With idmap the agent alone has a user namespace (over the sandbox's host id range), created
     after the others: the command joins it last, so it holds the agent's ids and files. */
  int agent_userns = spec.idmap >= 0 ? agent_userns_fd(target) : -1;
  int tty = isatty(0);
  int slave = -1;
  join_cgroups();
  step = "join";
  done.userns = differs(fds[0], "user");
  for (int i = 0; i < 7; i++) {
    if (i == 0 && !done.userns) { close(fds[i]); continue; }
    CHECK(setns(fds[i], flags[i]), "enter %s namespace: %s", kinds[i], strerror(errno));
    close(fds[i]);
  }
  if (tty) pty_master = open_session_pty(&slave);
  if (agent_userns >= 0) {
    CHECK(setns(agent_userns, CLONE_NEWUSER), "enter the agent's user namespace: %s", strerror(errno));
    close(agent_userns);
    done.agent_userns = 1; /* ids are the sandbox's own from here (no host shift) */
  }
  struct sigaction sa = { .sa_handler = forward };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  if (!tty) sigaction(SIGINT, &sa, NULL); /* on a terminal, ^C is a byte for the pty */
  step = "fork";
  pid_t pid = fork();
  CHECK(pid, "%s", strerror(errno));
  if (pid == 0) {
    if (tty) {
      step = "pty";
      CHECK(setsid(), "setsid: %s", strerror(errno));
      CHECK(ioctl(slave, TIOCSCTTY, 0), "controlling terminal: %s", strerror(errno));
      for (int fd = 0; fd < 3; fd++) CHECK(dup2(slave, fd), "dup2: %s", strerror(errno));
    } else {
      step = "session";
      CHECK(setsid(), "setsid: %s", strerror(errno)); /* our terminal, if any, is not its controlling tty */
    }
    close_inherited_fds();
    exec_confined();
  }
  child_pid = pid;
  if (slave >= 0) close(slave);
  drop_helper_privileges();
  if (tty) _exit(relay_terminal(pid));
  for (;;) {
    int status;
    if (waitpid(pid, &status, 0) == pid) _exit(exit_code(status));
    if (errno != EINTR) _exit(FAIL);
  }
}

/*
 * docker exec as root into a container whose init built the agent's user namespace (idmap): take
 * the agent's host ids BASE+uid/gid first (giving up the container's few capabilities), which
 * makes us the owner of that namespace, so we may open it through the agent's /proc entry (the
 * agent is non-dumpable: only the owner has CAP_SYS_PTRACE over it) and enter it (CAP_SYS_ADMIN
 * there, as its owner). From there on, ids are the sandbox's own, as for the agent.
 */
static void join_container_agent_userns(void) {
  step = "join";
  uid_t uid = (uid_t)(spec.idmap + spec.uid);
  gid_t gid = (gid_t)(spec.idmap + spec.gid);
  CHECK(setgroups(0, NULL), "setgroups: %s", strerror(errno));
  CHECK(setresgid(gid, gid, gid), "setresgid %u: %s", (unsigned)gid, strerror(errno));
  CHECK(setresuid(uid, uid, uid), "setresuid %u: %s", (unsigned)uid, strerror(errno));
  int fd = child_userns_fd(1);
  if (fd < 0) die("the agent's user namespace was not found (is the agent running?)");
  CHECK(setns(fd, CLONE_NEWUSER), "enter the agent's user namespace: %s", strerror(errno));
  close(fd);
  done.agent_userns = 1;
}

__attribute__((noreturn)) void container_exec_main(const char *spec_file, const char *bpf_file) {
  container_mode = 1;
  step = "container-exec";
  int sp = open(spec_file, O_RDONLY | O_CLOEXEC);
  if (sp < 0) die("open %s: %s", spec_file, strerror(errno));
  if (sp != SPEC_FD) { CHECK(dup2(sp, SPEC_FD), "dup spec: %s", strerror(errno)); close(sp); }
  parse_spec();
  if (spec.idmap >= 0) {
    /* Docker's filter is the agent's plus the init's steps: the agent's own goes on top. */
    if (!bpf_file) die("a spec with idmap needs the agent's seccomp filter (BPFFILE)");
    int bp = open(bpf_file, O_RDONLY | O_CLOEXEC);
    if (bp < 0) die("open %s: %s", bpf_file, strerror(errno));
    if (bp != BPF_FD) { CHECK(dup2(bp, BPF_FD), "dup seccomp: %s", strerror(errno)); close(bp); }
    read_bpf();
    join_container_agent_userns();
  }
  close_inherited_fds();
  exec_confined();
}

/*
 * Escape probe: runs INSIDE a sandbox and tries to get out. Each check prints one line,
 * "<name> OK" when the operation succeeded or "<name> <ERRNO>" (e.g. EACCES) when it failed,
 * or "<name> VALUE <text>" for checks that report a value. The test asserts the exact result;
 * every category has a "*_control" check that must succeed, so a sandbox that breaks
 * everything cannot pass.
 *
 * usage: probe all HOST_PID OTHER_SANDBOX_FILE ABSTRACT_NAME [SETUID_COPY]
 *        probe euid          (prints the effective uid; used through a setuid-root copy)
 *        probe tty           (TIOCSTI checks, run with a terminal on stdin)
 *        probe forkbomb      (forks until refused; prints how many)
 *        probe leak          (prints /proc/self/mountinfo, /proc/self/mounts, /proc/{1,2}/cmdline)
 *        probe exec SELF     (running code dropped in writable places: memfd exec, ld.so PAYLOAD)
 *        probe socket PATH   (connect to a pathname unix socket)
 *        probe done          (prints "done OK")
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void result(const char *name, long rc) {
  if (rc >= 0) printf("%s OK\n", name);
  else printf("%s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
  fflush(stdout);
}

static long open_close(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  return fd;
}

static long tcp(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, ip, &sa.sin_addr);
  long rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

static long udp(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, ip, &sa.sin_addr);
  long rc = sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

static long abstract_connect(const char *name, int create_first) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  memcpy(sa.sun_path + 1, name, strlen(name));
  int l = -1;
  if (create_first) {
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr *)&sa, len) < 0 || listen(l, 1) < 0) return -1;
  }
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  long rc = connect(s, (struct sockaddr *)&sa, len);
  int e = errno;
  close(s);
  if (l >= 0) close(l);
  errno = e;
  return rc;
}

static long copy_file(const char *from, const char *to) {
  char buf[65536];
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (in < 0 || out < 0) return -1;
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, (size_t)n) != n) return -1;
  close(in);
  close(out);
  return 0;
}

/* fork+exec PATH; returns 0 when it ran and exited 0, -1 with errno from execve otherwise. */
static long run(const char *path) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {(char *)path, NULL};
    execv(path, argv);
    int e = errno;
    write(p[1], &e, sizeof e);
    _exit(127);
  }
  close(p[1]);
  int e = 0, status;
  ssize_t n = read(p[0], &e, sizeof e);
  close(p[0]);
  waitpid(pid, &status, 0);
  if (n == sizeof e) { errno = e; return -1; }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : (errno = ECHILD, -1);
}

static void filesystem(const char *other) {
  result("read_shadow", open_close("/etc/shadow", O_RDONLY));
  result("read_root_home", open_close("/root", O_RDONLY | O_DIRECTORY));
  result("read_other_sandbox", open_close(other, O_RDONLY));
  result("list_sandbox_root", open_close("/", O_RDONLY | O_DIRECTORY));
  result("read_control", open_close("/usr/bin/env", O_RDONLY));

  result("create_outside", open_close("/usr/nemoclaw-escape", O_WRONLY | O_CREAT));
  result("create_in_root", open_close("/nemoclaw-escape", O_WRONLY | O_CREAT));
  result("write_outside", open_close("/usr/bin/env", O_WRONLY));
  result("truncate_outside", truncate("/usr/bin/env", 0));
  result("rename_outside", rename("/usr/bin/env", "/usr/bin/env.moved"));
  result("rename_out_of_rw", rename("/sandbox/moveme", "/usr/moveme"));
  result("link_outside", link("/usr/bin/env", "/sandbox/env-link"));
  result("write_dev_dir", open_close("/dev/escape", O_WRONLY | O_CREAT));
  result("write_control", open_close("/sandbox/created", O_WRONLY | O_CREAT));
  result("rename_control", rename("/sandbox/created", "/sandbox/renamed"));
  result("link_control", link("/sandbox/renamed", "/sandbox/linked"));
  result("truncate_control", truncate("/sandbox/renamed", 0));

  copy_file("/usr/bin/true", "/tmp/true-copy");
  result("exec_rw", run("/tmp/true-copy"));
  copy_file("/usr/bin/true", "/sandbox/true-copy");
  result("exec_workdir", run("/sandbox/true-copy"));
  copy_file("/usr/bin/true", "/sandbox/bin/true-copy");
  result("exec_control_executable", run("/sandbox/bin/true-copy"));
  result("exec_control_ro", run("/usr/bin/true"));
}

static void network(const char *abstract) {
  result("tcp_external_port80", tcp("1.1.1.1", 80));
  result("tcp_external_proxyport", tcp("1.1.1.1", 3128));
  result("tcp_loopback_other_port", tcp("127.0.0.1", 22));
  result("tcp_control_bridge", tcp("127.0.0.1", 3128));
  result("udp_external", udp("1.1.1.1", 53));
  result("dns_resolver", udp("8.8.8.8", 53));
  result("resolv_conf", open_close("/etc/resolv.conf", O_RDONLY));
  result("raw_socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  result("packet_socket", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  result("abstract_host", abstract_connect(abstract, 0));
  result("abstract_control", abstract_connect("nemoclaw-probe-own", 1));
}

static void processes(const char *host_pid) {
  result("signal_host_pid", kill(atoi(host_pid), 0));
  result("signal_init", kill(1, SIGTERM));
  result("ptrace_init", ptrace(PTRACE_ATTACH, 1, 0, 0));
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/status", host_pid);
  result("proc_host_pid", open_close(path, O_RDONLY));
  result("proc_init_environ", open_close("/proc/1/environ", O_RDONLY));
  result("proc_control", open_close("/proc/self/status", O_RDONLY));
  pid_t child = fork();
  if (child == 0) { pause(); _exit(0); }
  result("signal_control", kill(child, SIGKILL));
  waitpid(child, NULL, 0);
}

static void kernel(void) {
  result("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  result("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
  result("unshare_user", unshare(CLONE_NEWUSER));
  int ns = open("/proc/self/ns/net", O_RDONLY);
  result("setns", setns(ns, CLONE_NEWNET));
  result("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
  result("bpf", syscall(SYS_bpf, 0, NULL, 0));
  result("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
  result("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  result("userfaultfd", syscall(SYS_userfaultfd, 0));
  result("setuid0", setuid(0));
  result("proc_sys_write", open_close("/proc/sys/kernel/hostname", O_WRONLY));
  result("syscall_control", syscall(SYS_getpid));
}

static int forkbomb(void) {
  int n = 0;
  for (;;) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) break;
    n++;
  }
  int e = errno;
  printf("forkbomb_count VALUE %d\n", n);
  errno = e;
  result("forkbomb", -1);
  kill(0, SIGKILL); /* the whole group, including us: the sandbox ends here */
  return 0;
}

/* Prints FILE as one line, NULs as spaces: "NAME VALUE <content>". */
static void show(const char *name, const char *file) {
  char buf[65536];
  int fd = open(file, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n < 0) { result(name, -1); return; }
  for (ssize_t i = 0; i < n; i++) if (buf[i] == 0 || buf[i] == '\n') buf[i] = ' ';
  buf[n] = 0;
  printf("%s VALUE %s\n", name, buf);
  close(fd);
}

/* Copies FROM to a new file TO (mode 0755); -1 on failure. */
static long copy(const char *from, int to) {
  char buf[65536];
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(to, buf, (size_t)n) != n) { close(in); return -1; }
  close(in);
  return n;
}

static long copy_to(const char *from, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return -1;
  long rc = copy(from, fd);
  close(fd);
  return rc;
}

/* Runs argv in a child; prints "<name> VALUE <exit code>" (127: could not run it). */
static void run_status(const char *name, char *const argv[]) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  waitpid(p, &st, 0);
  printf("%s VALUE %d\n", name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* execveat(fd, "") / execve(/proc/self/fd/N) of FD in a child; prints the errno, or OK if it ran. */
static void exec_fd(const char *name, int fd, int via_proc) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    char *argv[] = { "probe", "done", NULL }, *envp[] = { NULL }, path[64];
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (via_proc) execve(path, argv, envp);
    else syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(100 + errno);
  }
  int st = 0;
  waitpid(p, &st, 0);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (code == 0) result(name, 0);
  else { errno = code >= 100 ? code - 100 : EIO; result(name, -1); }
}

static const char *ld_so(void) {
  static const char *paths[] = { "/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-linux-x86-64.so.2" };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) if (access(paths[i], X_OK) == 0) return paths[i];
  return "/lib64/ld-linux-x86-64.so.2";
}

static void exec_writable(const char *self) {
  /* memfd_create stays (Node needs it), and so does mapping one executable (V8's JIT). */
  int m = memfd_create("payload", 0);
  result("memfd_create_control", m);
  copy(self, m);
  void *map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, m, 0);
  result("memfd_mmap_exec_control", map == MAP_FAILED ? -1 : 0);
  exec_fd("memfd_execveat", m, 0);
  exec_fd("memfd_exec_proc", m, 1);
  result("memfd_create_exec_flag", memfd_create("payload", 0x10 /* MFD_EXEC */));
  result("memfd_chmod_exec", fchmod(m, 0755));
  /* A dynamic binary dropped in writable paths, run through the dynamic loader (which mmaps it). */
  char *ld = (char *)ld_so();
  copy_to("/bin/true", "/tmp/payload");
  copy_to("/bin/true", "/sandbox/payload");
  copy_to("/bin/true", "/sandbox/bin/payload");
  run_status("ldso_tmp", (char *[]){ ld, "/tmp/payload", NULL });
  run_status("ldso_workdir", (char *[]){ ld, "/sandbox/payload", NULL });
  run_status("ldso_executable_control", (char *[]){ ld, "/sandbox/bin/payload", NULL });
  run_status("ldso_ro_control", (char *[]){ ld, "/bin/true", NULL });
  run_status("exec_executable_control", (char *[]){ "/sandbox/bin/payload", NULL });
}

static long unix_connect(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  long rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

/* A host socket under a read_only path must not answer; the agent's own socket must. */
static void sockets(const char *host_socket) {
  struct stat st;
  result("socket_host_visible_control", stat(host_socket, &st));
  result("socket_host", unix_connect(host_socket));
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/tmp/own.sock" };
  unlink(sa.sun_path);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 1) < 0) { result("socket_control", -1); return; }
  result("socket_control", unix_connect(sa.sun_path));
  close(l);
}

static void tty(void) {
  result("tty_isatty_control", isatty(0) ? 0 : (errno = ENOTTY, -1));
  struct termios t;
  result("tty_tcgetattr_control", tcgetattr(0, &t));
  char c = 'x';
  result("tiocsti", ioctl(0, TIOCSTI, &c));
  result("open_dev_tty", open_close("/dev/tty", O_RDWR));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && !strcmp(argv[1], "euid")) { printf("euid VALUE %d\n", geteuid()); return 0; }
  if (argc == 2 && !strcmp(argv[1], "forkbomb")) return forkbomb();
  if (argc == 2 && !strcmp(argv[1], "tty")) { tty(); return 0; }
  if (argc == 2 && !strcmp(argv[1], "leak")) {
    show("mountinfo", "/proc/self/mountinfo");
    show("mounts", "/proc/self/mounts");
    show("cmdline_1", "/proc/1/cmdline");
    show("cmdline_2", "/proc/2/cmdline");
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "exec")) { exec_writable(argv[0]); return 0; }
  if (argc == 3 && !strcmp(argv[1], "socket")) { sockets(argv[2]); return 0; }
  if (argc == 2 && !strcmp(argv[1], "done")) { printf("done OK\n"); return 0; }
  if (argc < 5 || strcmp(argv[1], "all")) { fprintf(stderr, "usage: see probe.c\n"); return 2; }
  filesystem(argv[3]);
  network(argv[4]);
  processes(argv[2]);
  kernel();
  if (argc == 6) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { execl(argv[5], argv[5], "euid", (char *)NULL); printf("setuid_exec %s\n", strerrorname_np(errno)); _exit(1); }
    waitpid(p, NULL, 0);
  }
  printf("done OK\n");
  return 0;
}

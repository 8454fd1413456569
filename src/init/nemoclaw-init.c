/*
 * nemoclaw-init: the first program in every embedded (`runtime: process`) sandbox.
 *
 * It turns a line-based spec (format: spec.c) into kernel enforcement, in this order, and fails
 * closed: any step that fails prints "nemoclaw-init: <step>: <reason>" to stderr, writes
 * {"ok":false,...} to the report fd and exits 125 before the agent runs.
 *
 *   cgroups -> idmap userns -> namespaces -> (fork: pid 1) -> own disk -> root + pivot_root -> hostname -> loopback
 *   -> inbound sockets -> proxy relay -> (fork: agent) -> rlimits -> [root: own user namespace over the sandbox's host
 *   id range, mapped by pid 1] -> close fds -> env -> identity -> capabilities
 *   -> no_new_privs -> dumpable 0 -> Landlock -> seccomp -> report -> exec
 *
 * This file is that sequence, read top to bottom: main() (the outer process), sandbox_pid1(),
 * fork_agent_and_supervise() and run_agent(). Each step lives in the unit named in init.h.
 *
 * File descriptors handed in by the supervisor:
 *   3  spec (read to EOF)            4  seccomp BPF: raw struct sock_filter array (read to EOF)
 *   5  report: one JSON line written just before exec (close-on-exec, so EOF = agent running)
 *
 * Container mode (`nemoclaw-init --container RUNDIR`, the docker driver's entrypoint): Docker has
 * already created the namespaces, mounted the root, applied cgroup limits, dropped capabilities and
 * loaded its seccomp profile. The spec is RUNDIR/spec, the report goes to RUNDIR/report.json, and
 * the init does the rest: relay -> (fork: agent) -> close fds -> env -> rlimits -> identity ->
 * capabilities -> no_new_privs -> Landlock -> check a seccomp filter is active -> report -> exec.
 * RUNDIR is not in the agent's Landlock rules, so the agent cannot rewrite its own report.
 * Started as root (the spec has `idmap BASE`), the container is root with CAP_SETUID, CAP_SETGID
 * and CAP_SETPCAP only, and the init builds the agent's own user namespace as in the embedded
 * runtime (userns.c): pid 1 maps it, then drops to BASE+uid; the agent, uid 1000 inside, loads
 * its own filter (RUNDIR/seccomp.bpf, compiled on the host) on top of Docker's wider one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"

/* Defined below in the order they run. */
static void sandbox_pid1(void) __attribute__((noreturn));
static void container_main(const char *run_dir) __attribute__((noreturn));
static void fork_agent_and_supervise(void) __attribute__((noreturn));
static void run_agent(void) __attribute__((noreturn));
static void install_forwarders(void);
static void supervise(pid_t main_child, int reap_all) __attribute__((noreturn));
static volatile pid_t forward_to = 0;
static int idmap_fds[4] = {-1, -1, -1, -1};

/* ---------- the outer process: cgroups, namespaces, then mirror pid 1 ---------- */

/* /proc/<pid>/cmdline of the outer init, pid 1 and the relay (all forks of this process) is
   readable inside the sandbox: it must not name host paths (install dir, run dir). */
static void hide_argv(int argc, char **argv) {
  char *end = argv[argc - 1] + strlen(argv[argc - 1]);
  memset(argv[0], 0, (size_t)(end - argv[0]));
  memcpy(argv[0], "nemoclaw-init", end - argv[0] < 13 ? (size_t)(end - argv[0]) : 13);
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--probe")) return probe();
  if (argc == 3 && !strcmp(argv[1], "--container")) {
    char *run_dir = strdup(argv[2]);
    hide_argv(argc, argv);
    container_main(run_dir ? run_dir : "/");
  }
  if (argc == 3 && !strcmp(argv[1], "--join")) {
    char *end;
    long pid = strtol(argv[2], &end, 10);
    if (*end || pid <= 0) { dprintf(2, "nemoclaw-init: --join needs a pid\n"); return 2; }
    hide_argv(argc, argv);
    join_main((pid_t)pid);
  }
  if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--container-exec")) {
    char *spec_file = strdup(argv[2]), *bpf_file = argc == 4 ? strdup(argv[3]) : NULL;
    hide_argv(argc, argv);
    container_exec_main(spec_file ? spec_file : "/", bpf_file);
  }
  if (argc != 1) {
    dprintf(2, "usage: nemoclaw-init 3<spec 4<seccomp.bpf 5>report  |  nemoclaw-init --container RUNDIR  |  nemoclaw-init --probe\n"
               "       nemoclaw-init --join PID 3<spec 4<seccomp.bpf  |  nemoclaw-init --container-exec SPECFILE [BPFFILE]   (nemoclaw connect: join.c)\n");
    return 2;
  }
  hide_argv(argc, argv);
  /* The supervisor's death takes the sandbox with it. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) == 0) report_fd = REPORT_FD;
  parse_spec();
  read_bpf();
  join_cgroups();
  prepare_idmap();
  create_namespaces();
  step = "fork pid 1";
  install_forwarders();
  pid_t pid1 = fork();
  CHECK(pid1, "%s", strerror(errno));
  if (pid1 == 0) sandbox_pid1();
  forward_to = pid1;
  close(report_fd);
  report_fd = -1;
  supervise(pid1, 0);
}

/* ---------- pid 1 of the sandbox: root, hostname, loopback, relay ---------- */

__attribute__((noreturn)) static void sandbox_pid1(void) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("pdeathsig: %s", strerror(errno));
  int gw_dir = open_gateway_dir();
  mount_disk();
  build_root();
  pivot_into_root();
  step = "hostname";
  CHECK(sethostname(spec.name, strlen(spec.name)), "%s", strerror(errno));
  bring_up_loopback();
  start_inbound(gw_dir);
  start_relay(gw_dir);
  fork_agent_and_supervise();
}

/* The docker driver's entrypoint: we are pid 1 of a container Docker already confined. */
__attribute__((noreturn)) static void container_main(const char *run_dir) {
  char path[4096];
  container_mode = 1;
  step = "container";
  snprintf(path, sizeof path, "%s/report.json", run_dir);
  int r = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (r < 0) die("open %s: %s", path, strerror(errno));
  if (r != REPORT_FD) { CHECK(dup3(r, REPORT_FD, O_CLOEXEC), "dup report: %s", strerror(errno)); close(r); }
  report_fd = REPORT_FD;
  snprintf(path, sizeof path, "%s/spec", run_dir);
  int sp = open(path, O_RDONLY | O_CLOEXEC);
  if (sp < 0) die("open %s: %s", path, strerror(errno));
  if (sp != SPEC_FD) { CHECK(dup2(sp, SPEC_FD), "dup spec: %s", strerror(errno)); close(sp); }
  parse_spec();
  if (spec.idmap >= 0) {
    /* The agent's own filter, stacked on Docker's (which also allows the user namespace steps). */
    snprintf(path, sizeof path, "%s/seccomp.bpf", run_dir);
    int bp = open(path, O_RDONLY | O_CLOEXEC);
    if (bp < 0) die("open %s: %s", path, strerror(errno));
    if (bp != BPF_FD) { CHECK(dup2(bp, BPF_FD), "dup seccomp: %s", strerror(errno)); close(bp); }
    read_bpf();
  }
  if (getpid() != 1) die("not pid 1 of its own pid namespace");
  int gw_dir = open_gateway_dir();
  start_inbound(gw_dir);
  start_relay(gw_dir);
  fork_agent_and_supervise();
}

/* ---------- the agent: fork, then the steps just before exec ---------- */

/*
 * pid 1 of the sandbox: fork the agent, then only reap and forward signals, without privileges.
 * It takes the agent's uid first: with no capabilities left, signalling a process needs the same
 * uid, so a root pid 1 without CAP_KILL could not forward SIGTERM to the agent.
 */
__attribute__((noreturn)) static void fork_agent_and_supervise(void) {
  idmap_pipe(idmap_fds);
  step = "fork agent";
  pid_t agent = fork();
  CHECK(agent, "%s", strerror(errno));
  if (agent == 0) run_agent();
  forward_to = agent;
  map_agent_userns(agent, idmap_fds);
  install_forwarders();
  close(report_fd);
  report_fd = -1;
  pid_t parent = getppid();
  switch_identity();
  if (!container_mode) {
    /* A credential change clears the parent-death signal: set it again, then make sure the outer
       init did not die in between (the sandbox must not outlive its supervisor). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("pdeathsig: %s", strerror(errno));
    if (getppid() != parent) _exit(FAIL);
  }
  drop_helper_privileges();
  supervise(agent, 1);
}

__attribute__((noreturn)) static void run_agent(void) {
  set_rlimits(); /* before the user namespace: raising a hard limit needs CAP_SYS_RESOURCE on the host */
  enter_agent_userns(idmap_fds);
  close_inherited_fds();
  step = "session";
  /* A new session: the agent's terminal (if any) is no longer its controlling tty, so TIOCSTI fails. */
  CHECK(setsid(), "setsid: %s", strerror(errno));
  step = "workdir";
  CHECK(chdir(spec.workdir), "chdir %s: %s", spec.workdir, strerror(errno));
  switch_identity();
  drop_capabilities();
  set_no_new_privs();
  apply_landlock();
  load_seccomp();
  send_report();
  extern char **environ;
  environ = spec.env; /* execvp searches the agent's own PATH (or the libc default) */
  execvp(spec.argv[0], spec.argv);
  dprintf(2, "nemoclaw-init: exec %s: %s\n", spec.argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

/* ---------- supervision: pid 1 reaps and forwards; the outer process mirrors pid 1 ---------- */

static void forward(int sig) { if (forward_to > 0) kill(forward_to, sig); }

static void install_forwarders(void) {
  struct sigaction sa = { .sa_handler = forward };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

static int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

__attribute__((noreturn)) static void supervise(pid_t main_child, int reap_all) {
  for (;;) {
    int status;
    pid_t p = waitpid(reap_all ? -1 : main_child, &status, 0);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) _exit(FAIL);
    if (p == main_child) _exit(exit_code(status)); /* pid 1 exiting kills the whole namespace */
  }
}

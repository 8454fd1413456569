/*
 * nemoclaw-init: published ports, the host's way in. For each `inbound PORT` of the spec (every
 * port the agent may bind), a unix socket inbound-PORT.sock in the sandbox's socket directory (the
 * gateway's, reached through the directory fd opened before pivot_root, as the relay does); each
 * connection accepted there is relayed to 127.0.0.1:PORT inside the sandbox's network namespace.
 * The daemon's publisher (src/inbound/publisher.ts) binds the host address and connects here, so
 * the host side decides what is published (live) while the sandbox only ever offers its own ports.
 * The sockets are 0600, owned by whoever owns the directory: the daemon, nobody in the sandbox.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "init.h"

static void serve(const int *fds, const long *ports, int n) {
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  struct pollfd p[MAX_LIST];
  for (int i = 0; i < n; i++) p[i] = (struct pollfd){ fds[i], POLLIN, 0 };
  for (;;) {
    if (poll(p, (nfds_t)n, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
    for (int i = 0; i < n; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (fork() == 0) {
        for (int j = 0; j < n; j++) close(fds[j]);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i]) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (t < 0 || connect(t, (struct sockaddr *)&sa, sizeof sa) < 0) _exit(1); /* nothing listens: the host client sees EOF */
        relay_connection(c, t);
        _exit(0);
      }
      close(c);
    }
  }
}

void start_inbound(int gw_dir) {
  step = "inbound";
  if (gw_dir < 0 || spec.n_inbound == 0) return;
  int fds[MAX_LIST];
  pid_t pid = fork();
  CHECK(pid, "fork: %s", strerror(errno));
  if (pid != 0) return;
  CHECK(fchdir(gw_dir), "enter socket directory: %s", strerror(errno));
  close(gw_dir);
  if (report_fd >= 0) close(report_fd);
  report_fd = -1;
  for (int i = 0; i < spec.n_inbound; i++) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "inbound-%ld.sock", spec.inbound[i]);
    unlink(sa.sun_path); /* left by a previous run of this sandbox */
    fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fds[i], 128) < 0) {
      dprintf(2, "nemoclaw-init: inbound: %s: %s\n", sa.sun_path, strerror(errno));
      _exit(1);
    }
    umask(old);
  }
  drop_helper_privileges();
  serve(fds, spec.inbound, spec.n_inbound);
  _exit(0);
}

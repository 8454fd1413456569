/*
 * nemoclaw-init: the relay, 127.0.0.1:PORT inside the sandbox -> the gateway's unix socket.
 *
 * How 127.0.0.1:PORT reaches the gateway without the agent being able to:
 * before pivot_root, pid 1 opens the gateway socket's directory O_PATH. After pivot_root the
 * old root is detached, so no path inside the sandbox leads to any host socket. Only the relay
 * process keeps that directory fd (as its cwd, via fchdir) and connects by the socket's
 * relative name for each accepted connection; it reconnects per connection, so a restarted
 * gateway is picked up. The agent closes every inherited fd, so it never holds the directory.
 * It cannot borrow the relay's through /proc/<relay>/{fd,cwd} or pidfd_getfd: the relay is
 * non-dumpable and outside the agent's Landlock domain (both make ptrace-access checks fail),
 * and seccomp denies ptrace/pidfd_getfd. Killing the relay (also blocked by Landlock's signal
 * scope) would only cut the agent's own network.
 *
 * Not shared with the gateway's pump (src/pump/): the pump moves one tunnel with a thread and a
 * ring per direction for throughput; the relay serves many short connections, one forked
 * process each with one poll loop, and must stay a single static binary without pthreads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "init.h"

/*
 * One connection, both directions in one non-blocking poll loop, each with its own buffer: a
 * blocking write could deadlock against a peer that reads only after it has written. The buffers
 * are 1 MiB because every wake-up costs more than the bytes it moves (16 KiB buffers held a
 * sandbox's downloads to about a third of the gateway's speed); pages are touched only as used.
 */
#define RELAY_BUF (1 << 20)

struct half { int from, to; char *buf; size_t off, len; int eof, shut; };

/* Moves what it can without blocking; returns 0, or -1 when the connection is broken. */
static int half_step(struct half *h) {
  for (int progress = 1; progress;) {
    progress = 0;
    if (h->len == 0 && !h->eof) {
      ssize_t n = read(h->from, h->buf, RELAY_BUF);
      if (n > 0) { h->off = 0; h->len = (size_t)n; progress = 1; }
      else if (n == 0) h->eof = 1;
      else if (errno != EAGAIN && errno != EINTR) return -1;
    }
    if (h->len > 0) {
      ssize_t w = write(h->to, h->buf + h->off, h->len);
      if (w > 0) { h->off += (size_t)w; h->len -= (size_t)w; progress = 1; }
      else if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    }
  }
  if (h->eof && h->len == 0 && !h->shut) { shutdown(h->to, SHUT_WR); h->shut = 1; }
  return 0;
}

void relay_connection(int a, int b) {
  struct half h[2] = { { a, b, malloc(RELAY_BUF), 0, 0, 0, 0 }, { b, a, malloc(RELAY_BUF), 0, 0, 0, 0 } };
  if (!h[0].buf || !h[1].buf) return;
  fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
  fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK);
  while (!(h[0].shut && h[1].shut)) {
    struct pollfd p[2] = { { a, 0, 0 }, { b, 0, 0 } };
    for (int i = 0; i < 2; i++) {
      if (h[i].len == 0 && !h[i].eof) p[i].events |= POLLIN;  /* h[i] reads p[i]'s fd */
      if (h[i].len > 0) p[1 - i].events |= POLLOUT;           /* and writes the other */
    }
    for (int i = 0; i < 2; i++) if (!p[i].events) p[i].fd = -1; /* else POLLHUP would spin */
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; return; }
    if (half_step(&h[0]) < 0 || half_step(&h[1]) < 0) return;
  }
}

static void relay_loop(int listen_fd, const char *sock_name) {
  signal(SIGCHLD, SIG_IGN); /* connection handlers are reaped by the kernel */
  signal(SIGPIPE, SIG_IGN);
  int warned = 0;
  for (;;) {
    int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; dprintf(2, "nemoclaw-init: relay: accept: %s\n", strerror(errno)); _exit(1); }
    pid_t pid = fork();
    if (pid == 0) {
      close(listen_fd);
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_name); /* relative to our cwd: the gateway dir */
      int g = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (g < 0 || connect(g, (struct sockaddr *)&sa, sizeof sa) < 0) _exit(1); /* client sees EOF: no network */
      relay_connection(c, g);
      _exit(0);
    }
    if (pid < 0 && !warned++) dprintf(2, "nemoclaw-init: relay: fork: %s\n", strerror(errno));
    close(c);
  }
}

/* Opens the gateway directory before pivot_root, binds the listener, forks the relay. */
int open_gateway_dir(void) {
  step = "relay";
  if (!spec.gateway) return -1;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", spec.gateway);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) die("gateway socket path must be absolute: %s", spec.gateway);
  *slash = 0;
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd, "open gateway directory %s: %s", dir, strerror(errno));
  return fd;
}

void start_relay(int gw_dir) {
  step = "relay";
  if (gw_dir < 0) return;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)spec.proxy_port) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(l, "socket: %s", strerror(errno));
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  CHECK(bind(l, (struct sockaddr *)&sa, sizeof sa), "bind 127.0.0.1:%ld: %s", spec.proxy_port, strerror(errno));
  CHECK(listen(l, 128), "listen: %s", strerror(errno));
  pid_t pid = fork();
  CHECK(pid, "fork: %s", strerror(errno));
  if (pid == 0) {
    CHECK(fchdir(gw_dir), "enter gateway directory: %s", strerror(errno));
    close(gw_dir);
    if (report_fd >= 0) close(report_fd);
    report_fd = -1;
    drop_helper_privileges();
    relay_loop(l, strrchr(spec.gateway, '/') + 1);
  }
  close(l);
  close(gw_dir);
  done.relay = 1;
}

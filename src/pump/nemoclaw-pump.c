/*
 * nemoclaw-pump: moves the bytes of one established gateway tunnel in the kernel with splice(2).
 *
 * The gateway (Node) checks and opens every tunnel itself; once a tunnel has carried enough bytes
 * to be a bulk transfer, it hands the two sockets to this program so the data no longer passes
 * through user space (a Node relay tops out far below loopback speed on a small machine).
 *
 *   fd 0  the sandbox's socket          fd 1  the destination's socket
 *   fd 2  report: one JSON line at exit {"up":N,"down":N,"end":"done|idle|error","error":"..."}
 *   argv[1]  idle timeout in ms (0: none)
 *
 * Each direction goes socket -> pipe -> socket. An EOF is carried across as shutdown(SHUT_WR)
 * once the pipe is empty (half-close), and the program ends when both directions are shut, on an
 * error, or after the idle timeout. SIGTERM/SIGKILL from the gateway end it at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Pipe size asked for (the kernel caps it at fs.pipe-max-size without CAP_SYS_RESOURCE). */
#define CHUNK (4 << 20)

struct dir {
  int in, out, pipe_r, pipe_w;
  size_t cap;               /* the pipe's real capacity */
  size_t queued;            /* bytes in the pipe */
  int eof, shut;
  uint64_t bytes;           /* bytes delivered to `out` */
};

static void report(const struct dir *up, const struct dir *down, const char *end, int err) {
  dprintf(2, "{\"up\":%llu,\"down\":%llu,\"end\":\"%s\",\"error\":\"%s\"}\n",
          (unsigned long long)up->bytes, (unsigned long long)down->bytes, end, err ? strerror(err) : "");
}

/* Moves what it can without blocking (until both splices would block); returns an errno, or 0. */
static int step(struct dir *d, int can_read, int can_write) {
  for (int progress = 1; progress;) {
    progress = 0;
    if (can_read && !d->eof && d->queued < d->cap) {
      ssize_t n = splice(d->in, NULL, d->pipe_w, NULL, d->cap - d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { d->queued += (size_t)n; progress = 1; }
      else if (n == 0) d->eof = 1;
      else if (errno == EAGAIN || errno == EINTR) can_read = 0;
      else return errno;
    }
    if (can_write && d->queued > 0) {
      ssize_t n = splice(d->pipe_r, NULL, d->out, NULL, d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { d->queued -= (size_t)n; d->bytes += (uint64_t)n; progress = 1; }
      else if (n < 0 && (errno == EAGAIN || errno == EINTR)) can_write = 0;
      else if (n < 0) return errno;
    }
  }
  if (d->eof && d->queued == 0 && !d->shut) {
    shutdown(d->out, SHUT_WR);
    d->shut = 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int idle_ms = argc > 1 ? atoi(argv[1]) : 0;
  int a[2], b[2];
  if (pipe2(a, O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(b, O_NONBLOCK | O_CLOEXEC) < 0) { dprintf(2, "{\"end\":\"error\",\"error\":\"pipe\"}\n"); return 1; }
  fcntl(a[1], F_SETPIPE_SZ, CHUNK);
  fcntl(b[1], F_SETPIPE_SZ, CHUNK);
  int cap_a = fcntl(a[1], F_GETPIPE_SZ), cap_b = fcntl(b[1], F_GETPIPE_SZ);
  for (int fd = 0; fd < 2; fd++) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct dir up = { 0, 1, a[0], a[1], cap_a > 0 ? (size_t)cap_a : 65536, 0, 0, 0, 0 };
  struct dir down = { 1, 0, b[0], b[1], cap_b > 0 ? (size_t)cap_b : 65536, 0, 0, 0, 0 };
  struct dir *dirs[2] = { &up, &down };
  while (!(up.shut && down.shut)) {
    struct pollfd p[2] = { { 0, 0, 0 }, { 1, 0, 0 } };
    for (int i = 0; i < 2; i++) {
      struct dir *d = dirs[i];
      if (!d->eof && d->queued < d->cap) p[d->in].events |= POLLIN;
      if (d->queued > 0) p[d->out].events |= POLLOUT;
    }
    int r = poll(p, 2, idle_ms > 0 ? idle_ms : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { report(&up, &down, "error", errno); return 1; }
    if (r == 0) { report(&up, &down, "idle", 0); return 0; }
    for (int i = 0; i < 2; i++) {
      struct dir *d = dirs[i];
      short in = p[d->in].revents, out = p[d->out].revents;
      if ((out & (POLLERR | POLLHUP)) && d->queued > 0 && !(out & POLLOUT)) { report(&up, &down, "error", EPIPE); return 1; }
      int err = step(d, in & (POLLIN | POLLHUP | POLLERR), out & POLLOUT);
      if (err) { report(&up, &down, "error", err); return 1; }
    }
  }
  report(&up, &down, "done", 0);
  return 0;
}

/*
 * Native endpoints for bench/proxy's throughput figure, in the manner of iperf: a sender and a sink
 * that cost little CPU themselves, so that on a small machine the figure measures the path between
 * them (loopback, or a proxy) rather than the endpoints. Node endpoints alone keep both cores of a
 * 2-core machine busy on the direct path, which leaves any relay no CPU to run on.
 *
 *   stream sink                          listens on 127.0.0.1:0, prints the port, serves forever:
 *                                        reads an 8-byte big-endian length, then that many bytes,
 *                                        answers "<n>\n" and closes
 *   stream send PORT BYTES               straight to 127.0.0.1:PORT
 *   stream send PORT BYTES unix PATH     through an HTTP CONNECT proxy on a unix socket
 *   stream send PORT BYTES tcp PPORT     through an HTTP CONNECT proxy on 127.0.0.1:PPORT
 *   stream send PORT BYTES raw PATH      through a plain relay on a unix socket (no CONNECT),
 *                                        e.g. socat as the floor a user-space relay can reach
 *
 * The sender prints MiB/s, from the first byte written to the sink's answer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF (1 << 20)
static char buf[BUF];

static void die(const char *what) { fprintf(stderr, "stream: %s: %s\n", what, strerror(errno)); exit(1); }

static int tcp_to(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return s;
}

static int unix_to(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return s;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

/* CONNECT, then read the proxy's answer one byte at a time so no tunnel byte is consumed. */
static void handshake(int s, int port) {
  char req[128];
  int n = snprintf(req, sizeof req, "CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", port, port);
  write_all(s, req, (size_t)n);
  char head[4096];
  size_t len = 0;
  while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
    if (len == sizeof head || read(s, head + len, 1) != 1) die("proxy answer");
    len++;
  }
  if (strncmp(head, "HTTP/1.1 200", 12) != 0 && strncmp(head, "HTTP/1.0 200", 12) != 0) {
    fprintf(stderr, "stream: proxy refused: %.*s\n", (int)(strchr(head, '\r') - head), head);
    exit(1);
  }
}

static void serve(int c) {
  unsigned char len[8];
  size_t got = 0;
  while (got < 8) {
    ssize_t r = read(c, len + got, 8 - got);
    if (r <= 0) _exit(1);
    got += (size_t)r;
  }
  uint64_t want = 0, n = 0;
  for (int i = 0; i < 8; i++) want = want << 8 | len[i];
  while (n < want) {
    ssize_t r = read(c, buf, BUF);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (uint64_t)r;
  }
  dprintf(c, "%llu\n", (unsigned long long)n);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "sink") == 0) {
    signal(SIGCHLD, SIG_IGN);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0) die("listen");
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
      int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) { if (errno == EINTR) continue; die("accept"); }
      if (fork() == 0) serve(c);
      close(c);
    }
  }
  if (argc != 4 && argc != 6) { fprintf(stderr, "usage: stream sink | stream send PORT BYTES [unix PATH | tcp PORT | raw PATH]\n"); return 2; }
  int port = atoi(argv[2]);
  uint64_t bytes = strtoull(argv[3], NULL, 10);
  int s = argc == 4 ? tcp_to(port) : strcmp(argv[4], "tcp") == 0 ? tcp_to(atoi(argv[5])) : unix_to(argv[5]);
  if (argc == 6 && strcmp(argv[4], "raw") != 0) handshake(s, port);
  memset(buf, 1, BUF);
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)(bytes >> (56 - 8 * i));
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  write_all(s, (char *)len, 8);
  for (uint64_t left = bytes; left > 0;) {
    size_t n = left < BUF ? (size_t)left : BUF;
    write_all(s, buf, n);
    left -= n;
  }
  char reply[32] = { 0 };
  size_t rl = 0;
  while (rl < sizeof reply - 1 && (rl == 0 || reply[rl - 1] != '\n')) {
    ssize_t r = read(s, reply + rl, sizeof reply - 1 - rl);
    if (r <= 0) die("sink answer");
    rl += (size_t)r;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (strtoull(reply, NULL, 10) != bytes) { fprintf(stderr, "stream: sink got %s of %llu\n", reply, (unsigned long long)bytes); return 1; }
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%.1f\n", (double)bytes / secs / (1 << 20));
  return 0;
}

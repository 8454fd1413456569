/*
 * nemoclaw-pump: moves the bytes of one established gateway tunnel outside Node.
 *
 * The gateway (Node) checks and opens every tunnel itself; once a tunnel has carried enough bytes
 * to be a bulk transfer, it hands the two sockets to this program. A Node relay reads 64 KiB at a
 * time and tops out near half of loopback speed on a small machine.
 *
 *   fd 0  the sandbox's socket          fd 1  the destination's socket
 *   fd 2  report: one JSON line at exit {"up":N,"down":N,"end":"done|idle|error","error":"..."}
 *   argv[1]  idle timeout in ms (0: none)
 *   argv[2]  the gateway's pid: the pump dies with it, so that no tunnel outlives the process that
 *            enforces policy on it (a restarted gateway could no longer close it on reload)
 *
 * Each direction is a 1 MiB ring with a reader thread (socket -> ring) and a writer thread
 * (ring -> socket), so that copying in and sending out overlap. Measured on loopback (2 vCPUs,
 * kernel 6.18, bench/stream.c endpoints, median of 10 interleaved runs, % of direct): splice(2)
 * through a pipe in one poll loop ~50%, splice with a thread per direction ~70%, one thread per
 * direction reading and writing a 1 MiB buffer ~77%, this ~85%. splice costs more CPU here than
 * two copies: the pipe hands TCP page-sized pieces.
 *
 * An EOF is carried across as shutdown(SHUT_WR) once the ring is empty (half-close); the program
 * ends when both directions are done. An error, or the idle timeout, shuts both sockets down and
 * wakes every thread. SIGTERM/SIGKILL from the gateway end it at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE (1u << 20)

struct ring {
  int in, out;
  char *buf;
  pthread_mutex_t mu;
  pthread_cond_t space, data;
  uint64_t head, tail;       /* bytes read in / written out, under mu; buf[tail..head) is queued */
  int eof;                   /* `in` reached EOF, under mu */
  _Atomic uint64_t bytes;    /* bytes delivered to `out` */
};

static struct ring up = { .in = 0, .out = 1, .mu = PTHREAD_MUTEX_INITIALIZER, .space = PTHREAD_COND_INITIALIZER, .data = PTHREAD_COND_INITIALIZER };
static struct ring down = { .in = 1, .out = 0, .mu = PTHREAD_MUTEX_INITIALIZER, .space = PTHREAD_COND_INITIALIZER, .data = PTHREAD_COND_INITIALIZER };

static pthread_mutex_t state_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_cv = PTHREAD_COND_INITIALIZER;
static int directions_done; /* under state_mu */
static int first_error;     /* under state_mu */
static _Atomic int dead;    /* the tunnel is being torn down: every thread stops */
static _Atomic int64_t last_ms;

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void wake_ring(struct ring *r) {
  pthread_mutex_lock(&r->mu);
  pthread_cond_broadcast(&r->space);
  pthread_cond_broadcast(&r->data);
  pthread_mutex_unlock(&r->mu);
}

/* Ends the whole tunnel: blocked socket calls return, threads waiting on a ring wake and stop. */
static void tear_down(int err) {
  pthread_mutex_lock(&state_mu);
  if (err && !first_error) first_error = err;
  pthread_mutex_unlock(&state_mu);
  atomic_store(&dead, 1);
  shutdown(0, SHUT_RDWR);
  shutdown(1, SHUT_RDWR);
  wake_ring(&up);
  wake_ring(&down);
}

static void *read_side(void *arg) {
  struct ring *r = arg;
  for (;;) {
    pthread_mutex_lock(&r->mu);
    while (r->head - r->tail == RING_SIZE && !atomic_load(&dead)) pthread_cond_wait(&r->space, &r->mu);
    size_t off = (size_t)(r->head % RING_SIZE);
    size_t room = RING_SIZE - (size_t)(r->head - r->tail);
    pthread_mutex_unlock(&r->mu);
    if (atomic_load(&dead)) return NULL;
    if (room > RING_SIZE - off) room = RING_SIZE - off;
    /* Only this thread writes buf[head..]; the writer reads buf[tail..head). */
    ssize_t n = read(r->in, r->buf + off, room);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { tear_down(errno); return NULL; }
    if (n > 0) atomic_store_explicit(&last_ms, now_ms(), memory_order_relaxed);
    pthread_mutex_lock(&r->mu);
    if (n == 0) r->eof = 1;
    else r->head += (uint64_t)n;
    pthread_cond_signal(&r->data);
    pthread_mutex_unlock(&r->mu);
    if (n == 0) return NULL;
  }
}

static void *write_side(void *arg) {
  struct ring *r = arg;
  for (;;) {
    pthread_mutex_lock(&r->mu);
    while (r->head == r->tail && !r->eof && !atomic_load(&dead)) pthread_cond_wait(&r->data, &r->mu);
    size_t off = (size_t)(r->tail % RING_SIZE);
    size_t len = (size_t)(r->head - r->tail);
    int eof = r->eof;
    pthread_mutex_unlock(&r->mu);
    if (atomic_load(&dead)) break;
    if (len == 0 && eof) { shutdown(r->out, SHUT_WR); break; }
    if (len > RING_SIZE - off) len = RING_SIZE - off;
    ssize_t w = write(r->out, r->buf + off, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { tear_down(w < 0 ? errno : EPIPE); break; }
    atomic_fetch_add_explicit(&r->bytes, (uint64_t)w, memory_order_relaxed);
    pthread_mutex_lock(&r->mu);
    r->tail += (uint64_t)w;
    pthread_cond_signal(&r->space);
    pthread_mutex_unlock(&r->mu);
  }
  pthread_mutex_lock(&state_mu);
  directions_done++;
  pthread_cond_signal(&state_cv);
  pthread_mutex_unlock(&state_mu);
  return NULL;
}

int main(int argc, char **argv) {
  int idle_ms = argc > 1 ? atoi(argv[1]) : 0;
  if (argc > 2) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != (pid_t)atol(argv[2])) return 1; /* the gateway died before prctl took effect */
  }
  signal(SIGPIPE, SIG_IGN); /* a closed peer is an EPIPE to report, not a reason to die silently */
  /* The sockets come from Node non-blocking; the threads want blocking calls. */
  for (int fd = 0; fd < 2; fd++) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  up.buf = malloc(RING_SIZE);
  down.buf = malloc(RING_SIZE);
  atomic_store(&last_ms, now_ms());
  pthread_t t[4];
  void *(*fn[4])(void *) = { read_side, write_side, read_side, write_side };
  struct ring *rs[4] = { &up, &up, &down, &down };
  for (int i = 0; i < 4; i++) {
    if (!up.buf || !down.buf || pthread_create(&t[i], NULL, fn[i], rs[i])) {
      dprintf(2, "{\"up\":0,\"down\":0,\"end\":\"error\",\"error\":\"cannot start\"}\n");
      return 1; /* exiting ends any thread already started */
    }
  }
  int idled = 0;
  pthread_mutex_lock(&state_mu);
  while (directions_done < 2) {
    if (idle_ms <= 0 || idled) { pthread_cond_wait(&state_cv, &state_mu); continue; }
    int64_t left = atomic_load(&last_ms) + idle_ms - now_ms();
    if (left <= 0) {
      idled = 1;
      pthread_mutex_unlock(&state_mu);
      tear_down(0);
      pthread_mutex_lock(&state_mu);
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += left / 1000;
    until.tv_nsec += (left % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&state_cv, &state_mu, &until);
  }
  int err = idled ? 0 : first_error;
  pthread_mutex_unlock(&state_mu);
  /* A writer finishes only after its reader saw EOF, or after tear_down released every thread. */
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  const char *end = idled ? "idle" : err ? "error" : "done";
  dprintf(2, "{\"up\":%llu,\"down\":%llu,\"end\":\"%s\",\"error\":\"%s\"}\n",
          (unsigned long long)atomic_load(&up.bytes), (unsigned long long)atomic_load(&down.bytes), end,
          err ? strerror(err) : "");
  return err ? 1 : 0;
}

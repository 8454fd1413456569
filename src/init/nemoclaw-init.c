/*
 * nemoclaw-init: the first program in every embedded (`runtime: process`) sandbox.
 *
 * It turns a line-based spec into kernel enforcement, in this order, and fails closed:
 * any step that fails prints "nemoclaw-init: <step>: <reason>" to stderr, writes
 * {"ok":false,...} to the report fd and exits 125 before the agent runs.
 *
 *   cgroups -> namespaces -> (fork: pid 1) -> root + pivot_root -> hostname -> loopback
 *   -> proxy relay -> (fork: agent) -> close fds -> env -> rlimits -> identity -> capabilities
 *   -> no_new_privs -> dumpable 0 -> Landlock -> seccomp -> report -> exec
 *
 * File descriptors handed in by the supervisor:
 *   3  spec (read to EOF)            4  seccomp BPF: raw struct sock_filter array (read to EOF)
 *   5  report: one JSON line written just before exec (close-on-exec, so EOF = agent running)
 *
 * Spec format (version 1): one directive per line, fields separated by one space, every field
 * percent-encoded (%XX for '%', bytes <= 0x20 and >= 0x7f), so no JSON parser is needed here.
 *   nemoclaw-init 1              first line, always
 *   name NAME                    sandbox name (hostname, messages)
 *   uid N / gid N                numeric identity of the agent
 *   root DIR                     empty host directory; the sandbox root (a tmpfs) is mounted on it
 *   ro TARGET                    bind host TARGET read-only, nosuid, nodev, at TARGET
 *   rw TARGET HOSTDIR exec|noexec  bind HOSTDIR read-write, nosuid, nodev at TARGET
 *   workdir PATH                 agent's working directory
 *   env KEY=VALUE                the agent's environment, exactly (repeated)
 *   argv ARG                     the agent's argv, in order (repeated, at least one)
 *   nofile N / pids N            RLIMIT_NOFILE; pids limit (RLIMIT_NPROC unless a pids cgroup)
 *   cgroup pids|memory DIR       join DIR (write our pid to DIR/cgroup.procs); limits set by host
 *   landlock_floor N             lowest acceptable Landlock ABI; 0 = run without if unavailable
 *   landlock_fs R... / landlock_net R... / landlock_scope S...   handled rights (kernel names)
 *   path_rule PATH R...          allow rights beneath PATH
 *   net_rule PORT R...           allow TCP rights on PORT
 *   gateway SOCKET               gateway's unix socket for this sandbox (absent: no relay)
 *   proxy_port N                 relay listens on 127.0.0.1:N inside the sandbox
 *
 * Container mode (`nemoclaw-init --container RUNDIR`, the docker driver's entrypoint): Docker has
 * already created the namespaces, mounted the root, applied cgroup limits, dropped capabilities and
 * loaded seccomp.json. The spec is RUNDIR/spec, the report goes to RUNDIR/report.json, and the
 * init does the rest: relay -> (fork: agent) -> close fds -> env -> rlimits -> identity check ->
 * capabilities -> no_new_privs -> Landlock -> check a seccomp filter is active -> report -> exec.
 * RUNDIR is not in the agent's Landlock rules, so the agent cannot rewrite its own report.
 *
 * Relay design (how 127.0.0.1:PORT reaches the gateway without the agent being able to):
 * before pivot_root, pid 1 opens the gateway socket's directory O_PATH. After pivot_root the
 * old root is detached, so no path inside the sandbox leads to any host socket. Only the relay
 * process keeps that directory fd (as its cwd, via fchdir) and connects by the socket's
 * relative name for each accepted connection; it reconnects per connection, so a restarted
 * gateway is picked up. The agent closes every inherited fd, so it never holds the directory.
 * It cannot borrow the relay's through /proc/<relay>/{fd,cwd} or pidfd_getfd: the relay is
 * non-dumpable and outside the agent's Landlock domain (both make ptrace-access checks fail),
 * and seccomp denies ptrace/pidfd_getfd. Killing the relay (also blocked by Landlock's signal
 * scope) would only cut the agent's own network.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Landlock UAPI, defined here because distribution headers lag the kernel. */
#define LL_CREATE_RULESET 444
#define LL_ADD_RULE 445
#define LL_RESTRICT_SELF 446
#define LL_VERSION_FLAG 1U
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
struct ll_ruleset_attr { uint64_t handled_fs, handled_net, scoped; };
struct ll_path_attr { uint64_t allowed; int32_t parent_fd; } __attribute__((packed));
struct ll_net_attr { uint64_t allowed; uint64_t port; };

#define SPEC_FD 3
#define BPF_FD 4
#define REPORT_FD 5
#define FAIL 125
#define MAX_LIST 256

struct right { const char *name; int abi; };
/* Bit i of each mask is entry i; the ABI is the one that introduced the right. */
static const struct right FS_RIGHTS[] = {
  {"execute",1},{"write_file",1},{"read_file",1},{"read_dir",1},{"remove_dir",1},{"remove_file",1},
  {"make_char",1},{"make_dir",1},{"make_reg",1},{"make_sock",1},{"make_fifo",1},{"make_block",1},
  {"make_sym",1},{"refer",2},{"truncate",3},{"ioctl_dev",5},{NULL,0}};
static const struct right NET_RIGHTS[] = {{"bind_tcp",4},{"connect_tcp",4},{NULL,0}};
static const struct right SCOPES[] = {{"abstract_unix_socket",6},{"signal",6},{NULL,0}};
/* Rights the kernel accepts on a rule for a non-directory. */
#define FS_FILE_RIGHTS ((1ULL<<0)|(1ULL<<1)|(1ULL<<2)|(1ULL<<14)|(1ULL<<15))

struct mnt { char *target, *source; int rw, exec; };
struct prule { char *path; uint64_t access; };
struct nrule { uint64_t port, access; };

static struct {
  char *name, *root, *workdir, *gateway, *pids_cg, *mem_cg;
  long uid, gid, nofile, pids, floor, proxy_port;
  struct mnt mounts[MAX_LIST]; int n_mounts;
  char *env[MAX_LIST + 1]; int n_env;
  char *argv[MAX_LIST + 1]; int n_argv;
  uint64_t ll_fs, ll_net, ll_scope;
  struct prule prules[MAX_LIST]; int n_prules;
  struct nrule nrules[MAX_LIST]; int n_nrules;
} spec = { .uid = -1, .gid = -1, .floor = -1, .proxy_port = -1 };

/* What was actually enforced, for the report. */
static struct {
  int userns, relay, abi, ll_enforced, ll_paths, ll_nets, ll_skipped, bpf_len;
  uint64_t fs, net, scope;
  char bpf_sha[65];
  const char *pids_via;
} done;

static const char *step = "start";
static int container_mode = 0;
static int report_fd = -1;
static struct sock_fprog bpf;

/* ---------- failure and report ---------- */

static void json_str(char *out, size_t cap, const char *s) {
  size_t n = strlen(out);
  if (n + 2 >= cap) return;
  out[n++] = '"';
  for (; *s && n + 8 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { out[n++] = '\\'; out[n++] = (char)c; }
    else if (c < 0x20) n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
    else out[n++] = (char)c;
  }
  out[n++] = '"';
  out[n] = 0;
}

static void cat(char *out, size_t cap, const char *fmt, ...) {
  size_t n = strlen(out);
  va_list ap;
  va_start(ap, fmt);
  if (n < cap) vsnprintf(out + n, cap - n, fmt, ap);
  va_end(ap);
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    buf += w; len -= (size_t)w;
  }
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  char msg[512], line[1024] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "nemoclaw-init: %s: %s\n", step, msg);
  if (report_fd >= 0) {
    cat(line, sizeof line, "{\"ok\":false,\"step\":");
    json_str(line, sizeof line, step);
    cat(line, sizeof line, ",\"error\":");
    json_str(line, sizeof line, msg);
    cat(line, sizeof line, "}\n");
    write_all(report_fd, line, strlen(line));
  }
  _exit(FAIL);
}

#define CHECK(expr, ...) do { if ((expr) < 0) die(__VA_ARGS__); } while (0)

/* ---------- spec ---------- */

static char *read_fd(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (!buf) die("out of memory");
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read fd %d: %s", fd, strerror(errno));
    if (r == 0) break;
    n += (size_t)r;
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
  }
  buf[n] = 0;
  *len = n;
  close(fd);
  return buf;
}

static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    unsigned v;
    if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1 && s[1] && s[2]) { *o++ = (char)v; s += 2; }
    else *o++ = *s;
  }
  *o = 0;
}

static long num(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s ? s : "", &end, 10);
  if (!s || !*s || *end || errno || v < 0) die("bad number \"%s\"", s ? s : "");
  return v;
}

static uint64_t rights(const struct right *table, char **names, int n) {
  uint64_t mask = 0;
  for (int i = 0; i < n; i++) {
    int j = 0;
    while (table[j].name && strcmp(table[j].name, names[i])) j++;
    if (!table[j].name) die("unknown Landlock right \"%s\"", names[i]);
    mask |= 1ULL << j;
  }
  return mask;
}

static void parse_spec(void) {
  step = "spec";
  size_t len;
  char *text = read_fd(SPEC_FD, &len), *save = NULL;
  int lineno = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[MAX_LIST + 2], *s2 = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " ", &s2); t && n < MAX_LIST + 2; t = strtok_r(NULL, " ", &s2)) unescape(f[n++] = t);
    if (n == 0) continue;
    const char *k = f[0];
    if (lineno++ == 0) {
      if (strcmp(k, "nemoclaw-init") || n != 2 || strcmp(f[1], "1")) die("not a version 1 spec");
      continue;
    }
    if (n > MAX_LIST + 1) die("line \"%s\": too many fields", k);
    if (!strcmp(k, "name") && n == 2) spec.name = f[1];
    else if (!strcmp(k, "uid") && n == 2) spec.uid = num(f[1]);
    else if (!strcmp(k, "gid") && n == 2) spec.gid = num(f[1]);
    else if (!strcmp(k, "root") && n == 2) spec.root = f[1];
    else if (!strcmp(k, "workdir") && n == 2) spec.workdir = f[1];
    else if (!strcmp(k, "gateway") && n == 2) spec.gateway = f[1];
    else if (!strcmp(k, "proxy_port") && n == 2) spec.proxy_port = num(f[1]);
    else if (!strcmp(k, "nofile") && n == 2) spec.nofile = num(f[1]);
    else if (!strcmp(k, "pids") && n == 2) spec.pids = num(f[1]);
    else if (!strcmp(k, "landlock_floor") && n == 2) spec.floor = num(f[1]);
    else if (!strcmp(k, "cgroup") && n == 3 && !strcmp(f[1], "pids")) spec.pids_cg = f[2];
    else if (!strcmp(k, "cgroup") && n == 3 && !strcmp(f[1], "memory")) spec.mem_cg = f[2];
    else if (!strcmp(k, "env") && n == 2 && strchr(f[1], '=') && spec.n_env < MAX_LIST) spec.env[spec.n_env++] = f[1];
    else if (!strcmp(k, "argv") && n == 2 && spec.n_argv < MAX_LIST) spec.argv[spec.n_argv++] = f[1];
    else if ((!strcmp(k, "ro") && n == 2) || (!strcmp(k, "rw") && n == 4)) {
      if (spec.n_mounts == MAX_LIST || f[1][0] != '/') die("bad mount \"%s\"", f[1]);
      struct mnt *m = &spec.mounts[spec.n_mounts++];
      m->target = f[1];
      m->rw = k[1] == 'w';
      m->source = m->rw ? f[2] : f[1];
      m->exec = !m->rw || !strcmp(f[3], "exec");
    } else if (!strcmp(k, "landlock_fs")) spec.ll_fs = rights(FS_RIGHTS, f + 1, n - 1);
    else if (!strcmp(k, "landlock_net")) spec.ll_net = rights(NET_RIGHTS, f + 1, n - 1);
    else if (!strcmp(k, "landlock_scope")) spec.ll_scope = rights(SCOPES, f + 1, n - 1);
    else if (!strcmp(k, "path_rule") && n >= 2 && spec.n_prules < MAX_LIST)
      spec.prules[spec.n_prules++] = (struct prule){ f[1], rights(FS_RIGHTS, f + 2, n - 2) };
    else if (!strcmp(k, "net_rule") && n >= 2 && spec.n_nrules < MAX_LIST)
      spec.nrules[spec.n_nrules++] = (struct nrule){ (uint64_t)num(f[1]), rights(NET_RIGHTS, f + 2, n - 2) };
    else die("unknown or malformed directive \"%s\"", k);
  }
  if (!spec.name || !spec.root || !spec.workdir || spec.uid < 0 || spec.gid < 0 || spec.n_argv == 0 ||
      spec.nofile <= 0 || spec.pids <= 0 || spec.floor < 0)
    die("incomplete spec: name, root, workdir, uid, gid, argv, nofile, pids and landlock_floor are required");
  if (spec.gateway && spec.proxy_port <= 0) die("gateway without proxy_port");
}

static void read_bpf(void) {
  step = "seccomp";
  size_t len;
  char *buf = read_fd(BPF_FD, &len);
  if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 0xffff)
    die("BPF program on fd %d has invalid length %zu", BPF_FD, len);
  bpf.len = (unsigned short)(len / sizeof(struct sock_filter));
  bpf.filter = (struct sock_filter *)buf;
}

/* ---------- SHA-256 of the BPF program, so the report names the exact filter loaded ---------- */
/* Own implementation: the kernel's AF_ALG is often compiled out and the init links only libc. */

static const uint32_t K256[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,
  0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,
  0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,
  0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
  0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,
  0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,
  0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | (uint32_t)p[4*i+1] << 16 | (uint32_t)p[4*i+2] << 8 | p[4*i+3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
    uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
    w[i] = w[i-16] + s0 + w[i-7] + s1;
  }
  memcpy(v, h, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K256[i] + w[i];
    uint32_t t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof *v);
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) h[i] += v[i];
}

static void sha256_hex(const unsigned char *data, size_t len, char out[65]) {
  uint32_t h[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
  unsigned char tail[128] = {0};
  size_t full = len & ~(size_t)63, rest = len - full, tl = rest + 9 > 64 ? 128 : 64;
  for (size_t i = 0; i < full; i += 64) sha256_block(h, data + i);
  memcpy(tail, data + full, rest);
  tail[rest] = 0x80;
  for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (unsigned char)((uint64_t)len * 8 >> (8 * i));
  for (size_t i = 0; i < tl; i += 64) sha256_block(h, tail + i);
  for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* ---------- steps before the pid namespace ---------- */

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die("write %s: %s", path, strerror(errno));
  close(fd);
}

static void join_cgroups(void) {
  step = "cgroups";
  char path[4096], pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  const char *dirs[2] = { spec.pids_cg, spec.mem_cg };
  for (int i = 0; i < 2; i++) {
    if (!dirs[i]) continue;
    snprintf(path, sizeof path, "%s/cgroup.procs", dirs[i]);
    write_file(path, pid);
  }
  done.pids_via = spec.pids_cg ? "cgroup" : "rlimit_nproc";
}

static void create_namespaces(void) {
  step = "namespaces";
  uid_t outer_uid = geteuid();
  gid_t outer_gid = getegid();
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  done.userns = outer_uid != 0;
  if (done.userns) flags |= CLONE_NEWUSER;
  CHECK(unshare(flags), "unshare: %s%s", strerror(errno),
        done.userns && errno == EPERM ? " (unprivileged user namespaces are not allowed on this host)" : "");
  if (done.userns) {
    /* Map only the agent's ids onto ours: nothing else exists inside, and we keep full
       capabilities in the new namespace until the capability step drops them. */
    char map[64];
    snprintf(map, sizeof map, "%ld %u 1\n", spec.uid, outer_uid);
    write_file("/proc/self/uid_map", map);
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%ld %u 1\n", spec.gid, outer_gid);
    write_file("/proc/self/gid_map", map);
  }
}

/* ---------- steps in pid 1: the sandbox root ---------- */

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

static void build_root(void) {
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

static void pivot_into_root(void) {
  step = "pivot_root";
  CHECK(chdir(spec.root), "chdir %s: %s", spec.root, strerror(errno));
  /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no path out. */
  CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
  CHECK(umount2(".", MNT_DETACH), "detach old root: %s", strerror(errno));
  CHECK(chdir("/"), "chdir /: %s", strerror(errno));
  CHECK(mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "remount / read-only: %s", strerror(errno));
}

static void bring_up_loopback(void) {
  step = "loopback";
  struct ifreq ifr = {0};
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(s, "socket: %s", strerror(errno));
  strcpy(ifr.ifr_name, "lo");
  CHECK(ioctl(s, SIOCGIFFLAGS, &ifr), "get lo flags: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  CHECK(ioctl(s, SIOCSIFFLAGS, &ifr), "bring lo up: %s", strerror(errno));
  close(s);
}

/* ---------- privilege drop, shared by pid 1, the relay and the agent ---------- */

static void clear_bounding_set(void) {
  /* Only capabilities still in the set are dropped: dropping needs CAP_SETPCAP, which a container
     started with every capability dropped no longer has (and then has nothing left to drop). */
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      die("drop bounding cap %d: %s", cap, strerror(errno));
}

static void clear_capabilities(void) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = {{0}};
  CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities: %s", strerror(errno));
  CHECK(syscall(SYS_capset, &h, d), "capset: %s", strerror(errno));
}

static void drop_helper_privileges(void) {
  step = "privileges";
  clear_bounding_set();
  clear_capabilities();
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
  CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable: %s", strerror(errno));
}

/* ---------- the relay: 127.0.0.1:PORT -> gateway unix socket ---------- */

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

static void relay_connection(int a, int b) {
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
static int open_gateway_dir(void) {
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

static void start_relay(int gw_dir) {
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

/* ---------- steps in the agent, just before exec ---------- */

static void close_inherited_fds(void) {
  step = "close_fds";
  /* Keep stdio and the report fd (close-on-exec) only. */
  CHECK(syscall(SYS_close_range, 3, REPORT_FD - 1, 0), "close_range: %s", strerror(errno));
  CHECK(syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0), "close_range: %s", strerror(errno));
}

static void set_rlimits(void) {
  step = "rlimits";
  struct rlimit nofile = { (rlim_t)spec.nofile, (rlim_t)spec.nofile }, zero = {0, 0};
  struct rlimit nproc = { (rlim_t)spec.pids, (rlim_t)spec.pids };
  CHECK(setrlimit(RLIMIT_NOFILE, &nofile), "RLIMIT_NOFILE %ld: %s", spec.nofile, strerror(errno));
  CHECK(setrlimit(RLIMIT_CORE, &zero), "RLIMIT_CORE: %s", strerror(errno));
  if (!spec.pids_cg && !container_mode) CHECK(setrlimit(RLIMIT_NPROC, &nproc), "RLIMIT_NPROC %ld: %s", spec.pids, strerror(errno));
}

/* The bounding set is cleared first because doing so needs CAP_SETPCAP, which the id switch may drop. */
static void switch_identity(void) {
  step = "identity";
  clear_bounding_set();
  if (container_mode) {
    /* Docker started us as the sandbox user; check it, and that no supplementary group came along. */
    gid_t groups[64];
    int n = getgroups(64, groups);
    CHECK(n, "getgroups: %s", strerror(errno));
    for (int i = 0; i < n; i++)
      if (groups[i] != (gid_t)spec.gid) die("unexpected supplementary group %u", (unsigned)groups[i]);
    if (getuid() != (uid_t)spec.uid || geteuid() != (uid_t)spec.uid || getgid() != (gid_t)spec.gid || getegid() != (gid_t)spec.gid)
      die("container runs as uid %u gid %u, the policy says %ld/%ld", (unsigned)getuid(), (unsigned)getgid(), spec.uid, spec.gid);
    return;
  }
  if (!done.userns) CHECK(setgroups(0, NULL), "setgroups: %s", strerror(errno));
  CHECK(setresgid((gid_t)spec.gid, (gid_t)spec.gid, (gid_t)spec.gid), "setresgid %ld: %s", spec.gid, strerror(errno));
  CHECK(setresuid((uid_t)spec.uid, (uid_t)spec.uid, (uid_t)spec.uid), "setresuid %ld: %s", spec.uid, strerror(errno));
  if (getuid() != (uid_t)spec.uid || geteuid() != (uid_t)spec.uid || getgid() != (gid_t)spec.gid) die("identity did not change");
}

static void drop_capabilities(void) {
  step = "capabilities";
  clear_capabilities();
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  CHECK(syscall(SYS_capget, &h, d), "capget: %s", strerror(errno));
  for (int i = 0; i < 2; i++)
    if (d[i].effective || d[i].permitted || d[i].inheritable) die("capabilities remain after capset");
  for (int cap = 0; cap < 64; cap++) {
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) die("capability %d remains", cap);
  }
}

static void set_no_new_privs(void) {
  step = "no_new_privs";
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "%s", strerror(errno));
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) die("not set after prctl");
  CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable: %s", strerror(errno));
}

static uint64_t abi_mask(const struct right *t, int abi) {
  uint64_t m = 0;
  for (int i = 0; t[i].name; i++) if (t[i].abi <= abi) m |= 1ULL << i;
  return m;
}

static void apply_landlock(void) {
  step = "landlock";
  int abi = (int)syscall(LL_CREATE_RULESET, NULL, 0, LL_VERSION_FLAG);
  done.abi = abi < 0 ? 0 : abi;
  if (done.abi < spec.floor)
    die("kernel offers Landlock ABI %d, the policy requires at least %ld", done.abi, spec.floor);
  if (done.abi == 0) return; /* best effort with floor 0: reported as not enforced */
  /* Compatibility: handle only what this ABI knows; rules are masked to the handled set. */
  struct ll_ruleset_attr attr = { spec.ll_fs & abi_mask(FS_RIGHTS, done.abi),
                                  spec.ll_net & abi_mask(NET_RIGHTS, done.abi),
                                  spec.ll_scope & abi_mask(SCOPES, done.abi) };
  done.fs = attr.handled_fs; done.net = attr.handled_net; done.scope = attr.scoped;
  int rs = (int)syscall(LL_CREATE_RULESET, &attr, sizeof attr, 0);
  CHECK(rs, "create ruleset: %s", strerror(errno));
  for (int i = 0; i < spec.n_prules; i++) {
    struct stat st;
    int fd = open(spec.prules[i].path, O_PATH | O_CLOEXEC);
    /* A rule for a path absent from the sandbox only grants less: skip it, and report it. */
    if (fd < 0 && errno == ENOENT) { done.ll_skipped++; continue; }
    CHECK(fd, "open %s: %s", spec.prules[i].path, strerror(errno));
    CHECK(fstat(fd, &st), "stat %s: %s", spec.prules[i].path, strerror(errno));
    struct ll_path_attr pa = { spec.prules[i].access & done.fs, fd };
    if (!S_ISDIR(st.st_mode)) pa.allowed &= FS_FILE_RIGHTS;
    if (pa.allowed) {
      CHECK(syscall(LL_ADD_RULE, rs, LL_RULE_PATH_BENEATH, &pa, 0), "rule %s: %s", spec.prules[i].path, strerror(errno));
      done.ll_paths++;
    }
    close(fd);
  }
  for (int i = 0; i < spec.n_nrules && done.net; i++) {
    struct ll_net_attr na = { spec.nrules[i].access & done.net, spec.nrules[i].port };
    if (!na.allowed) continue;
    CHECK(syscall(LL_ADD_RULE, rs, LL_RULE_NET_PORT, &na, 0), "rule port %llu: %s", (unsigned long long)na.port, strerror(errno));
    done.ll_nets++;
  }
  CHECK(syscall(LL_RESTRICT_SELF, rs, 0), "restrict self: %s", strerror(errno));
  close(rs);
  done.ll_enforced = 1;
}

/* Container mode: Docker loaded seccomp.json before we ran; refuse to start the agent without a filter. */
static void check_runtime_seccomp(void) {
  step = "seccomp";
  FILE *f = fopen("/proc/self/status", "re");
  if (!f) die("read /proc/self/status: %s", strerror(errno));
  char line[256];
  int mode = -1;
  while (fgets(line, sizeof line, f)) if (sscanf(line, "Seccomp: %d", &mode) == 1) break;
  fclose(f);
  if (mode != 2) die("no seccomp filter is active (Seccomp: %d): the runtime did not load seccomp.json", mode);
  snprintf(done.bpf_sha, sizeof done.bpf_sha, "loaded-by-runtime");
  done.bpf_len = 0;
}

static void load_seccomp(void) {
  if (container_mode) { check_runtime_seccomp(); return; }
  step = "seccomp";
  sha256_hex((const unsigned char *)bpf.filter, bpf.len * sizeof(struct sock_filter), done.bpf_sha);
  done.bpf_len = bpf.len;
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bpf), "load filter (%u instructions): %s", bpf.len, strerror(errno));
}

static void names(char *out, size_t cap, const struct right *t, uint64_t mask) {
  cat(out, cap, "[");
  for (int i = 0, first = 1; t[i].name; i++)
    if (mask & (1ULL << i)) { cat(out, cap, first ? "" : ","); json_str(out, cap, t[i].name); first = 0; }
  cat(out, cap, "]");
}

static void send_report(void) {
  step = "report";
  if (report_fd < 0) return;
  static char r[4096];
  r[0] = 0;
  cat(r, sizeof r, "{\"ok\":true,\"sandbox\":");
  json_str(r, sizeof r, spec.name);
  if (container_mode) cat(r, sizeof r, ",\"namespaces\":[\"mnt\",\"pid\",\"net\",\"ipc\",\"uts\"]");
  else cat(r, sizeof r, ",\"namespaces\":[%s\"mnt\",\"pid\",\"net\",\"ipc\",\"uts\",\"cgroup\"]", done.userns ? "\"user\"," : "");
  cat(r, sizeof r, ",\"uid\":%ld,\"gid\":%ld", spec.uid, spec.gid);
  cat(r, sizeof r, ",\"landlock\":{\"abi\":%d,\"floor\":%ld,\"enforced\":%s,\"handled_fs\":", done.abi, spec.floor, done.ll_enforced ? "true" : "false");
  names(r, sizeof r, FS_RIGHTS, done.fs);
  cat(r, sizeof r, ",\"handled_net\":");
  names(r, sizeof r, NET_RIGHTS, done.net);
  cat(r, sizeof r, ",\"scoped\":");
  names(r, sizeof r, SCOPES, done.scope);
  cat(r, sizeof r, ",\"path_rules\":%d,\"net_rules\":%d,\"skipped_rules\":%d}", done.ll_paths, done.ll_nets, done.ll_skipped);
  cat(r, sizeof r, ",\"seccomp\":{\"instructions\":%d,\"sha256\":\"%s\"}", done.bpf_len, done.bpf_sha);
  cat(r, sizeof r, ",\"no_new_privs\":true,\"capabilities\":\"none\",\"dumpable\":false");
  cat(r, sizeof r, ",\"limits\":{\"nofile\":%ld,\"core\":0,\"pids\":%ld,\"pids_via\":\"%s\",\"memory_via\":\"%s\"}",
      spec.nofile, spec.pids, container_mode ? "cgroup" : done.pids_via, container_mode || spec.mem_cg ? "cgroup" : "none");
  cat(r, sizeof r, ",\"network\":{\"loopback\":true,\"relay\":%s,\"proxy_port\":%ld}}\n", done.relay ? "true" : "false", done.relay ? spec.proxy_port : 0);
  write_all(report_fd, r, strlen(r));
  close(report_fd);
}

__attribute__((noreturn)) static void run_agent(void) {
  close_inherited_fds();
  step = "session";
  /* A new session: the agent's terminal (if any) is no longer its controlling tty, so TIOCSTI fails. */
  CHECK(setsid(), "setsid: %s", strerror(errno));
  step = "workdir";
  CHECK(chdir(spec.workdir), "chdir %s: %s", spec.workdir, strerror(errno));
  set_rlimits();
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

static volatile pid_t forward_to = 0;
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

/*
 * pid 1 of the sandbox: fork the agent, then only reap and forward signals, without privileges.
 * It takes the agent's uid first: with no capabilities left, signalling a process needs the same
 * uid, so a root pid 1 without CAP_KILL could not forward SIGTERM to the agent.
 */
__attribute__((noreturn)) static void fork_agent_and_supervise(void) {
  step = "fork agent";
  pid_t agent = fork();
  CHECK(agent, "%s", strerror(errno));
  if (agent == 0) run_agent();
  forward_to = agent;
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

__attribute__((noreturn)) static void sandbox_pid1(void) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("pdeathsig: %s", strerror(errno));
  int gw_dir = open_gateway_dir();
  build_root();
  pivot_into_root();
  step = "hostname";
  CHECK(sethostname(spec.name, strlen(spec.name)), "%s", strerror(errno));
  bring_up_loopback();
  start_relay(gw_dir);
  fork_agent_and_supervise();
}

/* ---------- --probe: what this kernel can enforce, as one JSON line (used by `nemoclaw doctor`) ---------- */

/* Tries unshare(FLAGS) in a throwaway child, optionally after giving up root first. */
static int try_unshare(int flags, int as_nobody) {
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    if (as_nobody && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)) _exit(1);
    _exit(unshare(flags) < 0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int probe(void) {
  int abi = (int)syscall(LL_CREATE_RULESET, NULL, 0, LL_VERSION_FLAG);
  int seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  int root = geteuid() == 0, user = root ? 0 : CLONE_NEWUSER;
  printf("{\"landlock_abi\":%d,\"landlock_errno\":%d,\"seccomp\":%s,\"root\":%s,\"userns\":%s,\"unprivileged_userns\":%s,"
         "\"mntns\":%s,\"pidns\":%s,\"netns\":%s,\"close_range\":%s}\n",
         abi < 0 ? 0 : abi, abi < 0 ? errno : 0, seccomp ? "true" : "false", root ? "true" : "false",
         try_unshare(CLONE_NEWUSER, 0) ? "true" : "false", try_unshare(CLONE_NEWUSER, root) ? "true" : "false",
         try_unshare(user | CLONE_NEWNS, 0) ? "true" : "false", try_unshare(user | CLONE_NEWPID, 0) ? "true" : "false",
         try_unshare(user | CLONE_NEWNET, 0) ? "true" : "false",
         syscall(SYS_close_range, ~0U, ~0U, 0) == 0 ? "true" : "false");
  return 0;
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
  if (getpid() != 1) die("not pid 1 of its own pid namespace");
  start_relay(open_gateway_dir());
  fork_agent_and_supervise();
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--probe")) return probe();
  if (argc == 3 && !strcmp(argv[1], "--container")) container_main(argv[2]);
  if (argc != 1) { dprintf(2, "usage: nemoclaw-init 3<spec 4<seccomp.bpf 5>report  |  nemoclaw-init --container RUNDIR  |  nemoclaw-init --probe\n"); return 2; }
  /* The supervisor's death takes the sandbox with it. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) == 0) report_fd = REPORT_FD;
  parse_spec();
  read_bpf();
  join_cgroups();
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

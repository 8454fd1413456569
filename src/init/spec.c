/*
 * nemoclaw-init: reading the spec (fd 3) and the seccomp BPF program (fd 4).
 *
 * Spec format (version 1): one directive per line, fields separated by one space, every field
 * percent-encoded (%XX for '%', bytes <= 0x20 and >= 0x7f), so no JSON parser is needed here.
 *   nemoclaw-init 1              first line, always
 *   name NAME                    sandbox name (hostname, messages)
 *   uid N / gid N                numeric identity of the agent (below 65536 with idmap)
 *   idmap BASE                   root only: the agent gets its own user namespace mapping 0-65535
 *                                to host BASE..BASE+65535 (userns.c)
 *   root DIR                     empty host directory; the sandbox root (a tmpfs) is mounted on it
 *   image DIR                    an unpacked image: the sandbox root is an overlay with DIR as its
 *                                read-only lower layer (no `ro` lines then: no host path is bound)
 *   disk IMAGE MOUNTPOINT        loop-mount the ext4 IMAGE on MOUNTPOINT first (rw HOSTDIRs lie in it)
 *   ro TARGET                    bind host TARGET read-only, nosuid, nodev, at TARGET
 *   rw TARGET HOSTDIR exec|noexec  HOSTDIR read-write, nosuid, nodev at TARGET (an overlay: root.c)
 *   exec PATH                    PATH, beneath a noexec rw TARGET, becomes its own mount without noexec
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
 *   inbound PORT                 unix socket inbound-PORT.sock beside the gateway's, relayed to 127.0.0.1:PORT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "init.h"

struct spec spec = { .uid = -1, .gid = -1, .floor = -1, .proxy_port = -1, .idmap = -1 };
struct sock_fprog bpf;

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

void parse_spec(void) {
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
    else if (!strcmp(k, "idmap") && n == 2) spec.idmap = num(f[1]);
    else if (!strcmp(k, "disk") && n == 3) { spec.disk_image = f[1]; spec.disk_mount = f[2]; }
    else if (!strcmp(k, "root") && n == 2) spec.root = f[1];
    else if (!strcmp(k, "image") && n == 2 && f[1][0] == '/') spec.image = f[1];
    else if (!strcmp(k, "workdir") && n == 2) spec.workdir = f[1];
    else if (!strcmp(k, "gateway") && n == 2) spec.gateway = f[1];
    else if (!strcmp(k, "proxy_port") && n == 2) spec.proxy_port = num(f[1]);
    else if (!strcmp(k, "inbound") && n == 2 && spec.n_inbound < MAX_LIST) spec.inbound[spec.n_inbound++] = num(f[1]);
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
    } else if (!strcmp(k, "exec") && n == 2) {
      if (spec.n_exec == MAX_LIST || f[1][0] != '/') die("bad exec path \"%s\"", f[1]);
      spec.exec[spec.n_exec++] = f[1];
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
  if (spec.idmap >= 0 && (spec.uid > 65535 || spec.gid > 65535 || spec.idmap > 0xFFFFFFFFL - 65536 - 2))
    die("idmap %ld: uid and gid must be below 65536 and the range below 2^32", spec.idmap);
  /* The image is the whole read-only view: host binds beside it would reopen what it closes. */
  for (int i = 0; spec.image && i < spec.n_mounts; i++)
    if (!spec.mounts[i].rw) die("read-only host bind %s together with an image root", spec.mounts[i].target);
}

void read_bpf(void) {
  step = "seccomp";
  size_t len;
  char *buf = read_fd(BPF_FD, &len);
  if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 0xffff)
    die("BPF program on fd %d has invalid length %zu", BPF_FD, len);
  bpf.len = (unsigned short)(len / sizeof(struct sock_filter));
  bpf.filter = (struct sock_filter *)buf;
}

/* nemoclaw-init: failure messages and the enforcement report (one JSON line on the report fd). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "init.h"

struct done done;
const char *step = "start";
int container_mode = 0;
int report_fd = -1;

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

void die(const char *fmt, ...) {
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


static void names(char *out, size_t cap, const struct right *t, uint64_t mask) {
  cat(out, cap, "[");
  for (int i = 0, first = 1; t[i].name; i++)
    if (mask & (1ULL << i)) { cat(out, cap, first ? "" : ","); json_str(out, cap, t[i].name); first = 0; }
  cat(out, cap, "]");
}

void send_report(void) {
  step = "report";
  if (report_fd < 0) return;
  static char r[4096];
  r[0] = 0;
  cat(r, sizeof r, "{\"ok\":true,\"sandbox\":");
  json_str(r, sizeof r, spec.name);
  if (container_mode) cat(r, sizeof r, ",\"namespaces\":[%s\"mnt\",\"pid\",\"net\",\"ipc\",\"uts\"]", done.agent_userns ? "\"user\"," : "");
  else cat(r, sizeof r, ",\"namespaces\":[%s\"mnt\",\"pid\",\"net\",\"ipc\",\"uts\",\"cgroup\"]", done.userns || done.agent_userns ? "\"user\"," : "");
  cat(r, sizeof r, ",\"uid\":%ld,\"gid\":%ld", spec.uid, spec.gid);
  if (done.agent_userns) cat(r, sizeof r, ",\"host_uid\":%ld,\"host_gid\":%ld", spec.idmap + spec.uid, spec.idmap + spec.gid);
  cat(r, sizeof r, ",\"landlock\":{\"abi\":%d,\"floor\":%ld,\"enforced\":%s,\"handled_fs\":", done.abi, spec.floor, done.ll_enforced ? "true" : "false");
  names(r, sizeof r, FS_RIGHTS, done.fs);
  cat(r, sizeof r, ",\"handled_net\":");
  names(r, sizeof r, NET_RIGHTS, done.net);
  cat(r, sizeof r, ",\"scoped\":");
  names(r, sizeof r, SCOPES, done.scope);
  cat(r, sizeof r, ",\"path_rules\":%d,\"net_rules\":%d,\"skipped_rules\":%d}", done.ll_paths, done.ll_nets, done.ll_skipped);
  cat(r, sizeof r, ",\"seccomp\":{\"instructions\":%d,\"sha256\":\"%s\"}", done.bpf_len, done.bpf_sha);
  cat(r, sizeof r, ",\"memfd_exec\":\"%s\"", done.memfd_noexec ? "blocked" : "not_blocked");
  if (!container_mode) cat(r, sizeof r, ",\"disk\":\"%s\"", done.disk ? "own_filesystem" : "shared");
  if (!container_mode)
    cat(r, sizeof r, ",\"read_only_sockets\":\"%s\"", done.ro_idmapped == done.ro_binds ? "unreachable" : "reachable");
  cat(r, sizeof r, ",\"no_new_privs\":true,\"capabilities\":\"none\",\"dumpable\":false");
  cat(r, sizeof r, ",\"limits\":{\"nofile\":%ld,\"core\":0,\"pids\":%ld,\"pids_via\":\"%s\",\"memory_via\":\"%s\"}",
      spec.nofile, spec.pids, container_mode ? "cgroup" : done.pids_via, container_mode || spec.mem_cg ? "cgroup" : "none");
  cat(r, sizeof r, ",\"network\":{\"loopback\":true,\"relay\":%s,\"proxy_port\":%ld}}\n", done.relay ? "true" : "false", done.relay ? spec.proxy_port : 0);
  write_all(report_fd, r, strlen(r));
  close(report_fd);
}

/* nemoclaw-init: the seccomp filter (loaded from fd 4; in container mode, checked, then stacked when started as root). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

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

/* Container mode started as root (idmap) also loads the agent's own filter on top of Docker's
   (which allows the init's user namespace steps): the agent ends with its profile, no wider. */
void load_seccomp(void) {
  if (container_mode) {
    check_runtime_seccomp();
    if (spec.idmap < 0) return;
    if (bpf.len == 0) die("no filter of the agent's own to stack on the runtime's");
  }
  step = "seccomp";
  sha256_hex((const unsigned char *)bpf.filter, bpf.len * sizeof(struct sock_filter), done.bpf_sha);
  done.bpf_len = bpf.len;
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bpf), "load filter (%u instructions): %s", bpf.len, strerror(errno));
}

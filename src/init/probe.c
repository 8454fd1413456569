/* nemoclaw-init --probe: what this kernel can enforce, as one JSON line (used by `nemoclaw doctor`). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"

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

int probe(void) {
  int abi = landlock_abi(), abi_errno = abi ? 0 : errno;
  int seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  int root = geteuid() == 0, user = root ? 0 : CLONE_NEWUSER;
  printf("{\"landlock_abi\":%d,\"landlock_errno\":%d,\"seccomp\":%s,\"root\":%s,\"userns\":%s,\"unprivileged_userns\":%s,"
         "\"mntns\":%s,\"pidns\":%s,\"netns\":%s,\"close_range\":%s}\n",
         abi, abi_errno, seccomp ? "true" : "false", root ? "true" : "false",
         try_unshare(CLONE_NEWUSER, 0) ? "true" : "false", try_unshare(CLONE_NEWUSER, root) ? "true" : "false",
         try_unshare(user | CLONE_NEWNS, 0) ? "true" : "false", try_unshare(user | CLONE_NEWPID, 0) ? "true" : "false",
         try_unshare(user | CLONE_NEWNET, 0) ? "true" : "false",
         syscall(SYS_close_range, ~0U, ~0U, 0) == 0 ? "true" : "false");
  return 0;
}

/* Runs inside a sandbox (test/runtime/uid-range.test.ts). "hog": takes inotify instances until the
   kernel refuses, prints "hog N ERRNO", and keeps them. "one": takes one, prints "one ERRNO" (0: ok),
   writes /tmp/owned, and prints its uid as it sees it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "hog")) {
    int n = 0;
    while (inotify_init1(IN_CLOEXEC) >= 0) n++;
    printf("hog %d %d\n", n, errno);
    fflush(stdout);
    for (;;) pause();
  }
  int fd = inotify_init1(IN_CLOEXEC);
  int f = open("/tmp/owned", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  printf("one %d uid %u file %d\n", fd < 0 ? errno : 0, (unsigned)getuid(), f < 0 ? errno : 0);
  return 0;
}

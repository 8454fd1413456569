/*
 * nemoclaw-init: the sandbox's own file system (limits.disk), in pid 1 before the root is built.
 * The host made IMAGE, a sparse ext4 file of exactly the limit (src/runtime/process/disk.ts). It
 * is attached to a free loop device with LO_FLAGS_AUTOCLEAR and mounted on MOUNTPOINT in this
 * (private) mount namespace only: the host never sees it mounted, the rw overlays take their
 * layers from it, and when the namespace's last process exits the mount goes and the kernel
 * detaches the loop device by itself. Writing past the size is ENOSPC for this sandbox alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "init.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A /* Linux 5.8 */
#endif

void mount_disk(void) {
  if (!spec.disk_image) return;
  step = "disk";
  int img = open(spec.disk_image, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  CHECK(img, "open %s: %s", spec.disk_image, strerror(errno));
  /* Two ext4 mounts of one image (a second instance of the sandbox) would corrupt it. The lock
     lives as long as this open file: pid 1 and the relay keep it, the agent closes it. */
  if (flock(img, LOCK_EX | LOCK_NB) < 0)
    die("%s: %s", spec.disk_image, errno == EWOULDBLOCK ? "in use by another running instance of this sandbox" : strerror(errno));
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  CHECK(ctl, "open /dev/loop-control: %s (loop devices are needed for limits.disk)", strerror(errno));
  char dev[64];
  int loop = -1;
  /* Another process may take the free device between the two calls: ask again. */
  for (int tries = 0; tries < 16 && loop < 0; tries++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    CHECK(n, "LOOP_CTL_GET_FREE: %s", strerror(errno));
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    CHECK(fd, "open %s: %s", dev, strerror(errno));
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = (unsigned)img;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) loop = fd;
    else if (errno == EBUSY) close(fd);
    else die("%s: LOOP_CONFIGURE: %s%s", dev, strerror(errno), errno == EINVAL ? " (Linux 5.8 or later is needed)" : "");
  }
  if (loop < 0) die("no free loop device");
  close(ctl);
  CHECK(mount(dev, spec.disk_mount, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, "errors=remount-ro"),
        "mount %s (%s) on %s: %s", spec.disk_image, dev, spec.disk_mount, strerror(errno));
  close(loop); /* the mount holds the device now; AUTOCLEAR frees it with the mount */
  done.disk = 1;
}

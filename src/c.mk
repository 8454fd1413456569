# Shared rule for nemoclaw's small C programs (the sandbox init, the gateway pump):
# static when the toolchain can, so they need nothing at run time; else dynamic on libc only.
# A program's Makefile sets PROG (SRCS and HDRS when it has more than PROG.c, LDLIBS if it needs any) and
# includes this; `make -C src/<dir> OUT=<dir>` builds OUT/PROG. One compiler call: the units are small.
OUT ?= .
SRCS ?= $(PROG).c
HDRS ?=
CC ?= cc
CFLAGS ?= -O2
WARN = -Wall -Wextra -Werror -Wno-unused-result
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE

$(OUT)/$(PROG): $(SRCS) $(HDRS) Makefile ../c.mk
	@mkdir -p $(OUT)
	@$(CC) $(CFLAGS) $(WARN) $(HARDEN) -static-pie -o $@.tmp $(SRCS) $(LDLIBS) 2>/dev/null \
	  || $(CC) $(CFLAGS) $(WARN) $(HARDEN) -static -o $@.tmp $(SRCS) $(LDLIBS) 2>/dev/null \
	  || $(CC) $(CFLAGS) $(WARN) $(HARDEN) -pie -o $@.tmp $(SRCS) $(LDLIBS)
	@mv $@.tmp $@

clean:
	rm -f $(OUT)/$(PROG)

.PHONY: clean

# Shared rule for nemoclaw's small C programs (the sandbox init, the gateway pump):
# static when the toolchain can, so they need nothing at run time; else dynamic on libc only.
# A program's Makefile sets PROG (and LDLIBS if it needs any) and includes this; `make -C src/<dir> OUT=<dir>` builds OUT/PROG.
OUT ?= .
CC ?= cc
CFLAGS ?= -O2
WARN = -Wall -Wextra -Werror -Wno-unused-result
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE

$(OUT)/$(PROG): $(PROG).c Makefile ../c.mk
	@mkdir -p $(OUT)
	@$(CC) $(CFLAGS) $(WARN) $(HARDEN) -static-pie -o $@.tmp $(PROG).c $(LDLIBS) 2>/dev/null \
	  || $(CC) $(CFLAGS) $(WARN) $(HARDEN) -static -o $@.tmp $(PROG).c $(LDLIBS) 2>/dev/null \
	  || $(CC) $(CFLAGS) $(WARN) $(HARDEN) -pie -o $@.tmp $(PROG).c $(LDLIBS)
	@mv $@.tmp $@

clean:
	rm -f $(OUT)/$(PROG)

.PHONY: clean

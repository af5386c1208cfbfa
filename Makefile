# emailrelay -- GNU make.  Targets: all run check fuzz install clean deps.
# SANITIZE=1 builds with ASan+UBSan into build-san/.

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	 = $(PREFIX)/sbin
MANDIR	 = $(PREFIX)/share/man

CC	?= cc
PKGS	 = libevent libtls libbsd-overlay libcares libcrypto
# Debian packages that provide PKGS, libpam and the test tools.
DEBS	 = pkg-config libevent-dev libtls-dev libbsd-dev libc-ares-dev \
	   libpam0g-dev libssl-dev
TESTDEBS = python3 python3-pytest mandoc swaks clang libclang-rt-14-dev \
	   openssl procps strace iproute2 openssh-server openssh-client \
	   fetchmail mpop spamd dnsmasq-base netcat-openbsd

ifeq ($(SANITIZE),1)
O	 = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
OPT	 = -O1 -g
else
O	 = build
SANFLAGS =
OPT	 = -O2 -g
endif

WERROR	?= -Werror
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
HAVE_PAM   := $(shell test -f /usr/include/security/pam_appl.h && echo 1)
ifeq ($(HAVE_PAM),1)
PAM_CFLAGS = -DHAVE_PAM=1
PAM_LIBS   = -lpam
endif

VERSION	 = 0.1.0
CFLAGS	+= -std=c11 -D_GNU_SOURCE -DEMAILRELAY_VERSION='"$(VERSION)"' \
	   $(OPT) -Wall -Wextra $(WERROR) -Wno-unused-parameter \
	   -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	   -I. -Icommon $(PKG_CFLAGS) $(PAM_CFLAGS) $(SANFLAGS)
LDFLAGS	+= $(SANFLAGS)
LDLIBS	 = $(PKG_LIBS) $(PAM_LIBS)

COMMON_SRCS := $(wildcard common/*.c)
PROC_SRCS   := $(wildcard smtpd/*.c queue/*.c mta/*.c pop/*.c \
		lookup/*.c control/*.c) parent.c parent_auth.c
UNIT_SRCS   := $(wildcard regress/unit/t_*.c)
FUZZ_SRCS   := $(wildcard regress/unit/fuzz_*.c)

COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
PROC_OBJS   := $(PROC_SRCS:%.c=$(O)/%.o)
UNIT_OBJS   := $(UNIT_SRCS:%.c=$(O)/%.o)

# Tool objects go to tools/: $(O)/emailrelayctl is a program.
TOOLS	 = $(patsubst emailrelayctl/%.c,$(O)/%,$(wildcard emailrelayctl/*.c))
TOOL_OBJS = $(patsubst emailrelayctl/%.c,$(O)/tools/%.o,\
	    $(wildcard emailrelayctl/*.c))
.SECONDARY: $(TOOL_OBJS)
PROGS	 = $(O)/emailrelay $(TOOLS)

.PHONY: all run check check-unit check-e2e check-san fuzz install clean \
	deps deps-test lint
.SUFFIXES:

all: $(PROGS) $(O)/unittest

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libcommon.a: $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^

$(O)/libprocs.a: $(PROC_OBJS)
	rm -f $@ && ar rcs $@ $^

$(O)/emailrelay: $(O)/emailrelay.o $(O)/libprocs.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tools/%.o: emailrelayctl/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(TOOLS): $(O)/%: $(O)/tools/%.o $(O)/libcommon.a
	@if [ -d $@ ]; then rm -rf $@; fi
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/unittest: $(UNIT_OBJS) $(O)/regress/unit/t_main.o $(O)/libprocs.a \
    $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(filter-out %/t_main.o,$(UNIT_OBJS)) \
	    $(O)/regress/unit/t_main.o $(O)/libprocs.a $(O)/libcommon.a \
	    $(LDLIBS)

$(O)/regress/unit/t_main.o: regress/unit/t_main.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# Install missing Debian packages (as root), or say what to install.
define install_missing
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || \
	    missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq $$missing; \
	else \
		echo "missing packages:$$missing"; \
		echo "install them with: sudo apt-get install$$missing"; \
		exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEBS))

deps-test: deps
	$(call install_missing,$(TESTDEBS))

# A foreground relay on 127.0.0.1:10025 with its spool in ./var/spool.
RUN_ARGS ?= --no-daemon --log --port 10025 --interface 127.0.0.1 \
	   --spool-dir $(CURDIR)/var/spool --pid-file $(CURDIR)/var/emailrelay.pid
run:
	@pkg-config --exists $(PKGS) || $(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(O)/emailrelay
	@mkdir -p var/spool
	@if [ "$$(id -u)" = 0 ]; then chgrp daemon var/spool && \
	    chmod 2775 var/spool; fi
	exec $(O)/emailrelay $(RUN_ARGS)

check:
	@pkg-config --exists $(PKGS) || $(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory deps-test
	$(MAKE) --no-print-directory check-unit check-e2e
	$(MAKE) --no-print-directory SANITIZE=1 check-san

check-unit: $(O)/unittest
	$(O)/unittest

check-e2e: $(PROGS)
	EMAILRELAY_BUILD=$(CURDIR)/$(O) /usr/bin/python3 -m pytest -q \
	    -p no:cacheprovider regress/e2e

# Under the sanitizers: unit tests, then the end-to-end suite as a non-root
# user where LeakSanitizer works (see regress/e2e/conftest.py).
check-san: $(O)/unittest $(PROGS)
	ASAN_OPTIONS=detect_leaks=1 $(O)/unittest
	EMAILRELAY_BUILD=$(CURDIR)/$(O) EMAILRELAY_SANITIZE=1 \
	    /usr/bin/python3 -m pytest -q -p no:cacheprovider regress/e2e

# libFuzzer targets, each run for FUZZ_SECONDS from its seed corpus.
FUZZ_SECONDS ?= 60
FO	 = build-fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DEMAILRELAY_VERSION='"$(VERSION)"' \
	   -g -O1 -fsanitize=fuzzer-no-link,address,undefined -I. -Icommon \
	   $(PKG_CFLAGS)
FUZZERS	 = $(FUZZ_SRCS:regress/unit/%.c=$(FO)/%)

FUZZ_OBJS = $(COMMON_SRCS:%.c=$(FO)/%.o) $(PROC_SRCS:%.c=$(FO)/%.o)
.SECONDARY: $(FUZZ_OBJS)

$(FO)/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

# An archive, so a target that includes a source file for its statics
# does not clash with that file's object.
$(FO)/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FO)/fuzz_%: regress/unit/fuzz_%.c $(FO)/libfuzz.a
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(PAM_LIBS)

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
		n=$${f##*/fuzz_}; mkdir -p $(FO)/corpus/$$n; \
		echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
		    $(FO)/corpus/$$n regress/unit/corpus/$$n 2>$(FO)/$$n.log \
		    || { tail -50 $(FO)/$$n.log; exit 1; }; \
		tail -1 $(FO)/$$n.log; \
	done

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 emailrelay.8 $(DESTDIR)$(MANDIR)/man8
	install -m 644 emailrelay.conf.5 $(DESTDIR)$(MANDIR)/man5
	if [ -f emailrelayctl/emailrelayctl.8 ]; then install -m 644 \
	    emailrelayctl/emailrelayctl.8 $(DESTDIR)$(MANDIR)/man8; fi

lint:
	mandoc -T lint -W warning emailrelay.8 emailrelay.conf.5 \
	    emailrelayctl/emailrelayctl.8

clean:
	rm -rf build build-san build-fuzz

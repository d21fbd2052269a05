# mod_verify -- build, test, demo, bench, install, the Debian package.
# `make test` and `make demo` install what they need first (Debian).

APXS      ?= apxs
CC        ?= gcc
# The build directory: `make asan` builds into build-asan/ with BUILD.
BUILD     := build
PYTHON    ?= /usr/bin/python3

# The version has one home, debian/changelog's first line: the package
# takes it from there, and so do the tools' --version.
VERSION   := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

# make install: PREFIX for the tools and manual pages, DESTDIR for staging.
# The module goes where apxs says httpd looks for modules.
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
# the automatic import's systemd unit (empty: not installed)
UNITDIR   ?= /lib/systemd/system
MODDIR    ?= $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
# verify.load and verify.conf for `a2enmod verify`; empty: not installed
# (the package has dh_apache2 install them)
APACHE_MODS_AVAILABLE ?= /etc/apache2/mods-available
# yes: make the directories of conf/directories (the package's postinst
# makes them instead, so that no build user owns them in the .deb)
DATA_DIRS ?= yes
MANPAGES  := docs/man/verify-import.8 docs/man/verify-audit.8

APXS_CFLAGS := $(shell $(APXS) -q CFLAGS 2>/dev/null) \
               $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null)
HTTPD_INC   := -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
APR_INC     := $(shell apr-1-config --includes --cppflags 2>/dev/null) \
               $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS    := $(shell apr-1-config --link-ld --libs 2>/dev/null) \
               $(shell apu-1-config --link-ld --libs 2>/dev/null)

WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
# CPPFLAGS and LDFLAGS carry the distribution's hardening flags
# (dpkg-buildflags, when the package is built).
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -D_GNU_SOURCE -Imod_verify \
             $(APR_INC)
TOOL_CFLAGS = $(ALL_CFLAGS) -Iscripts -DVERIFY_VERSION='"$(VERSION)"'
LIBS      := -llmdb -lcrypto -lsodium -ljansson -lutf8proc

# The core library: every mod_verify/verify_*.c (no httpd headers).
LIB_SRC   := $(wildcard mod_verify/verify_*.c)
LIB_OBJ   := $(LIB_SRC:mod_verify/%.c=$(BUILD)/obj/%.o)
LIB_A     := $(BUILD)/libverify.a
HDRS      := $(wildcard mod_verify/*.h)

# The httpd glue: mod_verify.c and mod_verify_*.c.
MOD_SRC   := $(wildcard mod_verify/mod_verify*.c)
# The tools: one directory each when they have more than one file.
IMPORT_SRC := $(wildcard scripts/verify-import.c scripts/verify-import/*.c)
AUDIT_SRC  := $(wildcard scripts/verify-audit.c scripts/verify-audit/*.c)
TOOL_HDRS  := $(wildcard scripts/*/*.h)
UNIT_SRC  := $(wildcard t/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/%)

.PHONY: all test check demo bench soak install deps clean unit fuzz deb \
        asan asan-build asan-request valgrind fuzz-run demo-cluster
all: $(BUILD)/mod_verify.so $(BUILD)/verify-import $(BUILD)/verify-audit

$(BUILD)/obj/%.o: mod_verify/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The module: compiled with apxs's flags and httpd's headers; the core
# library is linked in statically (position-independent objects).
$(BUILD)/mod_verify.so: $(MOD_SRC) $(HDRS) $(LIB_A)
	$(CC) $(ALL_CFLAGS) $(APXS_CFLAGS) $(HTTPD_INC) -shared $(LDFLAGS) \
	    -o $@ $(MOD_SRC) $(LIB_A) $(LIBS)

# (debian/changelog: the version they print)
$(BUILD)/verify-import: $(IMPORT_SRC) $(TOOL_HDRS) $(HDRS) $(LIB_A) debian/changelog
	$(CC) $(TOOL_CFLAGS) $(LDFLAGS) -o $@ $(IMPORT_SRC) $(LIB_A) $(APR_LIBS) $(LIBS)

$(BUILD)/verify-audit: $(AUDIT_SRC) $(TOOL_HDRS) $(HDRS) $(LIB_A) debian/changelog
	$(CC) $(TOOL_CFLAGS) -pthread $(LDFLAGS) -o $@ $(AUDIT_SRC) $(LIB_A) $(APR_LIBS) $(LIBS)

$(BUILD)/t/%: t/unit/%.c $(wildcard t/unit/*.h) $(HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -It/unit -o $@ $< $(LIB_A) $(APR_LIBS) $(LIBS)

unit: $(UNIT_BIN)
# the national-scale batch generator of `make bench` and t/test_176
unit: $(BUILD)/gen-household-fast
$(BUILD)/gen-household-fast: scripts/gen-household-fast.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $<
# t/test_300_tlog_library.py's driver, made by the rule above
unit: $(BUILD)/t/tlog-driver

deps:
	bash scripts/install-deps.sh

# Every test, without installing dependencies: the developer's loop.
# (The package is built first: t/test_960 installs it with apt, then
# purges it.)
check: all unit deb $(BUILD)/bench-load
	$(PYTHON) -m pytest -q t
	$(MAKE) asan-request

# The libFuzzer targets (t/fuzz/), built with clang and sanitizers.
fuzz:
	bash t/fuzz/build.sh

# A fuzzing campaign of FUZZ_CPU_MINUTES of CPU time per target (default
# 2), FUZZ_JOBS at a time (t/fuzz/campaign.py; docs/memory-safety.md).
fuzz-run: fuzz
	$(PYTHON) t/fuzz/campaign.py

# Memory safety (docs/memory-safety.md). The module, the tools and the
# unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc; libasan is preloaded into Debian's httpd by the harness) into
# their own directory, so that build/ is left alone.
ASAN_BUILD   := build-asan
ASAN_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
ASAN_LDFLAGS := -fsanitize=address,undefined
# what the harness reads (t/harness/env.py, t/harness/sanitizer.py)
ASAN_ENV     := MOD_VERIFY_BUILD=$(CURDIR)/$(ASAN_BUILD) MOD_VERIFY_SANITIZER=asan
# `make asan`: the integration suite under ASan, less the tests that do
# not load the module or tools of build-asan/ (t/test_190 is libFuzzer's
# own ASan build; t/test_950 and t/test_960 build and install build/)
ASAN_TESTS   ?= $(filter-out t/test_190_fuzz.py t/test_950_demo.py \
                  t/test_960_deb.py,$(wildcard t/test_*.py))
# the request path, run under ASan by `make check` (t/asan-request.txt)
ASAN_REQUEST := $(shell sed -e 's/\#.*//' t/asan-request.txt 2>/dev/null)

asan-build:
	$(MAKE) BUILD=$(ASAN_BUILD) CFLAGS='$(ASAN_CFLAGS)' \
	    LDFLAGS='$(ASAN_LDFLAGS)' all unit

asan: asan-build
	$(ASAN_ENV) $(PYTHON) -m pytest -q $(ASAN_TESTS)

asan-request: asan-build
	$(ASAN_ENV) $(PYTHON) -m pytest -q $(ASAN_REQUEST)

# The unit tests under valgrind (memcheck, leaks included), from build/.
valgrind: unit
	bash t/valgrind.sh

# `deps` runs first as its own make so the flags above see apxs.
test:
	bash scripts/install-deps.sh
	$(MAKE) check

demo:
	bash scripts/install-deps.sh
	$(MAKE) all
	bash scripts/demo.sh

# Three nodes behind HAProxy (docs/scaling.md).
.PHONY: demo-cluster
demo-cluster:
	bash scripts/install-deps.sh
	$(MAKE) all
	PYTHON=$(PYTHON) bash scripts/demo-cluster.sh

# `make bench`: every figure of docs/performance.md, in one run
# (scripts/bench-all.sh; BENCH_QUICK=1 for a short check of the tooling).
bench:
	bash scripts/install-deps.sh
	$(MAKE) all $(BUILD)/bench-load $(BUILD)/gen-household-fast
	bash scripts/bench-all.sh

# bench's load generator: HTTP keep-alive or TLS 1.3 with a client
# certificate (wrk cannot present one).
$(BUILD)/bench-load: scripts/bench-load.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE $(LDFLAGS) -o $@ $< \
	    -lssl -lcrypto -lpthread

# Faults under load at full size (t/test_980 runs them small in `make
# test`): restarts, killed children and importer, a full audit volume,
# midnight; prints the figures (scripts/soak.sh).
soak:
	bash scripts/install-deps.sh
	$(MAKE) all
	bash scripts/soak.sh

# The module (by apxs, then 0644 as httpd's own modules are), the tools,
# their manual pages, the a2enmod files (an admin's edited copy is kept),
# and the directories the admin guide uses, with its owners and modes.
install: all
	install -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(MODDIR) -n verify $(BUILD)/mod_verify.so
	chmod 0644 $(DESTDIR)$(MODDIR)/mod_verify.so
	install -m 0755 $(BUILD)/verify-import $(BUILD)/verify-audit $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	if [ -n '$(UNITDIR)' ]; then \
	    install -d $(DESTDIR)$(UNITDIR); \
	    install -m 0644 conf/verify-import-watch@.service $(DESTDIR)$(UNITDIR)/; \
	fi
	@# Debian layout: `a2enmod verify`; staged (DESTDIR) or where it exists
	d='$(DESTDIR)$(APACHE_MODS_AVAILABLE)'; \
	if [ -n '$(APACHE_MODS_AVAILABLE)' ] && \
	   { [ -n '$(DESTDIR)' ] || [ -d "$$d" ]; }; then \
	    install -d "$$d"; \
	    for f in verify.load verify.conf; do \
	        [ -e "$$d/$$f" ] || install -m 0644 conf/$$f "$$d/$$f"; \
	    done; \
	fi
	if [ '$(DATA_DIRS)' = yes ]; then \
	    sh scripts/install-dirs.sh '$(DESTDIR)' conf/directories; \
	fi

# The Debian package libapache2-mod-verify, built with debhelper and
# dh_apache2 in a copy of the sources under build/deb/ (the build/ of
# this tree, which the tests load, is left alone).
DEB_ARCH   := $(shell dpkg --print-architecture 2>/dev/null)
DEB        := $(BUILD)/deb/libapache2-mod-verify_$(VERSION)_$(DEB_ARCH).deb
DEB_SRC    := $(BUILD)/deb/mod-verify-$(VERSION)
DEB_INPUTS := $(shell find Makefile README.md mod_verify scripts conf debian \
                      docs -type f 2>/dev/null)
deb: $(DEB)
$(DEB): $(DEB_INPUTS)
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./$(BUILD) --exclude=./$(ASAN_BUILD) --exclude=./.git --exclude=__pycache__ \
	    --exclude=.pytest_cache --exclude=node_modules . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -J >../build.log 2>&1 \
	    || { tail -40 ../build.log; exit 1; }
	@echo "built $@"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

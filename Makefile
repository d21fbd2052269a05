# mod_verify -- build, test, demo, bench, install.
# `make test` and `make demo` install what they need first (Debian).

APXS      ?= apxs
CC        ?= gcc
BUILD     := build
PYTHON    ?= /usr/bin/python3

APXS_CFLAGS := $(shell $(APXS) -q CFLAGS 2>/dev/null) \
               $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null)
HTTPD_INC   := -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
APR_INC     := $(shell apr-1-config --includes --cppflags 2>/dev/null) \
               $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS    := $(shell apr-1-config --link-ld --libs 2>/dev/null) \
               $(shell apu-1-config --link-ld --libs 2>/dev/null)

WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) $(WARN) -fPIC -D_GNU_SOURCE -Imod_verify $(APR_INC)
LIBS      := -llmdb -lcrypto -ljansson

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

.PHONY: all test check demo bench install deps clean unit fuzz
all: $(BUILD)/mod_verify.so $(BUILD)/verify-import $(BUILD)/verify-audit

$(BUILD)/obj/%.o: mod_verify/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The module: compiled with apxs's flags and httpd's headers; the core
# library is linked in statically (position-independent objects).
$(BUILD)/mod_verify.so: $(MOD_SRC) $(HDRS) $(LIB_A)
	$(CC) $(ALL_CFLAGS) $(APXS_CFLAGS) $(HTTPD_INC) -shared \
	    -o $@ $(MOD_SRC) $(LIB_A) $(LIBS)

$(BUILD)/verify-import: $(IMPORT_SRC) $(TOOL_HDRS) $(HDRS) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -Iscripts -o $@ $(IMPORT_SRC) $(LIB_A) $(APR_LIBS) $(LIBS)

$(BUILD)/verify-audit: $(AUDIT_SRC) $(TOOL_HDRS) $(HDRS) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -Iscripts -o $@ $(AUDIT_SRC) $(LIB_A) $(APR_LIBS) $(LIBS)

$(BUILD)/t/%: t/unit/%.c $(wildcard t/unit/*.h) $(HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -It/unit -o $@ $< $(LIB_A) $(APR_LIBS) $(LIBS)

unit: $(UNIT_BIN)
# t/test_300_tlog_library.py's driver, made by the rule above
unit: $(BUILD)/t/tlog-driver

deps:
	bash scripts/install-deps.sh

# Every test, without touching apt: the developer's loop.
check: all unit
	$(PYTHON) -m pytest -q t

# The libFuzzer targets (t/fuzz/), built with clang and sanitizers.
fuzz:
	bash t/fuzz/build.sh

# `deps` runs first as its own make so the flags above see apxs.
test:
	bash scripts/install-deps.sh
	$(MAKE) check

demo:
	bash scripts/install-deps.sh
	$(MAKE) all
	bash scripts/demo.sh

bench:
	bash scripts/install-deps.sh
	$(MAKE) all
	bash scripts/bench.sh
	bash scripts/bench-sample.sh

install: all
	$(APXS) -i -n verify $(BUILD)/mod_verify.so
	install -d /usr/local/sbin
	install -m 0755 $(BUILD)/verify-import $(BUILD)/verify-audit /usr/local/sbin/
	@# Debian layout: `a2enmod verify`; an admin's edited copy is kept
	if [ -d /etc/apache2/mods-available ]; then \
	    for f in verify.load verify.conf; do \
	        [ -e /etc/apache2/mods-available/$$f ] || \
	            install -m 0644 conf/$$f /etc/apache2/mods-available/$$f; \
	    done; \
	fi

clean:
	rm -rf $(BUILD)
